/* The opening handshake's pure parts: keys and accept values (RFC 6455
 * §1.3, §4.1) and the server's checks of a parsed request (§4.2.1). */
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ws_conn_internal.h"

/* ---- keys ------------------------------------------------------------------ */

static void test_accept_key_rfc_example(void **state) {
    (void)state;
    char out[29];
    memset(out, 'x', sizeof out);
    em__ws_accept_key(EM_SLICE_LIT("dGhlIHNhbXBsZSBub25jZQ=="), out);
    /* RFC 6455 §1.3's value (Python's hashlib and base64 agree). */
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* RFC 6455 §4.1's second example key, answered as Python's websockets
     * and node's ws answer it. */
    em__ws_accept_key(EM_SLICE_LIT("x3JJHMbDL1EzLkh9GBhXDw=="), out);
    assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

static void test_accept_key_long_input(void **state) {
    (void)state;
    char key[200], out[29];
    memset(key, 'A', sizeof key);
    em__ws_accept_key(em_slice_make(key, sizeof key), out);
    assert_string_equal(out, ""); /* never a key: an answer that matches nothing */
}

static bool valid(const char *k) {
    return em__ws_key_valid(em_slice_from_cstr(k));
}

static void test_key_valid_edges(void **state) {
    (void)state;
    assert_true(valid("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_true(valid("AAAAAAAAAAAAAAAAAAAAAA=="));
    assert_true(valid("/////////////////////w=="));
    assert_true(valid("+++++++++++++++++++++g=="));
    assert_false(valid(""));
    assert_false(valid("dGhlIHNhbXBsZSBub25jZQ="));   /* 23 characters */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZQ===")); /* 25 characters */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZQAA"));  /* no padding: 18 bytes */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZQ=A"));  /* padding out of place */
    assert_false(valid("dGhlIHNhbXBsZSBub25j=Q=="));  /* '=' inside */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZ*=="));  /* not base64 */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZ-=="));  /* base64url is not base64 */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZ Q="));  /* a space */
    assert_false(valid("dGhlIHNhbXBsZSBub25j"));      /* 15 bytes */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZQA="));  /* 17 bytes */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZR=="));  /* trailing bits set */
    assert_false(valid("dGhlIHNhbXBsZSBub25jZf=="));
    /* A NUL inside is a byte like any other, and not base64. */
    assert_false(em__ws_key_valid(em_slice_make("dGhlIHNhbXBsZSBub25j\0Q==", 24)));
}

static int fixed_rnd(void *ctx, void *out, size_t n) {
    memset(out, *(int *)ctx, n);
    return 0;
}
static int failing_rnd(void *ctx, void *out, size_t n) {
    (void)ctx, (void)out, (void)n;
    return EM_EIO;
}

static void test_key_new(void **state) {
    (void)state;
    char a[25], b[25];
    for (int i = 0; i < 64; i++) {
        assert_int_equal(em__ws_key_new(em_ws_random_os, NULL, a), 0);
        assert_int_equal(em__ws_key_new(em_ws_random_os, NULL, b), 0);
        assert_int_equal(strlen(a), 24);
        assert_true(valid(a));
        assert_true(valid(b));
        assert_string_not_equal(a, b);
    }
    int byte = 0;
    assert_int_equal(em__ws_key_new(fixed_rnd, &byte, a), 0);
    assert_string_equal(a, "AAAAAAAAAAAAAAAAAAAAAA==");
    byte = 0xff;
    assert_int_equal(em__ws_key_new(fixed_rnd, &byte, a), 0);
    assert_string_equal(a, "/////////////////////w==");
    assert_int_equal(em__ws_key_new(failing_rnd, NULL, a), EM_EIO);
}

/* ---- the server's checks ------------------------------------------------------ */

typedef struct parsed {
    char text[2048];
    em_http_header h[32];
    em_http_request req;
} parsed;

/* Parse a request head (the \r\n\r\n is added). */
static em_http_request *parse(parsed *p, const char *head) {
    int n = snprintf(p->text, sizeof p->text, "%s\r\n", head);
    assert_true(n > 0 && (size_t)n < sizeof p->text);
    p->req = (em_http_request){.headers = p->h, .max_headers = 32};
    em_http_parser ps;
    em_http_parser_init(&ps, NULL);
    ssize_t r = em_http_parse_request(&ps, p->text, (size_t)n, &p->req);
    assert_true(r > 0);
    return &p->req;
}

#define KEY  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VER  "Sec-WebSocket-Version: 13\r\n"
#define UPG  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define HOST "Host: example.com\r\n"

