/* The cold part of a ws (em__ws_cold): what few connections use, allocated
 * on first use. Its own file, at the bottom of the core's stack, because
 * every layer above may need it (see conn_private.h). */
#include <stdint.h>
#include <stdlib.h>

#include "conn_private.h"

em__ws_cold *em__ws_cold_get(em_ws *ws) {
    if (!ws->cold && (ws->cold = calloc(1, sizeof *ws->cold)) != NULL)
        em_buf_init(&ws->cold->msg, 0); /* zero-filled would be a 0-byte limit */
    return ws->cold;
}

/* Every field of em__ws_cold but msg: a field added there is added here,
 * or a part still in use could be freed (the size check makes that a
 * compile error on 64-bit targets). */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(em__ws_cold) == 160, "em__ws_cold changed: update em__ws_cold_trim");
#endif

void em__ws_cold_trim(em_ws *ws) {
    const em__ws_cold *c = ws->cold;
    /* A message sent in parts keeps its validator here even while its
     * state is zero (the bytes so far end between code points). */
    if (!c || (ws->flags & WS_PART) || em_buf_cap(&c->msg) || c->client || c->client_cancel ||
        c->after_send || c->on_free || c->subs || c->on_finish || c->random || c->random_ctx ||
        c->pong || c->ctl || c->protocol || c->hs_error || c->pmd || c->tx_utf8._state ||
        c->hs_status || c->carry_n)
        return;
    free(ws->cold);
    ws->cold = NULL;
}
