/* The WebSocket client on the loop: the opening handshake (RFC 6455 §4.1)
 * is an HTTP upgrade request made with the HTTP client, so connecting by
 * name, TLS for wss:// and proxies work as for https; the 101 is checked
 * here and the connection moves into the em_ws made at em_ws_connect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ws_conn_internal.h"

#define MAX_EXTRA_HEADERS 64

typedef struct ws_client {
    em_ws *ws;
    em_http_client *http;
    em_http_call *call;
    const em_ws_client_opts *opts;
    em_http_header *hdrs;
    char key[25];
    char accept[29];
    char protocols[512]; /* the offer, comma-separated */
    char extensions[256];
    char why[200];
    int status;
    int fail; /* a 101 that breaks §4.1: EM_EPROTO */
    bool upgraded;
} ws_client;

static void free_client(ws_client *wc) {
    free(wc->hdrs);
    free(wc);
}

static void http_closed(void *arg) {
    free_client(arg);
}

/* The handshake is over (either way): the HTTP client goes, from the
 * loop, and the ws forgets it. */
static void release(ws_client *wc) {
    if (wc->ws && wc->ws->cold) {
        wc->ws->cold->client = NULL;
        wc->ws->cold->client_cancel = NULL;
    }
    wc->ws = NULL;
    wc->call = NULL;
    em_http_client_close(wc->http, http_closed, wc);
}

/* ---- checking the 101: client_check.c ---------------------------------------- */

static int bad(ws_client *wc, const char *why) {
    snprintf(wc->why, sizeof wc->why, "the server's 101 breaks RFC 6455 §4.1: %s", why);
    wc->fail = EM_EPROTO;
    return EM_EPROTO;
}

/* ---- the HTTP call's callbacks --------------------------------------------- */

static void on_head(em_http_call *call, const em_http_response *resp) {
    ws_client *wc = em_http_call_data(call);
    wc->status = resp->status;
    snprintf(wc->why, sizeof wc->why, "the server answered %d instead of 101 Switching Protocols",
             resp->status);
    /* the body is of no use: stop here */
    (void)em_http_call_cancel(call);
    em_ws *ws = wc->ws;
    em__ws_set_handshake_result(ws, wc->status, wc->why);
    release(wc);
    em__ws_fail_unstarted(ws, EM_EHANDSHAKE);
}

static void on_upgrade(em_http_call *call, const em_http_response *resp, em_tcp_conn *tcp) {
    ws_client *wc = em_http_call_data(call);
    wc->status = resp->status;
    char protocol[256];
    em__ws_pmd_params pmd;
    bool deflate = false;
    const char *why = NULL;
    if (em__ws_client_check(resp, wc->accept, wc->opts->protocols, &wc->opts->ws.deflate,
                            protocol, sizeof protocol, &pmd, &deflate, &why)) {
        bad(wc, why);
        return; /* not taken: the call fails and on_done reports wc->fail */
    }
    em_ws *ws = wc->ws;
    if (em__ws_settle(ws, deflate ? &pmd : NULL, protocol)) {
        snprintf(wc->why, sizeof wc->why, "out of memory");
        wc->fail = EM_ENOMEM;
        return;
    }
    void *data = ws->up.tcp.data;
    int rc = em_tcp_conn_move(&ws->up.tcp, tcp, &em__ws_tcp_cbs);
    ws->up.tcp.data = data;
    if (rc) {
        snprintf(wc->why, sizeof wc->why, "taking the connection over failed: %s",
                 em_strerror(rc));
        wc->fail = rc;
        return;
    }
    wc->upgraded = true;
    em__ws_set_handshake_result(ws, 101, "");
    release(wc);
    /* start failures end in on_close like any other */
    (void)em__ws_start(ws);
}

static void on_done(em_http_call *call, int err) {
    ws_client *wc = em_http_call_data(call);
    if (wc->upgraded || !wc->ws)
        return; /* on_upgrade or on_head finished the job */
    em_ws *ws = wc->ws;
    if (wc->fail)
        err = wc->fail;
    else if (!err)
        err = EM_EPROTO; /* cannot happen: a non-101 goes through on_head */
    if (!wc->why[0])
        snprintf(wc->why, sizeof wc->why, "%s", em_http_call_error(call));
    em__ws_set_handshake_result(ws, wc->status, wc->why[0] ? wc->why : em_strerror(err));
    release(wc);
    em__ws_fail_unstarted(ws, err);
}

static const em_http_client_cbs http_cbs = {
    .on_head = on_head, .on_done = on_done, .on_upgrade = on_upgrade};

/* em_ws_abort before the handshake ended: no callback of the call may
 * follow; the core then fails ws. */
static void cancel(em_ws *ws) {
    ws_client *wc = EM__WS_COLD(ws, client);
    if (!wc)
        return;
    if (wc->call)
        (void)em_http_call_cancel(wc->call);
    release(wc);
}

/* ---- connecting ---------------------------------------------------------------- */

/* ws://... -> http://..., wss://... -> https://... (RFC 6455 §3: the
 * same URI with another scheme); http and https pass. */
static char *http_url(const char *url) {
    static const struct { const char *from, *to; } map[] = {
        {"ws://", "http://"}, {"wss://", "https://"}, {"http://", "http://"},
        {"https://", "https://"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i].from);
        if (strncasecmp(url, map[i].from, n))
            continue;
        size_t len = strlen(map[i].to) + strlen(url + n) + 1;
        char *out = malloc(len);
        if (out)
            snprintf(out, len, "%s%s", map[i].to, url + n);
        return out;
    }
    return NULL;
}

