/* What other threads may call: references, and sending through the ws's
 * loop (em_loop_post keeps each thread's posts in order). A posted send
 * holds a reference until its done has run. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"

EM_API void em_ws_retain(em_ws *ws) {
    atomic_fetch_add_explicit(&ws->refs, 1, memory_order_relaxed);
}

EM_API void em_ws_release(em_ws *ws) {
    em__ws_unref(ws);
}

struct async_send {
    em_task task;
    struct em__ws_pend pend; /* waiting for the token once sent */
    em_ws *ws;
    em_ws_sent_cb done;
    void *arg;
    int opcode;
    size_t len;
    char data[];
};

static void async_end(struct async_send *a, int err) {
    em_ws *ws = a->ws;
    if (a->done)
        a->done(ws, err, a->arg);
    free(a);
    em__ws_unref(ws);
}

static void on_async_sent(em_ws *ws, struct em__ws_pend *p, int err) {
    (void)ws;
    async_end(EM_CONTAINER_OF(p, struct async_send, pend), err);
}

static void async_task(em_task *t) {
    struct async_send *a = t->data;
    em_ws *ws = a->ws;
    uint64_t token = 0;
    /* A dialed ws blocks in its sends until the bytes left (after_send),
     * reporting their token meanwhile: done would then wait for a token
     * already gone by, or be added to a ws that ended in the wait. done
     * is how this send reports, so it never blocks. */
    em__ws_cold *c = ws->cold;
    int (*blocking)(em_ws *) = c ? c->after_send : NULL;
    if (blocking)
        c->after_send = NULL;
    int rc = em_ws_send(ws, a->opcode, em_slice_make(a->data, a->len), &token);
    if (blocking)
        c->after_send = blocking;
    if (rc < 0) {
        async_end(a, rc);
        return;
    }
    a->pend.fn = on_async_sent;
    em__ws_pend_add(ws, &a->pend, token);
}

EM_API int em_ws_send_async(em_ws *ws, int opcode, em_slice data, em_ws_sent_cb done, void *arg) {
    if (!ws || (opcode != EM_WS_OP_TEXT && opcode != EM_WS_OP_BINARY) || (data.len && !data.ptr))
        return EM_EINVAL;
    if (data.len > SIZE_MAX - sizeof(struct async_send))
        return EM_ENOMEM;
    struct async_send *a = malloc(sizeof *a + data.len);
    if (!a)
        return EM_ENOMEM;
    if (data.len)
        memcpy(a->data, data.ptr, data.len);
    a->len = data.len;
    a->opcode = opcode;
    a->ws = ws;
    a->done = done;
    a->arg = arg;
    a->task.cb = async_task;
    a->task.data = a;
    em_ws_retain(ws);
    int rc = em_loop_post(ws->loop, &a->task);
    if (rc) {
        free(a);
        em__ws_unref(ws);
        return rc;
    }
    return 0;
}
