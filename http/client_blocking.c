/* The blocking face: one call on a private loop with a private client, so
 * any number of threads may make requests at once without sharing
 * anything (client_gather.c collects the response). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

/* The loop of one blocking call. A turn of em_loop_run may go on to wait
 * for events after the callback that ended the call, so the callbacks
 * stop the loop instead of leaving a flag for the caller to poll. */
typedef struct blocking {
    em__http_gather g;
    em_loop loop;
    bool closed;
} blocking;

static void on_end(em__http_gather *g) {
    blocking *b = EM_CONTAINER_OF(g, blocking, g);
    em_loop_stop(&b->loop);
}

static void on_closed(void *arg) {
    blocking *b = arg;
    b->closed = true;
    em_loop_stop(&b->loop);
}

static void close_loop(em_loop *loop) {
    /* Everything on it was closed and run to its end: nothing can fail. */
    int rc = em_loop_close(loop);
    (void)rc;
}

int em_http_do(const em_http_req *req, const em_http_client_opts *opts, em_http_resp *resp) {
    if (!req || !resp)
        return EM_EINVAL;
    memset(resp, 0, sizeof *resp);
    em_http_client_opts o = opts ? *opts : (em_http_client_opts){0};
    em_http_limits limits;
    em_http_req r = *req;
    em__http_blocking_defaults(&r, &o, &limits);
    o.resolver = NULL; /* a loop of our own needs a resolver of its own */
    blocking b = {.g = {.resp = resp, .on_end = on_end}};
    int rc = em_loop_init(&b.loop);
    if (rc)
        return rc;
    em_http_client *cl;
    rc = em_http_client_new(&cl, &b.loop, &o);
    if (rc) {
        close_loop(&b.loop);
        return rc;
    }
    rc = em_http_client_do(cl, &r, &em__http_gather_cbs, &b.g, NULL);
    while (!rc && !b.g.done)
        em_loop_run(&b.loop, EM_RUN_DEFAULT);
    em_http_client_close(cl, on_closed, &b);
    while (!b.closed)
        em_loop_run(&b.loop, EM_RUN_DEFAULT);
    close_loop(&b.loop);
    return em__http_gather_finish(&b.g, rc ? rc : b.g.err);
}

int em_http_get(const char *url, em_http_resp *resp) {
    return em_http_do(&(em_http_req){.url = url}, NULL, resp);
}

int em_http_post(const char *url, const char *content_type, em_slice body, em_http_resp *resp) {
    return em_http_do(&(em_http_req){.url = url, .method = "POST", .content_type = content_type,
                                     .body = body},
                      NULL, resp);
}

const char *em_http_resp_header(const em_http_resp *resp, const char *name) {
    em_slice n = em_slice_from_cstr(name);
    for (size_t i = 0; i < resp->num_headers; i++)
        if (em_slice_eq_nocase(resp->headers[i].name, n))
            return resp->headers[i].value.ptr;
    return NULL;
}

void em_http_resp_free(em_http_resp *resp) {
    if (!resp)
        return;
    free(resp->_mem);
    free((void *)resp->body.ptr);
    free(resp->url);
    memset(resp, 0, sizeof *resp);
}
