/* The server side of the opening handshake (RFC 6455 §4.2): a request
 * checked by handshake.c, the subprotocol and permessage-deflate settled,
 * the 101 sent by em_http_upgrade, and the connection handed to the core
 * (conn*.c) as an em_ws. */
#include <stdlib.h>
#include <string.h>

#include "ws_conn_internal.h"

/* Answer a refused handshake with status; returns status, or EM_ECLOSED
 * when the client was already gone. */
static int refuse(em_http_ctx *cx, int status, const char *why) {
    int rc = 0;
    if (status == 405)
        rc = em_http_header_add(cx, EM_SLICE_LIT("Allow"), EM_SLICE_LIT("GET"));
    else if (status == 426) {
        /* RFC 6455 §4.4: the versions we speak; RFC 9110 §15.5.22: a 426
         * names the protocol in Upgrade, which §7.8 pairs with the
         * "upgrade" connection option. */
        rc = em_http_header_add(cx, EM_SLICE_LIT("Sec-WebSocket-Version"), EM_SLICE_LIT("13"));
        if (!rc)
            rc = em_http_header_add(cx, EM_SLICE_LIT("Upgrade"), EM_SLICE_LIT("websocket"));
        if (!rc)
            rc = em_http_header_add(cx, EM_SLICE_LIT("Connection"), EM_SLICE_LIT("Upgrade"));
    }
    if (rc == EM_ECLOSED)
        return rc;
    rc = em_http_respond_text(cx, status, why);
    return rc == EM_ECLOSED ? rc : status;
}

static const char *why_for(int status) {
    switch (status) {
    case 405:
        return "WebSocket handshakes use GET\n";
    case 505:
        return "WebSocket handshakes need HTTP/1.1\n";
    case 426:
        return "Sec-WebSocket-Version 13 is spoken here\n";
    default:
        return "not a valid WebSocket handshake\n";
    }
}

/* The response's headers beside the Connection: Upgrade that
 * em_http_upgrade adds. */
static int add_headers(em_http_ctx *cx, em_slice key, const char *protocol, const char *ext) {
    char accept[29];
    em__ws_accept_key(key, accept);
    int rc = em_http_header_add(cx, EM_SLICE_LIT("Upgrade"), EM_SLICE_LIT("websocket"));
    if (!rc)
        rc = em_http_header_add(cx, EM_SLICE_LIT("Sec-WebSocket-Accept"),
                                em_slice_from_cstr(accept));
    if (!rc && protocol)
        rc = em_http_header_add(cx, EM_SLICE_LIT("Sec-WebSocket-Protocol"),
                                em_slice_from_cstr(protocol));
    if (!rc && ext)
        rc = em_http_header_add(cx, EM_SLICE_LIT("Sec-WebSocket-Extensions"),
                                em_slice_from_cstr(ext));
    return rc;
}

/* em_http_upgrade failed after moving the connection into ws (rare: the
 * socket could not be watched anew): nothing was started, so once the
 * tcp connection is closed the ws is freed without a callback. */
static void on_unstarted_closed(em_tcp_conn *tcp) {
    em__ws_free_unstarted(EM_CONTAINER_OF(tcp, em_ws, up.tcp));
}

/* Settle permessage-deflate: 1 (on: *p and resp set), 0 (off), or the
 * status to refuse with. */
static int negotiate_deflate(const em_http_request *req, const em__ws_hs *hs,
                             const em_ws_deflate_opts *o, em__ws_pmd_params *p, char *resp,
                             size_t cap) {
    if (!o->enable || !hs->nextensions)
        return 0; /* RFC 6455 §9.1: extensions not spoken here are ignored */
    em_ws_deflate_opts capped;
    if (o->max_takeover && em__ws_pmd_takeovers() >= o->max_takeover) {
        /* memory pressure: this one keeps no zlib state while idle */
        capped = *o;
        capped.server_no_context_takeover = capped.client_no_context_takeover = true;
        o = &capped;
    }
    char stack[512], *buf = stack;
    if (hs->nextensions > 1 && hs->ext_len > sizeof stack && !(buf = malloc(hs->ext_len)))
        return 503;
    int rc = em__ws_pmd_negotiate(em__ws_hs_extensions(req, hs, buf), o, p, resp, cap);
    if (buf != stack)
        free(buf);
    if (rc == EM_EPARSE) /* a malformed offer (RFC 7692 §5) */
        return 400;
    return rc < 0 ? 500 : rc; /* EM_EINVAL: a window size in o out of range */
}

