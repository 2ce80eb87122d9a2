/* Broadcast: a message encoded once as a server frame (header and payload
 * in one block, and a compressed form when asked), reference-counted so
 * any number of connections on any loops send the same bytes with no
 * copy. A connection holds a reference until the kernel took them. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"

struct em_ws_frame_buf {
    _Atomic unsigned refs;
    size_t len;  /* the plain frame: frame[0, len) */
    size_t zlen; /* the compressed frame after it (0: none) */
    char frame[];
};

/* One connection's hold on fb until its token is sent. */
struct fb_hold {
    struct em__ws_pend pend;
    em_ws_frame_buf *fb;
};

static ssize_t put_frame(char *out, int opcode, unsigned rsv, em_slice data) {
    em_ws_frame f = {.len = data.len, .opcode = (uint8_t)opcode, .rsv = (uint8_t)rsv, .fin = true};
    ssize_t h = em_ws_frame_header_write(out, &f);
    if (h > 0 && data.len)
        memcpy(out + h, data.ptr, data.len);
    return h < 0 ? h : h + (ssize_t)data.len;
}

EM_API int em_ws_frame_buf_new(em_ws_frame_buf **out, int opcode, em_slice data, bool deflate) {
    if (!out || (opcode != EM_WS_OP_TEXT && opcode != EM_WS_OP_BINARY) || (data.len && !data.ptr))
        return EM_EINVAL;
    if (opcode == EM_WS_OP_TEXT && !em_ws_utf8_valid(data.ptr, data.len))
        return EM_EPARSE;
    em_buf z;
    em_buf_init(&z, 0);
    if (deflate) {
        int rc = em__ws_compress_alone(data, &z);
        if (rc) {
            em_buf_free(&z);
            return rc;
        }
    }
    size_t plain = EM_WS_MAX_HEADER + data.len;
    size_t zcap = deflate ? EM_WS_MAX_HEADER + em_buf_len(&z) : 0;
    if (data.len > SIZE_MAX / 2 || em_buf_len(&z) > SIZE_MAX / 2) {
        em_buf_free(&z);
        return EM_ENOMEM;
    }
    em_ws_frame_buf *fb = malloc(sizeof *fb + plain + zcap);
    if (!fb) {
        em_buf_free(&z);
        return EM_ENOMEM;
    }
    atomic_init(&fb->refs, 1);
    ssize_t n = put_frame(fb->frame, opcode, 0, data);
    ssize_t zn = deflate ? put_frame(fb->frame + n, opcode, EM_WS_RSV1, em_buf_slice(&z)) : 0;
    em_buf_free(&z);
    if (n < 0 || zn < 0) {
        free(fb);
        return EM_EINVAL;
    }
    fb->len = (size_t)n;
    fb->zlen = (size_t)zn;
    *out = fb;
    return 0;
}

EM_API void em_ws_frame_buf_retain(em_ws_frame_buf *fb) {
    atomic_fetch_add_explicit(&fb->refs, 1, memory_order_relaxed);
}

EM_API void em_ws_frame_buf_release(em_ws_frame_buf *fb) {
    if (fb && atomic_fetch_sub_explicit(&fb->refs, 1, memory_order_acq_rel) == 1)
        free(fb);
}

static void on_hold_sent(em_ws *ws, struct em__ws_pend *p, int err) {
    (void)ws, (void)err;
    struct fb_hold *h = EM_CONTAINER_OF(p, struct fb_hold, pend);
    em_ws_frame_buf_release(h->fb);
    free(h);
}

EM_API int em_ws_send_frame_buf(em_ws *ws, em_ws_frame_buf *fb, uint64_t *token) {
    if (!fb || em__ws_role(ws) != EM_WS_ROLE_SERVER)
        return EM_EINVAL;
    if (!(ws->flags & WS_STARTED) ||
        (ws->flags & (WS_SENT_CLOSE | WS_GOT_CLOSE | WS_DRAIN | WS_TCP_CLOSING | WS_CLOSED)))
        return EM_ECLOSED;
    if (ws->flags & WS_PART)
        return EM_EBUSY;
    bool z = fb->zlen && em__ws_conn_pmd_shared_ok(ws);
    em_slice s =
        z ? em_slice_make(fb->frame + fb->len, fb->zlen) : em_slice_make(fb->frame, fb->len);
    /* Allocated first so nothing can fail after the bytes are queued. */
    struct fb_hold *h = malloc(sizeof *h);
    if (!h)
        return EM_ENOMEM;
    uint64_t tok;
    int rc = em_tcp_conn_write(&ws->up.tcp, &s, 1, 0, &tok);
    if (rc) {
        free(h);
        if (rc != EM_ENOBUFS && rc != EM_ENOMEM && rc != EM_ECLOSED)
            em__ws_tcp_error(ws, rc);
        return rc;
    }
    if (token)
        *token = tok;
    em_ws_frame_buf_retain(fb);
    h->fb = fb;
    h->pend.fn = on_hold_sent;
    em__ws_pend_add(ws, &h->pend, tok);
    return em__ws_after_write(ws);
}
