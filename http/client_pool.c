/* Origins and their connections: reuse of idle connections, the cap per
 * origin with a queue beyond it, retries on a fresh connection, redirects,
 * the total deadline, and the client's shutdown. Connections report here
 * through em__http_client_pool_up. */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

static void free_origin(em__http_origin *o) {
    free(o->host);
    free(o->connect_host);
    free(o->proxy_auth);
    free(o);
}

/* upgrade: the request asks for another protocol, which only a tunnel
 * carries through a proxy (Upgrade is hop-by-hop, RFC 9110 §7.8; RFC 6455
 * §4.1 point 2 for WebSockets). */
static em__http_origin *find_origin(em_http_client *cl, const em_url *u, bool upgrade) {
    bool tls = em_url_is_tls(u);
    const em_url *px = em__http_proxy_for(cl, u);
    uint8_t mode = !px ? ORIGIN_DIRECT : tls || upgrade ? ORIGIN_TUNNEL : ORIGIN_ABSOLUTE;
    /* http through a proxy: every origin shares the proxy's connections */
    const char *host = mode == ORIGIN_ABSOLUTE ? px->host : u->host;
    uint16_t port = mode == ORIGIN_ABSOLUTE ? px->port : u->port;
    const char *chost = px ? px->host : u->host;
    uint16_t cport = px ? px->port : u->port;
    for (em__http_origin *o = cl->origins; o; o = o->next)
        if (o->port == port && o->tls == tls && o->mode == mode && o->connect_port == cport &&
            !strcmp(o->host, host) && !strcmp(o->connect_host, chost))
            return o;
    em__http_origin *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->host = strdup(host);
    o->connect_host = strdup(chost);
    if (px && px->userinfo)
        o->proxy_auth = em__http_userinfo_auth(px->userinfo);
    if (!o->host || !o->connect_host || (px && px->userinfo && !o->proxy_auth)) {
        free_origin(o);
        return NULL;
    }
    o->cl = cl;
    o->port = port;
    o->connect_port = cport;
    o->tls = tls;
    o->mode = mode;
    o->next = cl->origins;
    cl->origins = o;
    return o;
}

static void enqueue(em__http_origin *o, em_http_call *call) {
    call->qnext = NULL;
    call->queued = true;
    if (o->queue_tail)
        o->queue_tail->qnext = call;
    else
        o->queue = call;
    o->queue_tail = call;
}

static void unqueue(em__http_origin *o, em_http_call *call) {
    em_http_call **pp = &o->queue, *prev = NULL;
    while (*pp && *pp != call) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp)
        return;
    *pp = call->qnext;
    if (o->queue_tail == call)
        o->queue_tail = prev;
    call->qnext = NULL;
    call->queued = false;
}

static unsigned queue_len(const em__http_origin *o) {
    unsigned n = 0;
    for (const em_http_call *c = o->queue; c; c = c->qnext)
        n++;
    return n;
}

static void idle_remove(em__http_origin *o, em__http_cconn *c) {
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else if (o->idle == c)
        o->idle = c->idle_next;
    else
        return; /* not on the list */
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    c->idle_next = c->idle_prev = NULL;
    o->nidle--;
}

static void idle_push(em__http_origin *o, em__http_cconn *c) {
    c->idle_prev = NULL;
    c->idle_next = o->idle;
    if (o->idle)
        o->idle->idle_prev = c;
    o->idle = c;
    o->nidle++;
}

/* Fail every queued call of o with err (a connect failure nobody else can
 * serve them past). */
static void fail_queue(em__http_origin *o, int err, const char *why) {
    while (o->queue) {
        em_http_call *call = o->queue;
        unqueue(o, call);
        if (why && *why)
            em__http_call_why(call, "%s", why);
        em__http_call_finish(call, err);
    }
}

/* Open connections for queued calls, up to the cap. */
static void grow(em__http_origin *o) {
    em_http_client *cl = o->cl;
    unsigned want = queue_len(o);
    while (want > o->nconnecting && o->nconns < cl->o.max_per_host) {
        em__http_cconn *c;
        int rc = em__http_cconn_open(cl, o, &c);
        if (rc) {
            if (!o->nconns)
                fail_queue(o, rc, em_strerror(rc));
            return;
        }
        c->all_next = cl->conns;
        if (cl->conns)
            cl->conns->all_prev = c;
        cl->conns = c;
    }
}

/* A proxy from the environment the call would go through but the client
 * cannot speak to: EM_ENOTSUP with curl's words, never a direct request. */
static int proxy_refused(em_http_client *cl, em_http_call *call) {
    const char *px = em__http_proxy_refused(cl, &call->url);
    if (!px)
        return 0;
    em__http_call_why(call, "Unsupported proxy scheme for '%s' (only http:// proxies are spoken)",
                      px);
    return EM_ENOTSUP;
}

int em__http_pool_submit(em_http_client *cl, em_http_call *call) {
    int rc = proxy_refused(cl, call);
    if (rc)
        return rc;
    em__http_origin *o = find_origin(cl, &call->url, call->upgrade != NULL);
    if (!o)
        return EM_ENOMEM;
    call->origin = o;
    while (!call->fresh_only && o->idle) {
        em__http_cconn *c = o->idle;
        idle_remove(o, c);
        if (em__http_cconn_alive(c)) {
            em__http_cconn_start(c, call);
            return 0;
        }
        em__http_cconn_close(c, 0); /* the server closed it while idle */
    }
    enqueue(o, call);
    grow(o); /* a connection that cannot even start fails the queue */
    return 0;
}

