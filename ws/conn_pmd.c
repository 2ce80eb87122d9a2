/* The core's one door to permessage-deflate (RFC 7692, deflate*.c): the
 * rest of the core asks here, so the compressor is a seam of a few calls.
 * The state hangs off the cold part: a connection without deflate carries
 * no pointer for it. */
#include "conn_private.h"

bool em__ws_conn_pmd_on(const em_ws *ws) {
    return EM__WS_COLD(ws, pmd) != NULL;
}

int em__ws_conn_pmd_new(em_ws *ws, const em__ws_pmd_params *p) {
    if (!p)
        return 0;
    em__ws_cold *c = em__ws_cold_get(ws);
    if (!c || !(c->pmd = em__ws_pmd_new(ws->loop, em__ws_role(ws), p, &ws->opts->deflate)))
        return EM_ENOMEM;
    bool server = em__ws_role(ws) == EM_WS_ROLE_SERVER;
    /* A shared broadcast frame (em__ws_compress_alone) suits a sender
     * that resets per message with the full window. */
    if (server ? p->server_no_context_takeover : p->client_no_context_takeover)
        ws->flags |= WS_TX_NCT;
    if ((server ? p->server_max_window_bits : p->client_max_window_bits) == 15)
        ws->flags |= WS_TX_W15;
    return 0;
}

void em__ws_conn_pmd_free(em_ws *ws) {
    if (EM__WS_COLD(ws, pmd)) {
        em__ws_pmd_free(ws->cold->pmd);
        ws->cold->pmd = NULL;
    }
    ws->flags &= ~(uint32_t)(WS_TX_NCT | WS_TX_W15);
}

int em__ws_conn_inflate(em_ws *ws, em_slice in, bool last, uint64_t limit, em_buf *out) {
    return em__ws_pmd_inflate(ws->cold->pmd, in, last, limit, out);
}

int em__ws_conn_compress(em_ws *ws, em_slice msg, em_buf *out) {
    return em__ws_pmd_compress(ws->cold->pmd, msg, out);
}

void em__ws_conn_compress_unsent(em_ws *ws) {
    em__ws_pmd_unsent(ws->cold->pmd);
}

size_t em__ws_conn_pmd_memory(const em_ws *ws) {
    return EM__WS_COLD(ws, pmd) ? em__ws_pmd_memory(ws->cold->pmd) : 0;
}

int em__ws_compress_alone(em_slice msg, em_buf *out) {
    static const em__ws_pmd_params alone = {true, true, 15, 15};
    em__ws_pmd *z = em__ws_pmd_new(NULL, EM_WS_ROLE_SERVER, &alone, NULL);
    if (!z)
        return EM_ENOMEM;
    int rc = em__ws_pmd_compress(z, msg, out);
    em__ws_pmd_free(z);
    return rc;
}

bool em__ws_conn_pmd_shared_ok(const em_ws *ws) {
    return em__ws_conn_pmd_on(ws) && em__ws_role(ws) == EM_WS_ROLE_SERVER &&
           (ws->flags & (WS_TX_NCT | WS_TX_W15)) == (WS_TX_NCT | WS_TX_W15);
}

size_t em__ws_conn_pmd_min(const em_ws *ws) {
    return ws->opts->deflate.min_size ? ws->opts->deflate.min_size : 64;
}
