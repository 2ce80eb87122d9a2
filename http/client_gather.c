/* Gathering a whole response (head, body, where it came from, why it
 * failed) into an em_http_resp: the callbacks of the blocking face and of
 * the agent's waitable requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

static int append(em__http_gather *g, em_slice s) {
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
static void give_up(em_http_call *call, em__http_gather *g, int err) {
    g->err = err;
    snprintf(g->resp->error, sizeof g->resp->error, "%s", em_strerror(err));
    (void)em_http_call_cancel(call);
    g->done = true;
    if (g->on_end)
        g->on_end(g);
}

static void on_head(em_http_call *call, const em_http_response *h) {
    em__http_gather *g = em_http_call_data(call);
    int rc = copy_head(g->resp, h);
    if (rc)
        give_up(call, g, rc);
}

static void on_body(em_http_call *call, em_slice piece) {
    em__http_gather *g = em_http_call_data(call);
    int rc = append(g, piece);
    if (rc)
        give_up(call, g, rc);
}

static void on_done(em_http_call *call, int err) {
    em__http_gather *g = em_http_call_data(call);
    g->err = err;
    snprintf(g->resp->error, sizeof g->resp->error, "%s", em_http_call_error(call));
    g->resp->url = strdup(em_http_call_url(call));
    g->done = true;
    if (g->on_end)
        g->on_end(g);
}

const em_http_client_cbs em__http_gather_cbs = {
    .on_head = on_head, .on_body = on_body, .on_done = on_done};

void em__http_blocking_defaults(em_http_req *r, em_http_client_opts *o, em_http_limits *limits) {
    *limits = o->limits ? *o->limits : (em_http_limits){0};
    if (!limits->max_body)
        limits->max_body = EM__HTTP_BLOCKING_MAX_BODY;
    o->limits = limits;
    if (!o->decompress)
        o->decompress = 1;
    r->max_redirects = r->max_redirects < 0 ? 0
                       : r->max_redirects  ? r->max_redirects
                                           : EM__HTTP_BLOCKING_REDIRECTS;
    r->timeout_ms = r->timeout_ms ? r->timeout_ms : EM__HTTP_BLOCKING_TIMEOUT_MS;
}

int em__http_gather_finish(em__http_gather *g, int rc) {
    if (!rc && !g->body)
        rc = append(g, (em_slice){"", 0});
    if (!rc) {
        g->resp->body = (em_slice){g->body, g->len};
        g->body = NULL;
    }
    free(g->body);
    g->body = NULL;
    return rc;
}
