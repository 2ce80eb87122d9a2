/* The client's checks of the server's answer to its opening handshake
 * (RFC 6455 §4.1, the list after "If the server's response is validated
 * as provided for above"), as a pure function over a parsed response head
 * so the fuzzer can drive it without a connection. */
#include <string.h>
#include <strings.h>

#include "ws_conn_internal.h"

/* Whether a comma-separated field value lists token (case-insensitive). */
static bool lists_token(em_slice v, const char *token) {
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t' || v.ptr[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.ptr[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v.ptr[e - 1] == ' ' || v.ptr[e - 1] == '\t'))
            e--;
        if (e - s == tl && !strncasecmp(v.ptr + s, token, tl))
            return true;
    }
    return false;
}

static bool any_field_lists(const em_http_response *r, const char *name, const char *token) {
    for (size_t i = 0; i < r->num_headers; i++)
        if (em_slice_eq_nocase(r->headers[i].name, em_slice_from_cstr(name)) &&
            lists_token(r->headers[i].value, token))
            return true;
    return false;
}

/* RFC 6455 §4.1 point 2: every Upgrade field is "websocket" (ASCII
 * case-insensitive) itself, not a list that merely holds it. */
static bool upgrade_is_websocket(const em_http_response *r) {
    bool seen = false;
    for (size_t i = 0; i < r->num_headers; i++) {
        if (!em_slice_eq_nocase(r->headers[i].name, EM_SLICE_LIT("upgrade")))
            continue;
        if (!em_slice_eq_nocase(r->headers[i].value, EM_SLICE_LIT("websocket")))
            return false;
        seen = true;
    }
    return seen;
}

static int bad(const char **why, const char *what) {
    *why = what;
    return EM_EPROTO;
}

int em__ws_client_check(const em_http_response *r, const char *accept,
                        const char *const *protocols, const em_ws_deflate_opts *deflate,
                        char *protocol, size_t cap, em__ws_pmd_params *pmd, bool *deflate_on,
                        const char **why) {
    *deflate_on = false;
    if (cap)
        protocol[0] = 0;
    if (r->status != 101)
        return bad(why, "not a 101");
    /* Upgrade is HTTP/1.1's (RFC 9110 §7.8) and a 1xx never answers
     * HTTP/1.0 (§15.2): an HTTP/1.0 101 switched nothing we asked for. */
    if (r->version_minor != 1)
        return bad(why, "a 101 in HTTP/1.0");
    if (!upgrade_is_websocket(r))
        return bad(why, "no Upgrade: websocket");
    if (!any_field_lists(r, "connection", "upgrade"))
        return bad(why, "no Connection: Upgrade");
    em_slice acc = {0}, proto = {0};
    int naccept = 0, nproto = 0;
    char ext[EM__WS_PMD_EXT_MAX];
    size_t ext_len = 0;
    bool ext_seen = false;
    for (size_t i = 0; i < r->num_headers; i++) {
        em_slice n = r->headers[i].name, v = r->headers[i].value;
        if (em_slice_eq_nocase(n, EM_SLICE_LIT("sec-websocket-accept"))) {
            acc = v;
            naccept++;
        } else if (em_slice_eq_nocase(n, EM_SLICE_LIT("sec-websocket-protocol"))) {
            proto = v;
            nproto++;
        } else if (em_slice_eq_nocase(n, EM_SLICE_LIT("sec-websocket-extensions"))) {
            ext_seen = true;
            if (ext_len + v.len + 1 > sizeof ext)
                return bad(why, "Sec-WebSocket-Extensions too long");
            if (ext_len)
                ext[ext_len++] = ',';
            memcpy(ext + ext_len, v.ptr, v.len);
            ext_len += v.len;
        }
    }
    if (naccept != 1 || !em_slice_eq(acc, em_slice_from_cstr(accept)))
        return bad(why, "wrong Sec-WebSocket-Accept");
    if (nproto) {
        /* exactly one of the offered ones (§4.1, point 6) */
        bool offered = false;
        for (const char *const *p = protocols; nproto == 1 && p && *p; p++)
            offered |= em_slice_eq(proto, em_slice_from_cstr(*p));
        if (!offered || proto.len >= cap)
            return bad(why, "a Sec-WebSocket-Protocol that was not offered");
        memcpy(protocol, proto.ptr, proto.len);
        protocol[proto.len] = 0;
    }
    if (ext_seen) {
        /* §4.1, point 5: only extensions the client asked for */
        if (!deflate || !deflate->enable)
            return bad(why, "an extension that was not offered");
        int rc = em__ws_pmd_accept((em_slice){ext, ext_len}, deflate, pmd);
        if (rc < 0)
            return bad(why, "a permessage-deflate answer that does not fit the offer");
        *deflate_on = rc == 1;
    }
    return 0;
}