static int check(const char *head) {
    parsed p;
    em__ws_hs hs;
    return em__ws_hs_check(parse(&p, head), &hs);
}

static void test_check_valid(void **state) {
    (void)state;
    parsed p;
    em__ws_hs hs;
    em_http_request *r =
        parse(&p, "GET /chat HTTP/1.1\r\n" HOST UPG KEY VER "Origin: http://example.com\r\n"
                  "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    assert_int_equal(em__ws_hs_check(r, &hs), 0);
    assert_true(em_slice_eq(hs.key, EM_SLICE_LIT("dGhlIHNhbXBsZSBub25jZQ==")));
    assert_true(em_slice_eq(hs.origin, EM_SLICE_LIT("http://example.com")));
    assert_int_equal(hs.nextensions, 1);
    /* Tokens in lists, any case, several fields. */
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST KEY VER
                           "Upgrade: foo/2, WebSocket\r\nConnection: keep-alive, UPGRADE\r\n"),
                     0);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST KEY VER "Upgrade: websocket\r\n"
                           "Connection: keep-alive\r\nConnection: upgrade\r\n"),
                     0);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST KEY VER "Upgrade: h2c\r\n"
                           "Upgrade: websocket\r\nConnection: upgrade\r\n"),
                     0);
    /* Content-Length: 0 is no body. */
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG KEY VER "Content-Length: 0\r\n"), 0);
    /* No Origin: empty. */
    r = parse(&p, "GET / HTTP/1.1\r\n" HOST UPG KEY VER);
    assert_int_equal(em__ws_hs_check(r, &hs), 0);
    assert_int_equal(hs.origin.len, 0);
    assert_int_equal(hs.nextensions, 0);
}

static void test_check_refusals(void **state) {
    (void)state;
    assert_int_equal(check("POST / HTTP/1.1\r\n" HOST UPG KEY VER), 405);
    assert_int_equal(check("HEAD / HTTP/1.1\r\n" HOST UPG KEY VER), 405);
    assert_int_equal(check("get / HTTP/1.1\r\n" HOST UPG KEY VER), 405);
    assert_int_equal(check("GET / HTTP/1.0\r\n" HOST UPG KEY VER), 505);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG KEY VER "Content-Length: 5\r\n"), 400);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG KEY VER "Transfer-Encoding: chunked\r\n"),
                     400);
    /* Upgrade and Connection. */
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST KEY VER "Connection: Upgrade\r\n"), 400);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST KEY VER "Upgrade: websocket\r\n"), 400);
    assert_int_equal(
        check("GET / HTTP/1.1\r\n" HOST KEY VER "Upgrade: h2c\r\nConnection: Upgrade\r\n"), 400);
    assert_int_equal(
        check("GET / HTTP/1.1\r\n" HOST KEY VER "Upgrade: websocketx\r\nConnection: Upgrade\r\n"),
        400);
    assert_int_equal(
        check("GET / HTTP/1.1\r\n" HOST KEY VER "Upgrade: websocket\r\nConnection: keep-alive\r\n"),
        400);
    assert_int_equal(
        check("GET / HTTP/1.1\r\n" HOST KEY VER "Upgrade: websocket\r\nConnection: upgraded\r\n"),
        400);
    /* The version: exactly one 13. */
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG KEY), 426);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG KEY "Sec-WebSocket-Version: 8\r\n"), 426);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG KEY "Sec-WebSocket-Version: 13, 8\r\n"),
                     426);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG KEY VER VER), 426);
    /* The key: exactly one, valid. */
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG VER), 400);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG KEY KEY VER), 400);
    assert_int_equal(
        check("GET / HTTP/1.1\r\n" HOST UPG VER "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n"),
        400);
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG VER "Sec-WebSocket-Key:\r\n"), 400);
    /* The order: the version is checked before the key. */
    assert_int_equal(check("GET / HTTP/1.1\r\n" HOST UPG "Sec-WebSocket-Version: 7\r\n"), 426);
}

static int protocol(const char *fields, const char *const *protocols) {
    parsed p;
    char head[1024];
    snprintf(head, sizeof head, "GET / HTTP/1.1\r\n" HOST UPG KEY VER "%s", fields);
    return em__ws_hs_protocol(parse(&p, head), protocols);
}

