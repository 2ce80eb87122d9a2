/* Frames onto the tcp connection. A server writes the header and the
 * caller's payload as two slices (the payload is copied only if the kernel
 * does not take it at once); a client masks into a copy with a fresh key
 * per frame (RFC 6455 §5.3). Keys from getrandom come in 4 KiB batches
 * per thread: one system call per 1024 frames. */
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"

#define KEY_BATCH 4096
/* A client frame up to this size is masked on the stack. */
#define STACK_FRAME 4096

static _Thread_local struct {
    uint8_t buf[KEY_BATCH];
    unsigned pos;
} keys = {.pos = KEY_BATCH};

static int batched_random(void *ctx, void *out, size_t n) {
    (void)ctx;
    if (n > KEY_BATCH)
        return em_ws_random_os(NULL, out, n);
    if (KEY_BATCH - keys.pos < n) {
        int err = em_ws_random_os(NULL, keys.buf, KEY_BATCH);
        if (err)
            return err;
        keys.pos = 0;
    }
    memcpy(out, keys.buf + keys.pos, n);
    /* A key is used once: wipe it from the batch. */
    memset(keys.buf + keys.pos, 0, n);
    keys.pos += (unsigned)n;
    return 0;
}

em_buf *em__ws_msg(em_ws *ws) {
    em__ws_cold *c = em__ws_cold_get(ws);
    return c ? &c->msg : NULL;
}

void em__ws_msg_free(em_ws *ws) {
    if (ws->cold)
        em_buf_free(&ws->cold->msg);
}

uint64_t em__ws_max_message(const em_ws *ws) {
    return ws->opts->max_message ? ws->opts->max_message : EM_WS_MAX_MESSAGE_DEFAULT;
}

unsigned em__ws_close_timeout(const em_ws *ws) {
    return ws->opts->close_timeout_ms ? ws->opts->close_timeout_ms : 5000;
}

/* Room in the write queue for a frame of need bytes: 0 or EM_ENOBUFS. A
 * close frame is never refused for room (RFC 6455 §7.1.2, §5.5.1: starting
 * or answering the closing handshake MUST send one, and a full queue is
 * what a slow reader is closed for): the cap grows by that frame alone, as
 * no data frame may follow it. */
static int make_room(em_ws *ws, unsigned opcode, size_t need) {
    em_tcp_conn *t = &ws->up.tcp;
    size_t max = ws->opts->max_queue ? ws->opts->max_queue : EM__WS_MAX_QUEUE;
    size_t queued = em_tcp_conn_queued(t);
    if (need <= max && queued <= max - need)
        return 0;
    if (opcode != EM_WS_OP_CLOSE)
        return EM_ENOBUFS;
    return em_tcp_conn_set_limits(t, 0, 0, queued + need);
}

int em__ws_write_frame(em_ws *ws, unsigned opcode, unsigned rsv, bool fin, em_slice payload,
                       uint64_t *token) {
    em_tcp_conn *t = &ws->up.tcp;
    em_ws_frame f = {
        .len = payload.len, .opcode = (uint8_t)opcode, .rsv = (uint8_t)rsv, .fin = fin};
    bool server = em__ws_role(ws) == EM_WS_ROLE_SERVER;
    size_t need = em_ws_frame_header_size(payload.len, !server) + payload.len;
    if (need < payload.len)
        return EM_ENOBUFS;
    /* Refuse what the queue cannot take before masking a copy of it. */
    int rc = make_room(ws, opcode, need);
    if (rc)
        return rc;
    if (server) {
        char hdr[EM_WS_MAX_HEADER];
        ssize_t h = em_ws_frame_header_write(hdr, &f);
        if (h < 0)
            return (int)h;
        em_slice s[2] = {em_slice_make(hdr, (size_t)h), payload};
        return em_tcp_conn_write(t, s, payload.len ? 2 : 1, EM_TCP_WRITE_COPY, token);
    }
    char stack[STACK_FRAME];
    char *buf = need <= sizeof stack ? stack : malloc(need);
    if (!buf)
        return EM_ENOMEM;
    em_ws_random_cb rnd = EM__WS_COLD(ws, random);
    void *rnd_ctx = rnd ? ws->cold->random_ctx : NULL;
    ssize_t n = em_ws_frame_write_masked(buf, need, &f, payload.ptr, rnd ? rnd : batched_random,
                                         rnd_ctx);
    rc = n < 0 ? (int)n
               : em_tcp_conn_write(t, &(em_slice){buf, (size_t)n}, 1, EM_TCP_WRITE_COPY, token);
    if (buf != stack)
        free(buf);
    return rc;
}

int em__ws_after_write(em_ws *ws) {
    /* The blocking face waits there until the queue drained (or the
     * connection ended, which it reports): ws is not touched after. */
    if (EM__WS_COLD(ws, after_send) && em_tcp_conn_queued(&ws->up.tcp) > 0)
        return ws->cold->after_send(ws);
    if (em_tcp_conn_throttled(&ws->up.tcp)) {
        ws->flags |= WS_FULL;
        return EM_WS_FULL;
    }
    return 0;
}

/* ws->pend is the last completion of a circular list (last->next is the
 * first): one pointer per connection gives both ends. */
void em__ws_pend_add(em_ws *ws, struct em__ws_pend *p, uint64_t token) {
    p->token = token;
    struct em__ws_pend *last = ws->pend;
    p->next = last ? last->next : p;
    if (last)
        last->next = p;
    ws->pend = p;
}

static struct em__ws_pend *pend_first(const em_ws *ws) {
    return ws->pend ? ws->pend->next : NULL;
}

static void pend_pop(em_ws *ws, struct em__ws_pend *first) {
    if (first == ws->pend)
        ws->pend = NULL;
    else
        ws->pend->next = first->next;
}

void em__ws_pend_sent(em_ws *ws, uint64_t token) {
    struct em__ws_pend *p;
    while ((p = pend_first(ws)) && p->token <= token) {
        pend_pop(ws, p);
        p->fn(ws, p, 0);
    }
}

void em__ws_pend_fail_all(em_ws *ws, int err) {
    struct em__ws_pend *p;
    while ((p = pend_first(ws))) {
        pend_pop(ws, p);
        p->fn(ws, p, err);
    }
}
