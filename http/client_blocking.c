/* The blocking face: one call on a private loop with a private client, so
 * any number of threads may make requests at once without sharing
 * anything (client_gather.c collects the response). A call without
 * options runs on its thread's session instead: a loop and client that
 * live between calls, so a thread's sequential requests reuse kept-alive
 * connections as curl's easy handle does. */
#include <pthread.h>
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

/* ---- a thread's session ---------------------------------------------------- */

typedef struct session {
    em_loop loop;
    em_http_client *cl;
    em_http_limits limits;
    em__http_gather *g; /* the call running, for on_end */
    bool closed;
} session;

static pthread_key_t session_key;
static pthread_once_t session_once = PTHREAD_ONCE_INIT;
static bool session_key_ok;

static void session_closed(void *arg) {
    session *s = arg;
    s->closed = true;
    em_loop_stop(&s->loop);
}

static void session_free(void *p) {
    session *s = p;
    if (!s)
        return;
    em_http_client_close(s->cl, session_closed, s);
    while (!s->closed)
        em_loop_run(&s->loop, EM_RUN_DEFAULT);
    close_loop(&s->loop);
    free(s);
}

static void make_key(void) {
    session_key_ok = pthread_key_create(&session_key, session_free) == 0;
}

static void session_end(em__http_gather *g) {
    em_loop_stop(g->arg);
}

/* This thread's session, made on first use; NULL when none can be. */
static session *session_get(void) {
    pthread_once(&session_once, make_key);
    if (!session_key_ok)
        return NULL;
    session *s = pthread_getspecific(session_key);
    if (s)
        return s;
    if (!(s = calloc(1, sizeof *s)))
        return NULL;
    if (em_loop_init(&s->loop)) {
        free(s);
        return NULL;
    }
    em_http_client_opts o = {0};
    em_http_req unused = {0};
    em__http_blocking_defaults(&unused, &o, &s->limits);
    if (em_http_client_new(&s->cl, &s->loop, &o) || pthread_setspecific(session_key, s)) {
        if (s->cl) {
            s->closed = false;
            session_free(s);
        } else {
            close_loop(&s->loop);
            free(s);
        }
        return NULL;
    }
    return s;
}

void em_http_blocking_release(void) {
    pthread_once(&session_once, make_key);
    if (!session_key_ok)
        return;
    session *s = pthread_getspecific(session_key);
    if (!s)
        return;
    (void)pthread_setspecific(session_key, NULL);
    session_free(s);
}

static int session_do(session *s, const em_http_req *req, em_http_resp *resp) {
    em_http_client_opts o = {0};
    em_http_limits limits;
    em_http_req r = *req;
    em__http_blocking_defaults(&r, &o, &limits);
    em__http_gather g = {.resp = resp, .on_end = session_end, .arg = &s->loop};
    /* The loop slept since the last call: timers count from now. */
    em_loop_update_time(&s->loop);
    int rc = em_http_client_do(s->cl, &r, &em__http_gather_cbs, &g, NULL);
    while (!rc && !g.done)
        em_loop_run(&s->loop, EM_RUN_DEFAULT);
    return em__http_gather_finish(&g, rc ? rc : g.err);
}

/* ---- one call ------------------------------------------------------------------- */

/* A call refused before it started has no em_http_call_error to copy:
 * say here which part of the request was refused. */
static int refused(const em_http_req *req, em_http_resp *resp, int rc) {
    if (!rc || resp->error[0])
        return rc;
    const char *url = req->url ? req->url : "(null)";
    bool bad_url = false;
    if (rc == EM_EINVAL) {
        em_url u;
        bad_url = !req->url || em_url_parse(&u, em_slice_from_cstr(req->url)) != 0;
        if (!bad_url)
            em_url_free(&u);
    }
    if (bad_url)
        snprintf(resp->error, sizeof resp->error, "bad URL \"%.90s\"", url);
    else if (rc == EM_ENOTSUP)
        snprintf(resp->error, sizeof resp->error,
                 "\"%.60s\" is for the WebSocket client (em_ws_dial)", url);
    else if (rc == EM_EINVAL)
        snprintf(resp->error, sizeof resp->error,
                 "invalid request (method, header fields or options)");
    else
        snprintf(resp->error, sizeof resp->error, "%s", em_strerror(rc));
    return rc;
}

static int do_call(const em_http_req *req, const em_http_client_opts *opts, em_http_resp *resp) {
    session *s = opts ? NULL : session_get();
    if (s)
        return session_do(s, req, resp);
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

int em_http_do(const em_http_req *req, const em_http_client_opts *opts, em_http_resp *resp) {
    if (!req || !resp)
        return EM_EINVAL;
    memset(resp, 0, sizeof *resp);
    return refused(req, resp, do_call(req, opts, resp));
}

int em_http_get(const char *url, em_http_resp *resp) {
    return em_http_do(&(em_http_req){.url = url}, NULL, resp);
}

int em_http_post(const char *url, const char *content_type, em_slice body, em_http_resp *resp) {
    return em_http_do(
        &(em_http_req){.url = url, .method = "POST", .content_type = content_type, .body = body},
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