static bool fragment_in(const char *url) {
    return strchr(url, '#') != NULL; /* RFC 6455 §3: never in a WebSocket URI */
}

EM_API bool em_ws_client_header_reserved(em_slice name) {
    return em_slice_eq_nocase(name, EM_SLICE_LIT("host")) ||
           em_slice_eq_nocase(name, EM_SLICE_LIT("upgrade")) ||
           em_slice_eq_nocase(name, EM_SLICE_LIT("connection")) ||
           (name.len >= 14 && !strncasecmp(name.ptr, "sec-websocket-", 14));
}

/* The request's fields: the caller's, then the handshake's own. */
static int build_headers(ws_client *wc, const em_ws_client_opts *o, size_t *n) {
    if (o->num_headers > MAX_EXTRA_HEADERS)
        return EM_EINVAL;
    wc->hdrs = calloc(o->num_headers + 4, sizeof *wc->hdrs);
    if (!wc->hdrs)
        return EM_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < o->num_headers; i++) {
        if (em_ws_client_header_reserved(o->headers[i].name))
            return EM_EINVAL;
        wc->hdrs[k++] = o->headers[i];
    }
    em_ws_random_cb rnd = o->random ? o->random : em_ws_random_os;
    int rc = em__ws_key_new(rnd, o->random_ctx, wc->key);
    if (rc)
        return rc;
    em__ws_accept_key(em_slice_from_cstr(wc->key), wc->accept);
    wc->hdrs[k++] = (em_http_header){EM_SLICE_LIT("Sec-WebSocket-Key"),
                                     em_slice_from_cstr(wc->key), 0};
    wc->hdrs[k++] = (em_http_header){EM_SLICE_LIT("Sec-WebSocket-Version"), EM_SLICE_LIT("13"), 0};
    size_t pl = 0;
    for (const char *const *p = o->protocols; p && *p; p++) {
        size_t l = strlen(*p);
        if (!l || pl + l + 2 >= sizeof wc->protocols)
            return EM_EINVAL;
        for (size_t i = 0; i < l; i++) /* a token (RFC 6455 §4.1, point 10) */
            if ((*p)[i] <= ' ' || (*p)[i] >= 127 || strchr("()<>@,;:\\\"/[]?={}", (*p)[i]))
                return EM_EINVAL;
        pl += (size_t)snprintf(wc->protocols + pl, sizeof wc->protocols - pl, "%s%s",
                               pl ? ", " : "", *p);
    }
    if (pl)
        wc->hdrs[k++] = (em_http_header){EM_SLICE_LIT("Sec-WebSocket-Protocol"),
                                         {wc->protocols, pl}, 0};
    if (o->ws.deflate.enable) {
        ssize_t el = em__ws_pmd_offer(&o->ws.deflate, wc->extensions, sizeof wc->extensions);
        if (el < 0)
            return (int)el;
        wc->hdrs[k++] = (em_http_header){EM_SLICE_LIT("Sec-WebSocket-Extensions"),
                                         {wc->extensions, (size_t)el}, 0};
    }
    *n = k;
    return 0;
}

int em_ws_connect(em_loop *loop, const char *url, const em_ws_client_opts *opts,
                  const em_ws_cbs *cbs, void *data, em_ws **out) {
    static const em_ws_client_opts defaults;
    const em_ws_client_opts *o = opts ? opts : &defaults;
    if (out)
        *out = NULL;
    if (!loop || !url || !cbs || !cbs->on_close)
        return EM_EINVAL;
    if (fragment_in(url))
        return EM_EINVAL;
    char *hurl = http_url(url);
    if (!hurl)
        return strstr(url, "://") ? EM_ENOTSUP : EM_EINVAL;
    ws_client *wc = calloc(1, sizeof *wc);
    int rc = wc ? 0 : EM_ENOMEM;
    size_t nh = 0;
    if (!rc) {
        wc->opts = o;
        rc = build_headers(wc, o, &nh);
    }
    rc = rc ? rc : em_http_client_new(&wc->http, loop, o->http);
    em_ws *ws = NULL;
    if (!rc && (!(ws = em__ws_new(loop, EM_WS_ROLE_CLIENT, cbs, &o->ws, data, NULL, NULL)) ||
                !em__ws_cold_get(ws)))
        rc = EM_ENOMEM;
    if (!rc) {
        wc->ws = ws;
        em_http_req req = {.url = hurl,
                           .upgrade = "websocket",
                           .headers = wc->hdrs,
                           .num_headers = nh,
                           .timeout_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms
                                                                 : 30000};
        rc = em_http_client_do(wc->http, &req, &http_cbs, wc, &wc->call);
    }
    free(hurl);
    if (rc) {
        if (ws)
            em__ws_free_unstarted(ws);
        if (wc && wc->http) {
            wc->ws = NULL;
            em_http_client_close(wc->http, http_closed, wc);
        } else if (wc) {
            free_client(wc);
        }
        return rc;
    }
    ws->cold->client = wc;
    ws->cold->client_cancel = cancel;
    ws->cold->random = o->random; /* the frames' keys too, not only the handshake's */
    ws->cold->random_ctx = o->random_ctx;
    if (out)
        *out = ws;
    return 0;
}