static void on_deadline(em_timer *t) {
    em_http_call *call = EM_CONTAINER_OF(t, em_http_call, deadline);
    em__http_call_why(call, "total timeout (%u ms)", call->timeout_ms);
    em__http_pool_detach(call);
    em__http_call_finish(call, EM_ETIMEDOUT);
}

int em__http_pool_start(em_http_client *cl, em_http_call *call) {
    em_timer_init(cl->loop, &call->deadline, on_deadline);
    if (proxy_refused(cl, call)) { /* the call's own error, from the loop */
        em__http_call_finish(call, EM_ENOTSUP);
        return 0;
    }
    int rc = em__http_pool_submit(cl, call);
    if (!rc && call->timeout_ms)
        em_timer_start(&call->deadline, call->timeout_ms, 0);
    return rc;
}

void em__http_pool_detach(em_http_call *call) {
    if (call->queued && call->origin)
        unqueue(call->origin, call);
    if (call->conn)
        em__http_cconn_close(call->conn, EM_ECANCELED);
}

/* ---- the client's end ---------------------------------------------------------- */

static void free_client(em_http_client *cl) {
    void (*cb)(void *) = cl->close_cb;
    void *arg = cl->close_arg;
    em_tls_ctx_free(cl->own_tls);
    em__http_call_pool_free(cl);
    free(cl);
    if (cb)
        cb(arg);
}

static void on_resolver_closed(em_dns_resolver *r) {
    em_http_client *cl = r->data;
    free(r);
    free_client(cl);
}

static void closed_task(em_task *t) {
    em_http_client *cl = t->data;
    if (cl->live_calls) {
        em_loop_defer(cl->loop, t); /* their on_done first */
        return;
    }
    while (cl->origins) {
        em__http_origin *o = cl->origins;
        cl->origins = o->next;
        free_origin(o);
    }
    em__http_proxy_free(cl);
    if (cl->own_resolver) {
        cl->own_resolver->data = cl;
        em_dns_resolver_close(cl->own_resolver, on_resolver_closed);
        return;
    }
    free_client(cl);
}

/* Once closing and every connection is gone: free the client from the loop. */
static void maybe_closed(em_http_client *cl) {
    if (cl->closing && !cl->nconns && !cl->close_task.cb) {
        cl->close_task.cb = closed_task;
        cl->close_task.data = cl;
        em_loop_defer(cl->loop, &cl->close_task);
    }
}

void em__http_pool_shutdown(em_http_client *cl) {
    for (em__http_origin *o = cl->origins; o; o = o->next)
        fail_queue(o, EM_ECANCELED, "the client closed");
    /* Each close unlinks its connection (conn_gone), busy ones ending
     * their calls with EM_ECANCELED. */
    while (cl->conns)
        em__http_cconn_abort(cl->conns, EM_ECANCELED);
    maybe_closed(cl);
}

/* ---- what connections report ------------------------------------------------- */

static void conn_ready(em__http_cconn *c) {
    em__http_origin *o = c->origin;
    em_http_client *cl = c->cl;
    if (cl->closing) {
        em__http_cconn_close(c, 0);
        return;
    }
    for (em_http_call *call = o->queue; call; call = call->qnext) {
        if (call->fresh_only && c->uses)
            continue;
        /* A used connection gets the same look as one taken from the idle
         * list: bytes that came after its response, unread yet, would be
         * taken for this call's answer. Closing it grows a fresh one. */
        if (c->uses && !em__http_cconn_alive(c)) {
            em__http_cconn_close(c, 0);
            return;
        }
        unqueue(o, call);
        em__http_cconn_start(c, call);
        return;
    }
    if (o->nidle >= cl->o.max_idle_per_host) {
        em__http_cconn_close(c, 0);
        return;
    }
    em__http_cconn_idle(c);
    idle_push(o, c);
}

static void conn_gone(em__http_cconn *c, int err) {
    em__http_origin *o = c->origin;
    em_http_client *cl = c->cl;
    idle_remove(o, c);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        cl->conns = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    o->nconns--;
    cl->nconns--;
    if (err && !o->nconns)
        fail_queue(o, err, c->err); /* nobody left to serve them */
    else if (o->queue && !cl->closing)
        grow(o);
    maybe_closed(cl);
}

static void call_ended(em_http_call *call, int err, bool retry, bool redirect) {
    em_http_client *cl = call->cl;
    int rc = err;
    if (!cl->closing && retry) {
        /* RFC 9110 §9.2.2: an idempotent request may go again when the
         * reused connection died before any answer. */
        call->retried = call->fresh_only = true;
        call->err[0] = 0;
        rc = em__http_pool_submit(cl, call);
    } else if (!err && redirect) {
        rc = cl->closing ? EM_ECANCELED : em__http_redirect_apply(call);
        rc = rc ? rc : em__http_pool_submit(cl, call);
    }
    if (rc || (!retry && !redirect))
        em__http_call_finish(call, rc);
}

const em__http_client_up em__http_client_pool_up = {
    .conn_ready = conn_ready,
    .conn_gone = conn_gone,
    .call_ended = call_ended,
};
