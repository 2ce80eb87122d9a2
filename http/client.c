/* The client's public face on the loop: making and closing clients,
 * starting, cancelling and pausing calls. */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

extern const em__http_conn_up em__http_client_conn_up;

#define CLIENT_MAX_HEADER_BYTES (64u * 1024u)

static unsigned or_default(unsigned v, unsigned d) {
    return v ? v : d;
}

int em_http_client_new(em_http_client **out, em_loop *loop, const em_http_client_opts *opts) {
    if (!out || !loop)
        return EM_EINVAL;
    em_http_client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return EM_ENOMEM;
    if (opts)
        cl->o = *opts;
    pthread_mutex_init(&cl->free_mu, NULL);
    em_http_client_opts *o = &cl->o;
    cl->loop = loop;
    o->max_per_host = or_default(o->max_per_host, 16);
    o->max_idle_per_host = or_default(o->max_idle_per_host, o->max_per_host);
    if (o->limits)
        cl->limits = *o->limits;
    o->limits = NULL; /* borrowed: copied above */
    em_http_limits *l = &cl->limits;
    l->max_header_bytes = or_default((unsigned)l->max_header_bytes, CLIENT_MAX_HEADER_BYTES);
    l->max_start_line = or_default((unsigned)l->max_start_line, EM_HTTP_DEFAULT_MAX_START_LINE);
    l->max_headers = or_default((unsigned)l->max_headers, EM_HTTP_DEFAULT_MAX_HEADERS);
    if (!l->max_body)
        l->max_body = UINT64_MAX;
    cl->env.up = &em__http_client_conn_up;
    cl->env.tmo_ms[TMO_IDLE] = or_default(o->idle_timeout_ms, 60000);
    cl->env.tmo_ms[TMO_CONNECT] = or_default(o->connect_timeout_ms, 30000);
    cl->env.tmo_ms[TMO_HEADER] = or_default(o->head_timeout_ms, 60000);
    cl->env.tmo_ms[TMO_BODY] = or_default(o->read_timeout_ms, 60000);
    cl->env.tmo_ms[TMO_WRITE] = or_default(o->write_timeout_ms, 60000);
    cl->env.tmo_ms[TMO_LINGER] = 1000;
    cl->env.tmo_ms[TMO_EXPECT] = or_default(o->expect_timeout_ms, 1000);
    if (!o->expect_continue_min)
        o->expect_continue_min = (size_t)1 << 20;
    em_buf_init(&cl->env.burst.buf, 0);
    cl->up = &em__http_client_pool_up;
    cl->tls = o->tls;
    int prc = em__http_proxy_setup(cl);
    if (prc) {
        em__http_proxy_free(cl);
        free(cl);
        return prc;
    }
    cl->resolver = o->resolver;
    if (!cl->resolver) {
        cl->own_resolver = malloc(sizeof *cl->own_resolver);
        int rc = cl->own_resolver ? em_dns_resolver_init(loop, cl->own_resolver, o->resolver_opts)
                                  : EM_ENOMEM;
        if (rc) {
            free(cl->own_resolver);
            em__http_proxy_free(cl);
            free(cl);
            return rc;
        }
        cl->resolver = cl->own_resolver;
    }
    *out = cl;
    return 0;
}

void em_http_client_close(em_http_client *cl, void (*cb)(void *arg), void *arg) {
    if (!cl || cl->closing)
        return;
    cl->closing = true;
    cl->close_cb = cb;
    cl->close_arg = arg;
    em__http_pool_shutdown(cl);
}

int em_http_client_do(em_http_client *cl, const em_http_req *req, const em_http_client_cbs *cbs,
                      void *data, em_http_call **out) {
    if (!cl)
        return EM_EINVAL;
    if (cl->closing)
        return EM_ECLOSED;
    em_http_call *call;
    int rc = em__http_call_new(cl, req, cbs, data, &call);
    if (rc)
        return rc;
    rc = em__http_client_start(cl, call);
    if (rc) {
        em__http_call_free(call);
        return rc;
    }
    if (out)
        *out = call;
    return 0;
}

int em__http_client_start(em_http_client *cl, em_http_call *call) {
    if (cl->closing)
        return EM_ECLOSED;
    int rc = em__http_pool_start(cl, call);
    if (!rc)
        cl->live_calls++;
    return rc;
}

int em_http_call_cancel(em_http_call *call) {
    if (!call || call->cancelled || call->in_done)
        return EM_ECLOSED;
    call->cancelled = true;
    if (call->ended) {
        /* on_done was coming from the loop: it will not now */
        em_loop_defer_cancel(call->cl->loop, &call->done_task);
    } else {
        call->ended = true;
        em_timer_stop(&call->deadline);
        em__http_pool_detach(call);
    }
    call->cl->live_calls--;
    if (!call->depth)
        em__http_call_free(call);
    return 0;
}

void em_http_call_pause(em_http_call *call) {
    if (call->ended || call->paused)
        return;
    call->paused = true;
    if (call->conn)
        em__http_cconn_reading(call->conn, false);
}

void em_http_call_resume(em_http_call *call) {
    if (call->ended || !call->paused)
        return;
    call->paused = false;
    if (call->conn)
        em__http_cconn_reading(call->conn, true);
}

void *em_http_call_data(const em_http_call *call) {
    return call->data;
}

const char *em_http_call_error(const em_http_call *call) {
    return call->err;
}

const char *em_http_call_url(const em_http_call *call) {
    return call->urlstr ? call->urlstr : "";
}

unsigned em_http_client_conns(const em_http_client *cl) {
    return cl->nconns;
}

const char *em_http_call_method(const em_http_call *call) {
    return call->method ? call->method : "";
}

int em_http_call_status(const em_http_call *call) {
    return call->last_status;
}

unsigned em_http_call_redirects(const em_http_call *call) {
    return call->nredirects;
}

unsigned em_http_call_connects(const em_http_call *call) {
    return call->nconnects;
}
