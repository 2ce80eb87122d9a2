/* Fuzz the WebSocket client's check of a server's handshake answer
 * (ws/client_check.c, and the permessage-deflate answer parser it calls in
 * ws/deflate_negotiate.c): the input's first byte picks what the client
 * offered (subprotocols, permessage-deflate and its parameters); the rest
 * is a response head, parsed with the HTTP response parser as the client
 * does. Whenever the check accepts, what it settled must be something the
 * client offered: no protocol or one of the offered ones, deflate only if
 * offered, window bits within 8..15 and no larger than the client allowed
 * for its own side. Any violation aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "../../ws/ws_conn_internal.h"
#include "ember/ws.h"

/* RFC 6455 §1.3's example key and its accept value. */
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void check(bool ok) {
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++, size--;
    static const char *const protos[] = {"chat", "superchat", NULL};
    em_ws_deflate_opts d = {.enable = (ctl & 1) != 0,
                            .server_no_context_takeover = (ctl & 2) != 0,
                            .client_no_context_takeover = (ctl & 4) != 0,
                            .client_max_window_bits = (ctl & 8) ? 10 : 0,
                            .server_max_window_bits = (ctl & 16) ? 12 : 0};
    const char *const *offered = (ctl & 32) ? protos : NULL;

    em_http_limits lim = {0};
    em_http_parser p;
    em_http_parser_init(&p, &lim);
    em_http_header hdrs[64];
    em_http_response r;
    memset(&r, 0, sizeof r);
    r.headers = hdrs;
    r.max_headers = 64;
    ssize_t n = em_http_parse_response(&p, (const char *)data, size, EM_HTTP_GET, &r);
    if (n <= 0)
        return 0;
    char protocol[64];
    em__ws_pmd_params pmd;
    memset(&pmd, 0xAA, sizeof pmd);
    bool deflate_on = true;
    const char *why = NULL;
    int rc = em__ws_client_check(&r, ACCEPT, offered, &d, protocol, sizeof protocol, &pmd,
                                 &deflate_on, &why);
    if (rc) {
        check(rc == EM_EPROTO && why && *why);
        return 0;
    }
    check(r.status == 101);
    if (protocol[0]) {
        check(offered != NULL);
        check(!strcmp(protocol, protos[0]) || !strcmp(protocol, protos[1]));
    }
    if (deflate_on) {
        check(d.enable);
        check(pmd.server_max_window_bits >= 8 && pmd.server_max_window_bits <= 15);
        check(pmd.client_max_window_bits >= 8 && pmd.client_max_window_bits <= 15);
        if (d.client_max_window_bits)
            check(pmd.client_max_window_bits <= d.client_max_window_bits);
        if (d.client_no_context_takeover)
            check(pmd.client_no_context_takeover);
    }
    return 0;
}