static void test_protocol_choice(void **state) {
    (void)state;
    static const char *const ours[] = {"superchat", "chat", NULL};
    /* Ours decide: superchat is offered second but is our first. */
    assert_int_equal(protocol("Sec-WebSocket-Protocol: chat, superchat\r\n", ours), 0);
    assert_int_equal(protocol("Sec-WebSocket-Protocol: chat\r\n", ours), 1);
    /* Several fields. */
    assert_int_equal(
        protocol("Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: y, chat\r\n", ours), 1);
    assert_int_equal(protocol("Sec-WebSocket-Protocol: x\r\n"
                              "Sec-WebSocket-Protocol: superchat\r\n",
                              ours),
                     0);
    /* Empty list elements are allowed (RFC 9110 §5.6.1). */
    assert_int_equal(protocol("Sec-WebSocket-Protocol: , ,chat,\r\n", ours), 1);
    /* Nothing in common, nothing offered, nothing of ours. */
    assert_int_equal(protocol("Sec-WebSocket-Protocol: x, y\r\n", ours), -1);
    assert_int_equal(protocol("", ours), -1);
    assert_int_equal(protocol("Sec-WebSocket-Protocol: chat\r\n", NULL), -1);
    /* Exact names: no case folding, no prefixes. */
    assert_int_equal(protocol("Sec-WebSocket-Protocol: Chat\r\n", ours), -1);
    assert_int_equal(protocol("Sec-WebSocket-Protocol: cha\r\n", ours), -1);
    assert_int_equal(protocol("Sec-WebSocket-Protocol: chats\r\n", ours), -1);
    /* Not tokens. */
    assert_int_equal(protocol("Sec-WebSocket-Protocol: chat, a b\r\n", ours), EM_EPARSE);
    assert_int_equal(protocol("Sec-WebSocket-Protocol: \"chat\"\r\n", ours), EM_EPARSE);
    assert_int_equal(protocol("Sec-WebSocket-Protocol: chat;q=1\r\n", ours), EM_EPARSE);
}

static void test_extensions_joined(void **state) {
    (void)state;
    parsed p;
    em__ws_hs hs;
    em_http_request *r =
        parse(&p, "GET / HTTP/1.1\r\n" HOST UPG KEY VER
                  "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    assert_int_equal(em__ws_hs_check(r, &hs), 0);
    em_slice one = em__ws_hs_extensions(r, &hs, NULL);
    assert_true(em_slice_eq(one, EM_SLICE_LIT("permessage-deflate; client_max_window_bits")));
    assert_true(one.ptr > p.text && one.ptr < p.text + sizeof p.text); /* not copied */

    r = parse(&p, "GET / HTTP/1.1\r\n" HOST UPG KEY VER "Sec-WebSocket-Extensions: foo, bar\r\n"
                  "X-Other: 1\r\n"
                  "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    assert_int_equal(em__ws_hs_check(r, &hs), 0);
    assert_int_equal(hs.nextensions, 2);
    assert_int_equal(hs.ext_len, strlen("foo, bar,permessage-deflate"));
    char buf[64];
    em_slice all = em__ws_hs_extensions(r, &hs, buf);
    assert_true(em_slice_eq(all, EM_SLICE_LIT("foo, bar,permessage-deflate")));
    assert_ptr_equal(all.ptr, buf);

    r = parse(&p, "GET / HTTP/1.1\r\n" HOST UPG KEY VER);
    assert_int_equal(em__ws_hs_check(r, &hs), 0);
    assert_int_equal(em__ws_hs_extensions(r, &hs, NULL).len, 0);
}

static void test_wants_websocket(void **state) {
    (void)state;
    parsed p;
    assert_true(em__ws_hs_wants_websocket(parse(&p, "GET / HTTP/1.1\r\n" HOST UPG)));
    assert_true(em__ws_hs_wants_websocket(
        parse(&p, "GET / HTTP/1.1\r\n" HOST "Upgrade: h2c\r\nUpgrade: WebSocket\r\n")));
    assert_false(em__ws_hs_wants_websocket(parse(&p, "GET / HTTP/1.1\r\n" HOST)));
    assert_false(
        em__ws_hs_wants_websocket(parse(&p, "GET / HTTP/1.1\r\n" HOST "Upgrade: h2c\r\n")));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_rfc_example),
        cmocka_unit_test(test_accept_key_long_input),
        cmocka_unit_test(test_key_valid_edges),
        cmocka_unit_test(test_key_new),
        cmocka_unit_test(test_check_valid),
        cmocka_unit_test(test_check_refusals),
        cmocka_unit_test(test_protocol_choice),
        cmocka_unit_test(test_extensions_joined),
        cmocka_unit_test(test_wants_websocket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
