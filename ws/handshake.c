/* The opening handshake's pure parts (RFC 6455 §4): the key and its
 * accept value, and the server's checks of a request, over the parsed
 * request only, so they are tested without a socket. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ws_conn_internal.h"

/* RFC 6455 §1.3: the GUID every accept value is derived with. */
static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void em__ws_accept_key(em_slice key, char out[29]) {
    /* A key is 24 characters; anything much longer was never one, and an
     * empty answer matches no accept value. */
    unsigned char in[128 + sizeof guid], md[SHA_DIGEST_LENGTH];
    if (key.len > 128) {
        out[0] = 0;
        return;
    }
    memcpy(in, key.ptr, key.len);
    memcpy(in + key.len, guid, sizeof guid - 1);
    SHA1(in, key.len + sizeof guid - 1, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH); /* 28 + NUL */
}

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* 16 bytes are 22 characters and "==". The 22nd carries 2 bits and 4 zero
 * bits: a key with those set decodes to 16 bytes only in lenient decoders,
 * and no real encoder writes one. */
bool em__ws_key_valid(em_slice key) {
    if (key.len != 24 || key.ptr[22] != '=' || key.ptr[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (b64_value((unsigned char)key.ptr[i]) < 0)
            return false;
    return (b64_value((unsigned char)key.ptr[21]) & 0xf) == 0;
}

int em__ws_key_new(em_ws_random_cb rnd, void *ctx, char out[25]) {
    unsigned char raw[16];
    int rc = rnd(ctx, raw, sizeof raw);
    if (rc)
        return rc;
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw); /* 24 + NUL */
    return 0;
}

/* ---- the server's checks ------------------------------------------------- */

static bool is_tchar(unsigned char c) {
    /* RFC 9110 §5.6.2 */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool name_is(em_slice name, const char *lit) {
    return em_slice_eq_nocase(name, em_slice_from_cstr(lit));
}

int em__ws_hs_check(const em_http_request *req, em__ws_hs *hs) {
    memset(hs, 0, sizeof *hs);
    if (req->method_id != EM_HTTP_GET)
        return 405; /* RFC 6455 §4.1: the method MUST be GET */
    /* §4.1 asks for HTTP/1.1 or higher; the parser knows only 1.x, and an
     * HTTP/1.0 client cannot hold a connection open by the rules it
     * follows: 505, as for a version ember does not serve. */
    if (req->version_minor != 1)
        return 505;
    /* A body would be read as the first frames (request smuggling). */
    if (req->body != EM_HTTP_BODY_NONE)
        return 400;
    bool upgrade = false, connection = false;
    size_t keys = 0, versions = 0;
    em_slice version = {0};
    for (size_t i = 0; i < req->num_headers; i++) {
        const em_http_header *h = &req->headers[i];
        if (h->id == EM_HTTP_HDR_UPGRADE) {
            upgrade = upgrade || em_http_list_has_token(h->value, EM_SLICE_LIT("websocket"));
        } else if (h->id == EM_HTTP_HDR_CONNECTION) {
            connection = connection || em_http_list_has_token(h->value, EM_SLICE_LIT("upgrade"));
        } else if (h->id != EM_HTTP_HDR_OTHER) {
            continue;
        } else if (name_is(h->name, "Sec-WebSocket-Key")) {
            hs->key = h->value;
            keys++;
        } else if (name_is(h->name, "Sec-WebSocket-Version")) {
            version = h->value;
            versions++;
        } else if (name_is(h->name, "Sec-WebSocket-Extensions")) {
            hs->ext_len += h->value.len + (hs->nextensions ? 1 : 0);
            hs->nextensions++;
        } else if (name_is(h->name, "Origin") && !hs->origin.len) {
            hs->origin = h->value;
        }
    }
    if (!upgrade || !connection)
        return 400;
    /* §4.2.2: a version we do not speak is answered with the one we do. */
    if (versions != 1 || !em_slice_eq(version, EM_SLICE_LIT("13")))
        return 426;
    if (keys != 1 || !em__ws_key_valid(hs->key))
        return 400;
    return 0;
}

/* The next element of a comma-separated list (empty ones skipped, RFC 9110
 * §5.6.1), trimmed; false at the end. */
static bool list_next(em_slice *list, em_slice *el) {
    const char *s = list->ptr, *e = list->ptr + list->len;
    for (;;) {
        while (s < e && (*s == ' ' || *s == '\t' || *s == ','))
            s++;
        if (s == e) {
            *list = em_slice_make(e, 0);
            return false;
        }
        const char *t = s;
        while (s < e && *s != ',')
            s++;
        const char *te = s;
        while (te > t && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        *el = em_slice_make(t, (size_t)(te - t));
        *list = em_slice_make(s, (size_t)(e - s));
        return true;
    }
}

static bool offered(const em_http_request *req, em_slice want) {
    for (size_t i = 0; i < req->num_headers; i++) {
        const em_http_header *h = &req->headers[i];
        if (h->id != EM_HTTP_HDR_OTHER || !name_is(h->name, "Sec-WebSocket-Protocol"))
            continue;
        em_slice list = h->value, el;
        while (list_next(&list, &el))
            if (em_slice_eq(el, want))
                return true;
    }
    return false;
}

int em__ws_hs_protocol(const em_http_request *req, const char *const *protocols) {
    for (size_t i = 0; i < req->num_headers; i++) {
        const em_http_header *h = &req->headers[i];
        if (h->id != EM_HTTP_HDR_OTHER || !name_is(h->name, "Sec-WebSocket-Protocol"))
            continue;
        em_slice list = h->value, el;
        while (list_next(&list, &el))
            for (size_t j = 0; j < el.len; j++)
                if (!is_tchar((unsigned char)el.ptr[j]))
                    return EM_EPARSE; /* RFC 6455 §4.1: each value is a token */
    }
    /* The server's order decides (§4.2.2 leaves the choice to it); names
     * are compared exactly, as the client compares the answer. */
    for (int i = 0; protocols && protocols[i]; i++)
        if (offered(req, em_slice_from_cstr(protocols[i])))
            return i;
    return -1;
}

em_slice em__ws_hs_extensions(const em_http_request *req, const em__ws_hs *hs, char *buf) {
    size_t n = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const em_http_header *h = &req->headers[i];
        if (h->id != EM_HTTP_HDR_OTHER || !name_is(h->name, "Sec-WebSocket-Extensions"))
            continue;
        if (hs->nextensions == 1)
            return h->value; /* the common case: no copy */
        if (n)
            buf[n++] = ',';
        memcpy(buf + n, h->value.ptr, h->value.len);
        n += h->value.len;
    }
    return em_slice_make(buf, n);
}

bool em__ws_hs_wants_websocket(const em_http_request *req) {
    for (size_t i = 0; i < req->num_headers; i++)
        if (req->headers[i].id == EM_HTTP_HDR_UPGRADE &&
            em_http_list_has_token(req->headers[i].value, EM_SLICE_LIT("websocket")))
            return true;
    return false;
}
