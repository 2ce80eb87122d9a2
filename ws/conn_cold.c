/* The cold part of a ws (em__ws_cold): what few connections use, allocated
 * on first use. Its own file, at the bottom of the core's stack, because
 * every layer above may need it (see conn_private.h). */
#include <stdlib.h>

#include "conn_private.h"

em__ws_cold *em__ws_cold_get(em_ws *ws) {
    if (!ws->cold)
        ws->cold = calloc(1, sizeof *ws->cold);
    return ws->cold;
}
