/* The blocking face: one call on a private loop with a private client, so
 * any number of threads may make requests at once without sharing
 * anything. The response is gathered into one allocation per part. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define BLOCKING_TIMEOUT_MS 300000u
#define BLOCKING_MAX_BODY ((uint64_t)256 << 20)
#define BLOCKING_REDIRECTS 20

typedef struct gather {
    em_http_resp *resp;
    char *body; /* grown by doubling; handed to resp at the end */
    size_t len, cap;
    int err;
    bool done;
} gather;

static int append(gather *g, em_slice s) {
    if (g->cap - g->len <= s.len) { /* keep a byte for the NUL */
        size_t cap = g->cap ? g->cap : 4096;
        while (cap - g->len <= s.len)
            cap *= 2;
        char *p = realloc(g->body, cap);
        if (!p)
            return EM_ENOMEM;
        g->body = p;
        g->cap = cap;
    }
    memcpy(g->body + g->len, s.ptr, s.len);
    g->len += s.len;
    g->body[g->len] = 0;
    return 0;
}

/* Copy the head: names and values NUL-terminated, in one block. */
static int copy_head(em_http_resp *r, const em_http_response *h) {
    size_t need = h->num_headers * sizeof *r->headers;
    for (size_t i = 0; i < h->num_headers; i++)
        need += h->headers[i].name.len + h->headers[i].value.len + 2;
    char *mem = malloc(need ? need : 1);
    if (!mem)
        return EM_ENOMEM;
    em_http_header *hs = (em_http_header *)mem;
    char *p = mem + h->num_headers * sizeof *hs;
    for (size_t i = 0; i < h->num_headers; i++) {
        const em_http_header *s = &h->headers[i];
        hs[i].id = s->id;
        memcpy(p, s->name.ptr, s->name.len);
        p[s->name.len] = 0;
        hs[i].name = (em_slice){p, s->name.len};
        p += s->name.len + 1;
        memcpy(p, s->value.ptr, s->value.len);
        p[s->value.len] = 0;
        hs[i].value = (em_slice){p, s->value.len};
        p += s->value.len + 1;
    }
    free(r->_mem);
    r->_mem = mem;
    r->headers = hs;
    r->num_headers = h->num_headers;
    r->status = h->status;
    r->version_minor = h->version_minor;
    return 0;
}

/* Out of memory: end the call here (no on_done follows a cancel). */
static void give_up(em_http_call *call, gather *g, int err) {
    g->err = err;
    g->done = true;
    snprintf(g->resp->error, sizeof g->resp->error, "%s", em_strerror(err));
    (void)em_http_call_cancel(call);
}

static void on_head(em_http_call *call, const em_http_response *h) {
    gather *g = em_http_call_data(call);
    int rc = copy_head(g->resp, h);
    if (rc)
        give_up(call, g, rc);
}

static void on_body(em_http_call *call, em_slice piece) {
    gather *g = em_http_call_data(call);
    int rc = append(g, piece);
    if (rc)
        give_up(call, g, rc);
}

static void on_done(em_http_call *call, int err) {
    gather *g = em_http_call_data(call);
    g->err = err;
    g->done = true;
    snprintf(g->resp->error, sizeof g->resp->error, "%s", em_http_call_error(call));
    g->resp->url = strdup(em_http_call_url(call));
}

static const em_http_client_cbs gather_cbs = {
    .on_head = on_head, .on_body = on_body, .on_done = on_done};

static void on_closed(void *arg) {
    *(bool *)arg = true;
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
    em_http_limits limits = o.limits ? *o.limits : (em_http_limits){0};
    if (!limits.max_body)
        limits.max_body = BLOCKING_MAX_BODY;
    o.limits = &limits;
    o.resolver = NULL; /* a loop of our own needs a resolver of its own */
    em_http_req r = *req;
    r.max_redirects = r.max_redirects < 0 ? 0 : (r.max_redirects ? r.max_redirects : BLOCKING_REDIRECTS);
    r.timeout_ms = r.timeout_ms ? r.timeout_ms : BLOCKING_TIMEOUT_MS;

    em_loop loop;
    int rc = em_loop_init(&loop);
    if (rc)
        return rc;
    em_http_client *cl;
    rc = em_http_client_new(&cl, &loop, &o);
    if (rc) {
        close_loop(&loop);
        return rc;
    }
    gather g = {.resp = resp};
    rc = em_http_client_do(cl, &r, &gather_cbs, &g, NULL);
    while (!rc && !g.done)
        em_loop_run(&loop, EM_RUN_ONCE);
    bool closed = false;
    em_http_client_close(cl, on_closed, &closed);
    while (!closed)
        em_loop_run(&loop, EM_RUN_ONCE);
    close_loop(&loop);
    rc = rc ? rc : g.err;
    if (!rc && !g.body)
        rc = append(&g, (em_slice){"", 0});
    if (!rc) {
        resp->body = (em_slice){g.body, g.len};
        g.body = NULL;
    }
    free(g.body);
    return rc;
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
