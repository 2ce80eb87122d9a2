/* The core's one door to permessage-deflate (RFC 7692, deflate*.c): the
 * rest of the core asks here, so the compressor is a seam of five calls. */
#include "conn_private.h"

/* deflate*.c is not in the tree yet: a connection cannot have settled
 * the extension (the server does not accept it, the client does not
 * offer it), and these are never reached with ws->pmd set. */
int em__ws_conn_pmd_new(em_ws *ws, const em__ws_pmd_params *p) {
    (void)ws;
    return p ? EM_ENOTSUP : 0;
}

void em__ws_conn_pmd_free(em_ws *ws) {
    ws->pmd = NULL;
}

int em__ws_conn_inflate(em_ws *ws, em_slice in, bool last, uint64_t limit, em_buf *out) {
    (void)ws, (void)in, (void)last, (void)limit, (void)out;
    return EM_ENOTSUP;
}

int em__ws_conn_compress(em_ws *ws, em_slice msg, em_buf *out) {
    (void)ws, (void)msg, (void)out;
    return EM_ENOTSUP;
}

size_t em__ws_conn_pmd_memory(const em_ws *ws) {
    (void)ws;
    return 0;
}

int em__ws_compress_alone(em_slice msg, em_buf *out) {
    (void)msg, (void)out;
    return EM_ENOTSUP;
}

bool em__ws_conn_pmd_shared_ok(const em_ws *ws) {
    return ws->pmd && ws->role == EM_WS_ROLE_SERVER && (ws->flags & WS_TX_NCT);
}

size_t em__ws_conn_pmd_min(const em_ws *ws) {
    return ws->opts->deflate.min_size ? ws->opts->deflate.min_size : 64;
}
