/* Fuzz permessage-deflate negotiation (ws/deflate_negotiate.c). The first
 * two input bytes choose a server's and a client's em_ws_deflate_opts
 * (window sizes drawn from valid and invalid values, the no-context-
 * takeover flags); the rest is a Sec-WebSocket-Extensions value, given to
 * the server as offers and to the client as an answer, in an exact-size
 * copy (ASan sees any over-read).
 *
 * Checked: only the documented results; EM_EINVAL exactly for invalid
 * options; an accepted offer's answer fits, is NUL-terminated, and is read
 * back by a client that offered the least (em__ws_pmd_accept) as the same
 * parameters; an accepted answer respects what the client asked; and the
 * client's own offer is accepted by the server with agreeing parameters.
 * Any violation aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "../../ws/ws_conn_internal.h"

static void check(bool ok) {
    if (!ok)
        abort();
}

static const uint8_t BITS[8] = {0, 8, 9, 10, 12, 15, 7, 16};

static em_ws_deflate_opts opts_of(uint8_t b) {
    em_ws_deflate_opts o;
    memset(&o, 0, sizeof o);
    o.enable = (b & 0xc0) != 0xc0; /* mostly on */
    o.server_no_context_takeover = b & 1;
    o.client_no_context_takeover = b >> 1 & 1;
    o.server_max_window_bits = BITS[b >> 2 & 7];
    o.client_max_window_bits = BITS[(b >> 5 & 1) ? (b >> 2 & 7) ^ 1 : 0];
    return o;
}

static bool opts_valid(const em_ws_deflate_opts *o) {
    return o->server_max_window_bits != 7 && o->server_max_window_bits != 16 &&
           o->client_max_window_bits != 7 && o->client_max_window_bits != 16;
}

static int eff(uint8_t b) {
    return b ? b : 15;
}

static bool params_ok(const em__ws_pmd_params *p) {
    return p->server_max_window_bits >= 8 && p->server_max_window_bits <= 15 &&
           p->client_max_window_bits >= 8 && p->client_max_window_bits <= 15;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    em_ws_deflate_opts so = opts_of(data[0]), co = opts_of(data[1]);
    size_t n = size - 2;
    char *hdr = malloc(n ? n : 1);
    check(hdr != NULL);
    memcpy(hdr, data + 2, n);
    em_slice h = em_slice_make(hdr, n);

    /* the server */
    em__ws_pmd_params sp;
    char resp[EM__WS_PMD_EXT_MAX];
    int rc = em__ws_pmd_negotiate(h, &so, &sp, resp, sizeof resp);
    if (!so.enable)
        check(rc == 0);
    else if (!opts_valid(&so))
        check(rc == EM_EINVAL);
    else
        check(rc == 0 || rc == 1 || rc == EM_EPARSE);
    /* the same again: nothing kept between calls */
    em__ws_pmd_params sp2;
    char resp2[EM__WS_PMD_EXT_MAX];
    check(em__ws_pmd_negotiate(h, &so, &sp2, resp2, sizeof resp2) == rc);
    if (rc == 1) {
        check(memcmp(&sp, &sp2, sizeof sp) == 0 && strcmp(resp, resp2) == 0);
        check(strlen(resp) < sizeof resp && params_ok(&sp));
        check(sp.server_max_window_bits <= eff(so.server_max_window_bits));
        check(!so.server_no_context_takeover || sp.server_no_context_takeover);
        check(!so.client_no_context_takeover || sp.client_no_context_takeover);
        /* a client that offered "permessage-deflate; client_max_window_bits"
         * reads the answer as the server settled it */
        em_ws_deflate_opts least;
        memset(&least, 0, sizeof least);
        least.enable = true;
        em__ws_pmd_params cp;
        check(em__ws_pmd_accept(em_slice_from_cstr(resp), &least, &cp) == 1);
        check(memcmp(&cp, &sp, sizeof cp) == 0);
        /* a short buffer is refused whole */
        char small[24];
        check(em__ws_pmd_negotiate(h, &so, &sp2, small, sizeof small) ==
              (strlen(resp) < sizeof small ? 1 : EM_ENOBUFS));
    }

    /* the client */
    em__ws_pmd_params cp;
    rc = em__ws_pmd_accept(h, &co, &cp);
    check(rc == 0 || rc == 1 || rc == EM_EPROTO || rc == EM_EINVAL);
    if (rc == EM_EINVAL)
        check(co.enable && !opts_valid(&co));
    if (rc == 1) {
        check(co.enable && params_ok(&cp));
        check(!co.server_no_context_takeover || cp.server_no_context_takeover);
        check(!co.client_no_context_takeover || cp.client_no_context_takeover);
        check(cp.server_max_window_bits <= eff(co.server_max_window_bits));
        check(cp.client_max_window_bits <= eff(co.client_max_window_bits));
    }

    /* the client's offer, to the server */
    char offer[EM__WS_PMD_EXT_MAX];
    ssize_t on = em__ws_pmd_offer(&co, offer, sizeof offer);
    if (!opts_valid(&co)) {
        check(on == EM_EINVAL);
    } else if (!co.enable) {
        check(on == 0 && offer[0] == '\0');
    } else {
        check(on > 0 && (size_t)on == strlen(offer));
        rc = em__ws_pmd_negotiate(em_slice_from_cstr(offer), &so, &sp, resp, sizeof resp);
        if (so.enable && opts_valid(&so)) {
            check(rc == 1);
            check(em__ws_pmd_accept(em_slice_from_cstr(resp), &co, &cp) == 1);
            check(memcmp(&cp, &sp, sizeof cp) == 0);
        }
    }
    free(hdr);
    return 0;
}
