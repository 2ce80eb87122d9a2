/* Fuzz the HTTP client's response path (http/client_conn.c and below) with
 * a fuzzed server: the input's first byte picks the request (GET or HEAD,
 * decoding on or off, redirects followed or not, small or default limits,
 * one write or many small ones), the rest is what a server on 127.0.0.1
 * sends back before it closes. Every run must end with on_done exactly
 * once (or with the call cancelled by a bounded deadline), no crash, no
 * leak, and a success only after one head and with a body within the
 * limit. A head's status is any three digits but an interim 1xx (a
 * status outside 100..599 is kept as it came and framed as a 5xx, RFC
 * 9110 §15). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "ember/http.h"

static void check(bool ok) {
    if (!ok)
        abort();
}

typedef struct peer {
    em_tcp_conn c;
    const uint8_t *data;
    size_t len, off, step;
} peer;

static struct {
    bool init;
    em_loop loop;
    em_dns_resolver res;
    em_tcp_server srv;
    uint16_t port;
    const uint8_t *data;
    size_t len;
    size_t step;
    int open;
} g;

static void peer_closed(em_tcp_conn *c) {
    free(EM_CONTAINER_OF(c, peer, c));
    g.open--;
}

/* Send the next piece each time the client sends anything, then close. */
static void peer_read(em_tcp_conn *c, ssize_t n) {
    peer *p = EM_CONTAINER_OF(c, peer, c);
    if (n < 0) {
        em_tcp_conn_close(c, peer_closed);
        return;
    }
    em_buf_clear(&c->in);
    if (p->off >= p->len)
        return;
    size_t k = p->len - p->off;
    if (p->step && k > p->step)
        k = p->step;
    em_slice s = {(const char *)p->data + p->off, k};
    p->off += k;
    if (em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL) != 0 || p->off >= p->len)
        em_tcp_conn_end(c, peer_closed);
}

static const em_tcp_conn_cbs peer_cbs = {.on_read = peer_read};

static void on_accept(em_tcp_server *srv, int fd, const em_sockaddr *a) {
    (void)srv;
    (void)a;
    peer *p = calloc(1, sizeof *p);
    check(p != NULL);
    p->data = g.data;
    p->len = g.len;
    p->step = g.step;
    check(em_tcp_conn_init(&g.loop, &p->c, fd, &peer_cbs, NULL) == 0);
    check(em_tcp_conn_read_start(&p->c) == 0);
    g.open++;
}

static void setup(void) {
    check(em_loop_init(&g.loop) == 0);
    em_dns_resolver_opts ro = {.hosts_file = "", .servers = "127.0.0.1:9", .no_cache = true};
    check(em_dns_resolver_init(&g.loop, &g.res, &ro) == 0);
    em_sockaddr any = em_sockaddr_loopback4(0), bound;
    check(em_tcp_server_start(&g.loop, &g.srv, &any, NULL, on_accept) == 0);
    check(em_tcp_listener_addr(&g.srv.listener, &bound) == 0);
    g.port = em_sockaddr_port(&bound);
    g.init = true;
}

typedef struct result {
    int dones, err, status, heads;
    uint64_t body;
    uint64_t max;
} result;

static void on_head(em_http_call *call, const em_http_response *r) {
    result *x = em_http_call_data(call);
    check(r->status >= 0 && r->status <= 999 && (r->status < 100 || r->status >= 200));
    x->status = r->status;
    x->heads++;
}

static void on_body(em_http_call *call, em_slice piece) {
    result *x = em_http_call_data(call);
    check(piece.len > 0);
    x->body += piece.len;
}

static void on_done(em_http_call *call, int err) {
    result *x = em_http_call_data(call);
    x->dones++;
    x->err = err;
    check(err <= 0);
    check(em_http_call_error(call) != NULL);
    if (!err)
        check(x->heads == 1 && x->body <= x->max);
    else
        check(em_http_call_error(call)[0] != 0);
}

static const em_http_client_cbs cbs = {.on_head = on_head, .on_body = on_body, .on_done = on_done};

static void closed(void *arg) {
    *(bool *)arg = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g.init)
        setup();
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    g.data = data + 1;
    g.len = size - 1;
    g.step = (ctl & 0x10) ? 1 + (ctl >> 5) : 0;
    em_http_limits small = {.max_header_bytes = 512, .max_headers = 8, .max_body = 4096};
    em_http_client_opts o = {.resolver = &g.res,
                             .head_timeout_ms = 300,
                             .read_timeout_ms = 300,
                             .connect_timeout_ms = 2000,
                             .decompress = (ctl & 2) ? 1 : -1,
                             .limits = (ctl & 4) ? &small : NULL};
    em_http_client *cl;
    check(em_http_client_new(&cl, &g.loop, &o) == 0);
    result x = {.max = (ctl & 4) ? 4096 : UINT64_MAX};
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/f", (unsigned)g.port);
    em_http_req req = {.url = url,
                       .method = (ctl & 1) ? "HEAD" : "GET",
                       .max_redirects = (ctl & 8) ? 3 : 0,
                       .timeout_ms = 3000};
    check(em_http_client_do(cl, &req, &cbs, &x, NULL) == 0);
    for (int i = 0; i < 100000 && !x.dones; i++)
        em_loop_run(&g.loop, EM_RUN_ONCE);
    check(x.dones == 1);
    bool done = false;
    em_http_client_close(cl, closed, &done);
    for (int i = 0; i < 100000 && (!done || g.open); i++)
        em_loop_run(&g.loop, EM_RUN_NOWAIT);
    check(done);
    check(x.dones == 1);
    return 0;
}