int em_ws_accept(em_http_ctx *cx, const em_ws_server_opts *opts, void *data) {
    if (!cx->conn) { /* the client is gone: the call that says so ends cx */
        (void)em_http_respond_text(cx, 500, "");
        return EM_ECLOSED;
    }
    if (!opts || !opts->cbs || !opts->cbs->on_close) {
        int rc = em_http_respond_text(cx, 500, "WebSocket endpoint misconfigured\n");
        return rc == EM_ECLOSED ? rc : EM_EINVAL;
    }
    em__ws_hs hs;
    int status = em__ws_hs_check(&cx->req, &hs);
    if (status)
        return refuse(cx, status, why_for(status));
    /* RFC 6455 §10.2: a browser's Origin is the server's to judge. */
    if (opts->check_origin && !opts->check_origin(cx, hs.origin, opts->arg))
        return refuse(cx, 403, "origin not allowed\n");
    int pi = em__ws_hs_protocol(&cx->req, opts->protocols);
    if (pi == EM_EPARSE)
        return refuse(cx, 400, "Sec-WebSocket-Protocol is not a list of tokens\n");
    if (pi < 0 && opts->require_protocol)
        return refuse(cx, 400, "no subprotocol spoken here was offered\n");
    const char *protocol = pi >= 0 ? opts->protocols[pi] : NULL;
    em__ws_pmd_params pmd;
    char ext[EM__WS_PMD_EXT_MAX];
    int on = negotiate_deflate(&cx->req, &hs, &opts->ws.deflate, &pmd, ext, sizeof ext);
    if (on > 1)
        return refuse(cx, on,
                      on == 400   ? "malformed Sec-WebSocket-Extensions\n"
                      : on == 503 ? "out of memory\n"
                                  : "bad permessage-deflate settings\n");

    em_ws *ws = em__ws_new(em_http_ctx_loop(cx), EM_WS_ROLE_SERVER, opts->cbs, &opts->ws, data,
                           on ? &pmd : NULL, protocol);
    if (!ws)
        return refuse(cx, 503, "out of memory\n");
    int rc = add_headers(cx, hs.key, protocol, on ? ext : NULL);
    if (rc) {
        em__ws_free_unstarted(ws);
        return rc == EM_ECLOSED ? rc : refuse(cx, 500, "cannot build the answer\n");
    }
    /* Set before the move: a shutdown may begin from the loop at once. */
    ws->up.on_shutdown = em__ws_on_shutdown;
    rc = em_http_upgrade(cx, 101, &ws->up, &em__ws_tcp_cbs, em__ws_on_forced_close);
    /* Nothing moved. EM_EINVAL before anything is sent needs a body still
     * coming, which was refused above; after the 101 it means the move
     * failed and cx has ended, so cx is never touched again here.
     * EM_ECANCELED: the server is shutting down and answered 503. */
    if (rc == EM_EINVAL || rc == EM_ECLOSED || rc == EM_EALREADY || rc == EM_ECANCELED) {
        em__ws_free_unstarted(ws);
        return rc;
    }
    if (rc) {
        em_http_upgraded_close(&ws->up, on_unstarted_closed);
        return rc;
    }
    /* The bytes that came behind the request (frames pipelined after the
     * GET) are in ws->up.tcp.in: the core parses them first. A start that
     * fails ends in on_close like any failure, so data is the em_ws's
     * from here on and the answer is 0 either way. */
    (void)em__ws_start(ws);
    return 0;
}

static void route(em_http_ctx *cx, const em_http_handler *h) {
    (void)em_ws_accept(cx, h->data, NULL);
}

int em_ws_route(em_http_router *r, const char *path, em_ws_server_opts *opts) {
    if (!r || !path || !opts)
        return EM_EINVAL;
    opts->_route = (em_http_handler){route, NULL, opts};
    return em_http_route_handler(r, EM_HTTP_GET, path, &opts->_route);
}

bool em_ws_is_upgrade(const em_http_ctx *cx) {
    return em__ws_hs_wants_websocket(&cx->req);
}
