/* Typed routes: em_http_route takes a plain function and
 * em_http_route_handler a handler, so registering the wrong kind of
 * pointer fails to compile instead of crashing at the first request. */
#include <stdlib.h>

#include "http_internal.h"

/* A plain function dressed as a handler, owned by the router. */
typedef struct plain_route {
    struct em__http_router_owned owned; /* first: freed as one block */
    em_http_handler h;
    em_http_fn fn;
} plain_route;

static void call_plain(em_http_ctx *cx, const em_http_handler *h) {
    const plain_route *p = h->data;
    p->fn(cx);
}

int em_http_route(em_http_router *r, em_http_method method, const char *pattern, em_http_fn fn) {
    if (!r || !pattern || !fn)
        return EM_EINVAL;
    plain_route *p = calloc(1, sizeof *p);
    if (!p)
        return EM_ENOMEM;
    p->h.fn = call_plain;
    p->h.data = p;
    p->fn = fn;
    int rc = em_http_router_add(r, method, em_slice_from_cstr(pattern), &p->h);
    if (rc) {
        free(p);
        return rc;
    }
    return em__http_router_own(r, &p->owned);
}

int em_http_route_handler(em_http_router *r, em_http_method method, const char *pattern,
                          const em_http_handler *h) {
    if (!r || !pattern || !h || !h->fn)
        return EM_EINVAL;
    return em_http_router_add(r, method, em_slice_from_cstr(pattern), (void *)h);
}
