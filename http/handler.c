/* Glue between the router and the server's handlers, and request lookups. */
#include "http_internal.h"
#include "exchange_internal.h"

/* An Allow field listing the methods in mask. */
static void allow(em_http_ctx *cx, unsigned mask) {
    char v[EM_HTTP_ROUTER_ALLOW_MAX];
    ssize_t n = em_http_router_allow_format(mask, v, sizeof v);
    if (n > 0 && em_http_header_add(cx, EM_SLICE_LIT("Allow"), em_slice_make(v, (size_t)n)) != 0) {
        /* cannot happen: the value is a fixed list of tokens */
    }
}

void em_http_router_handler(em_http_ctx *cx, const em_http_handler *h) {
    const em_http_router *r = h->data;
    if (cx->req.method_id == EM_HTTP_METHOD_OTHER) {
        /* RFC 9110 §9.1: a method the server does not recognise is 501,
         * not 405 (routes exist only for the known methods). */
        em_http_respond_text(cx, 501, "Not Implemented\n");
        return;
    }
    if (cx->req.method_id == EM_HTTP_OPTIONS && em_slice_eq(cx->path, EM_SLICE_LIT("*"))) {
        /* RFC 9110 §9.3.7: about the server, not a resource; Allow lists
         * what some route takes */
        allow(cx, em_http_router_methods(r));
        em_http_respond(cx, 200, EM_SLICE_LIT(""), EM_SLICE_LIT(""));
        return;
    }
    switch (em_http_router_match(r, cx->req.method_id, cx->path, &cx->route)) {
    case EM_HTTP_ROUTE_FOUND: {
        const em_http_handler *target = cx->route.target;
        target->fn(cx, target);
        return;
    }
    case EM_HTTP_ROUTE_METHOD_NOT_ALLOWED:
        /* RFC 9110 §15.5.6: a 405 lists what the resource does allow. */
        allow(cx, cx->route.allowed);
        em_http_respond_text(cx, 405, "Method Not Allowed\n");
        return;
    default:
        em_http_respond_text(cx, 404, "Not Found\n");
        return;
    }
}

em_slice em_http_param(const em_http_ctx *cx, const char *name) {
    em_slice v = em_slice_make("", 0);
    if (!em_http_route_match_param(&cx->route, em_slice_from_cstr(name), &v))
        return em_slice_make("", 0);
    return v;
}

em_slice em_http_request_header(const em_http_ctx *cx, const char *name) {
    const em_http_header *h =
        em_http_header_find(cx->req.headers, cx->req.num_headers, em_slice_from_cstr(name));
    return h ? h->value : em_slice_make("", 0);
}
