/* TLS records from the peer into an ember TLS connection on a real loop,
 * server side or client side, during the handshake and after it. The peer
 * is an in-process OpenSSL SSL on memory BIOs behind the other end of a
 * socketpair; the input is a program of chunks that either go to the socket
 * as raw records (forged, truncated, oversize, replayed) or make the real
 * peer act (write application data, update keys, close, renegotiate), or
 * make the ember side act (write, pause reading, half-close).
 *
 * Checks: no crash, no leak, the connection ends with a clean status
 * (EM_EOF, EM_ETLSHANDSHAKE, EM_EPROTO, a reset or broken pipe) and closes
 * within a bounded number of loop turns, no handle is left on the loop; and
 * when only the real peer spoke (no raw bytes, nothing disruptive), the
 * plaintext each side wrote arrives at the other whole and in order and the
 * end is EM_EOF.
 *
 * Input: byte 0 is the mode:
 *   bit 0  ember is the client (else the server)
 *   bit 1  run a full handshake with the peer before the program
 *   bit 2  the peer speaks TLS 1.2 only (else up to 1.3)
 *   bit 3  client: em_tls_handshake (else reading drives the handshake);
 *          server: a 1 ms handshake timeout, waited for at the end
 *   bit 4  ember echoes what it reads
 *   bit 5  at the end the peer sends close_notify (else it just closes)
 *   bit 6  the peer client sends SNI "alt.test" (the second certificate)
 *   bit 7  at the end the peer closes its socket at once (else SHUT_WR)
 * then chunks: ctl, length (1 byte; 2 big-endian with ctl bit 7), bytes:
 *   ctl % 4 == 0  raw bytes to the socket, one send
 *   ctl % 4 == 1  the peer SSL_writes the bytes
 *   ctl % 4 == 2  the peer acts, by the first byte % 8: 0 drive its
 *                 handshake, 1 key update (update requested), 2 key update,
 *                 3 close_notify, 4 SHUT_WR, 5 renegotiate, 6 ask for a
 *                 client certificate (TLS 1.3), 7 stop/resume reading its
 *                 socket (ember's writes back up)
 *   ctl % 4 == 3  ember acts, by the first byte % 6: 0 write the rest,
 *                 1 stop reading, 2 start reading, 3 half-close, 4 echo on/off,
 *                 5 write 64 KiB times the next byte % 8 + 1
 * Certificates and contexts are made once per process; every input gets a
 * new loop, socketpair, connection and peer. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ember/tls.h"
#include "fuzz.h"

#define MAX_TURNS 2000
#define INPUT_MAX (1 << 16)

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "tls_records: %s\n", what);
        abort();
    }
}

/* ---- certificates and contexts, once per process -------------------------- */

typedef struct keypair {
    X509 *x;
    EVP_PKEY *key;
    char *cert_pem, *key_pem;
} keypair;

static char *pem_text(BIO *b) {
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    check(s != NULL, "oom");
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static void add_ext(X509 *x, int nid, const char *value) {
    X509V3_CTX v;
    X509V3_set_ctx(&v, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    check(e != NULL, "extension");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A self-signed EC P-256 leaf (as tests/tls/certs.c makes them). */
static void make_cert(keypair *kp, const char *cn, const char *san) {
    kp->key = EVP_EC_gen("P-256");
    kp->x = X509_new();
    check(kp->key && kp->x, "key");
    X509_set_version(kp->x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(kp->x), 1);
    X509_gmtime_adj(X509_getm_notBefore(kp->x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(kp->x), 86400L * 365);
    X509_set_pubkey(kp->x, kp->key);
    X509_NAME *name = X509_get_subject_name(kp->x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(kp->x, name);
    add_ext(kp->x, NID_basic_constraints, "CA:FALSE");
    add_ext(kp->x, NID_subject_alt_name, san);
    check(X509_sign(kp->x, kp->key, EVP_sha256()) > 0, "sign");
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, kp->x);
    kp->cert_pem = pem_text(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, kp->key, NULL, NULL, 0, NULL, NULL);
    kp->key_pem = pem_text(b);
}

static em_tls_cert as_cert(const keypair *kp) {
    return (em_tls_cert){.cert_pem = {kp->cert_pem, strlen(kp->cert_pem)},
                         .key_pem = {kp->key_pem, strlen(kp->key_pem)}};
}

static struct {
    bool ready;
    keypair main, alt;
    em_tls_ctx *server, *server_fast, *client;
    SSL_CTX *peer_server, *peer_client;
} g;

static void setup(void) {
    if (g.ready)
        return;
    make_cert(&g.main, "localhost", "DNS:localhost,IP:127.0.0.1");
    make_cert(&g.alt, "alt.test", "DNS:alt.test");
    em_tls_cert alt = as_cert(&g.alt);
    em_tls_ctx_opts so = {.cert = as_cert(&g.main),
                          .sni_certs = &alt,
                          .sni_count = 1,
                          .alpn = "h2,http/1.1",
                          .handshake_timeout_ms = 600000};
    em_tls_ctx_opts co = {.ca_pem = {g.main.cert_pem, strlen(g.main.cert_pem)}, /* no system store */
                          .alpn = "http/1.1",
                          .insecure = true,
                          .no_resumption = true, /* inputs stay independent */
                          .handshake_timeout_ms = 600000};
    check(em_tls_ctx_new(&g.server, EM_TLS_SERVER, &so) == 0, "server ctx");
    so.handshake_timeout_ms = 1;
    check(em_tls_ctx_new(&g.server_fast, EM_TLS_SERVER, &so) == 0, "server ctx");
    check(em_tls_ctx_new(&g.client, EM_TLS_CLIENT, &co) == 0, "client ctx");

    g.peer_server = SSL_CTX_new(TLS_server_method());
    g.peer_client = SSL_CTX_new(TLS_client_method());
    check(g.peer_server && g.peer_client, "peer ctx");
    check(SSL_CTX_use_certificate(g.peer_server, g.main.x) == 1 &&
              SSL_CTX_use_PrivateKey(g.peer_server, g.main.key) == 1,
          "peer cert");
    SSL_CTX_set_session_cache_mode(g.peer_server, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_cache_mode(g.peer_client, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(g.peer_client, SSL_VERIFY_NONE, NULL);
    /* Renegotiation is the peer's to try; ember refuses it. */
    SSL_CTX_clear_options(g.peer_server, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_clear_options(g.peer_client, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_options(g.peer_client, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_options(g.peer_server, SSL_OP_IGNORE_UNEXPECTED_EOF);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(g.peer_client, alpn, sizeof alpn - 1);
    g.ready = true;
}

/* ---- one input ------------------------------------------------------------ */

typedef struct run {
    em_loop loop;
    em_tcp_conn c;
    int fd;        /* the peer's end of the socketpair, -1 once closed */
    bool peer_wr;  /* the peer's socket write side is open */
    SSL *peer;     /* NULL until the peer first acts */
    BIO *p_in, *p_out;
    bool peer_failed, peer_done;
    bool open, closed, ended, reading, echo, hs_mode, hs_waiting;
    bool dirty; /* raw bytes or a disruptive act: only the end is checked */
    int status; /* the first error ember reported (0: none yet) */
    bool eof;
    em_buf got;       /* plaintext ember read */
    em_buf wrote;     /* plaintext ember's writes accepted */
    em_buf peer_sent; /* plaintext the peer's SSL_write took */
    em_buf peer_got;  /* plaintext the peer read */
    em_buf hold;      /* the peer's ciphertext the socket did not take yet */
    bool ember_shut;  /* ember half-closed */
    bool stalled;     /* the peer does not read its socket */
    bool timeouts;    /* EM_ETIMEDOUT is a clean end (the 1 ms handshake timeout) */
    char reason[200]; /* OpenSSL's, for the first error */
} run;

static size_t n_pending(const run *r) {
    return em_buf_len(&r->hold);
}

static bool same(const em_buf *a, const em_buf *b) {
    size_t n = em_buf_len(a);
    return n == em_buf_len(b) && (n == 0 || memcmp(em_buf_data(a), em_buf_data(b), n) == 0);
}

static void clean_status(const run *r, int st) {
    if (st == EM_EOF || st == EM_ETLSHANDSHAKE || st == EM_EPROTO || st == EM_ECONNRESET ||
        st == EM_EPIPE || (st == EM_ETIMEDOUT && r->timeouts))
        return;
    fprintf(stderr, "tls_records: ember ended with %s (%d)\n", em_err_name(st), st);
    abort();
}

static void on_closed(em_tcp_conn *c) {
    run *r = EM_CONTAINER_OF(c, run, c);
    r->closed = true;
}

static void ember_close(run *r) {
    if (r->open) {
        r->open = false;
        em_tcp_conn_close(&r->c, on_closed);
    }
}

static void ember_write(run *r, const void *p, size_t n) {
    if (!r->open || r->ended || !n)
        return;
    em_slice s = {p, n};
    int rc = em_tcp_conn_write(&r->c, &s, 1, EM_TCP_WRITE_COPY, NULL);
    if (rc == 0)
        check(em_buf_append(&r->wrote, p, n) == 0, "oom");
}

static void on_read(em_tcp_conn *c, ssize_t n) {
    run *r = EM_CONTAINER_OF(c, run, c);
    if (n > 0) {
        em_slice d = em_buf_slice(&c->in);
        check(em_buf_append(&r->got, d.ptr, d.len) == 0, "oom");
        if (r->echo)
            ember_write(r, d.ptr, d.len);
        em_buf_consume(&c->in, d.len);
        return;
    }
    clean_status(r, (int)n);
    if (!r->status) {
        r->status = (int)n;
        snprintf(r->reason, sizeof r->reason, "%s", em_tls_conn_error(c));
    }
    r->reading = false;
    if (n == EM_EOF) {
        r->eof = true;
        r->ended = true;
        r->open = false;
        em_tcp_conn_end(c, on_closed); /* our close_notify, then close */
        return;
    }
    ember_close(r);
}

static const em_tcp_conn_cbs cbs = {.on_read = on_read};

static void on_handshake(em_tcp_conn *c, int status) {
    run *r = EM_CONTAINER_OF(c, run, c);
    r->hs_waiting = false;
    if (status) {
        clean_status(r, status);
        if (!r->status) {
            r->status = status;
            snprintf(r->reason, sizeof r->reason, "%s", em_tls_conn_error(c));
        }
        ember_close(r);
        return;
    }
    r->reading = em_tcp_conn_read_start(c) == 0;
}

/* Ciphertext from ember to the peer's input BIO (or dropped before the peer
 * exists: a raw-only program has nobody listening). */
static bool drain(run *r) {
    char buf[1 << 14];
    bool any = false;
    while (r->fd >= 0 && !r->stalled) {
        ssize_t n = recv(r->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            break;
        any = true;
        if (r->peer)
            BIO_write(r->p_in, buf, (int)n);
    }
    return any;
}

/* The peer's output to the socket; what does not fit waits in `hold`. */
static bool flush_peer(run *r) {
    bool any = false;
    char buf[1 << 14];
    while (r->peer && (n_pending(r) || BIO_ctrl_pending(r->p_out) > 0)) {
        int n = BIO_read(r->p_out, buf, sizeof buf);
        if (n > 0)
            check(em_buf_append(&r->hold, buf, (size_t)n) == 0, "oom");
        if (r->fd < 0 || !r->peer_wr) {
            em_buf_consume(&r->hold, em_buf_len(&r->hold)); /* nobody to hear it */
            continue;
        }
        ssize_t w = send(r->fd, em_buf_data(&r->hold), em_buf_len(&r->hold), MSG_NOSIGNAL);
        if (w <= 0)
            break; /* full, or ember went away: try again later */
        em_buf_consume(&r->hold, (size_t)w);
        any = true;
    }
    return any;
}

static void peer_start(run *r, uint8_t mode) {
    if (r->peer)
        return;
    bool ember_client = mode & 1;
    r->peer = SSL_new(ember_client ? g.peer_server : g.peer_client);
    r->p_in = BIO_new(BIO_s_mem());
    r->p_out = BIO_new(BIO_s_mem());
    check(r->peer && r->p_in && r->p_out, "peer");
    BIO_set_mem_eof_return(r->p_in, -1);
    SSL_set_bio(r->peer, r->p_in, r->p_out);
    if (mode & 4)
        SSL_set_max_proto_version(r->peer, TLS1_2_VERSION);
    if (ember_client) {
        SSL_set_accept_state(r->peer);
    } else {
        SSL_set_connect_state(r->peer);
        const char *sni = mode & 0x40 ? "alt.test" : "localhost"; /* the macro needs a name */
        SSL_set_tlsext_host_name(r->peer, sni);
    }
}

/* Let the peer do what it can: its handshake, then read what ember sent. */
static bool peer_step(run *r) {
    if (!r->peer || r->peer_failed)
        return false;
    bool any = false;
    ERR_clear_error();
    if (!r->peer_done) {
        int rc = SSL_do_handshake(r->peer);
        if (rc == 1) {
            r->peer_done = true;
            any = true;
        } else {
            int e = SSL_get_error(r->peer, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                r->peer_failed = true;
        }
    }
    if (r->peer_done) {
        char buf[1 << 14];
        for (;;) {
            size_t n = 0;
            if (SSL_read_ex(r->peer, buf, sizeof buf, &n)) {
                check(em_buf_append(&r->peer_got, buf, n) == 0, "oom");
                any = true;
                continue;
            }
            int e = SSL_get_error(r->peer, 0);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE &&
                e != SSL_ERROR_ZERO_RETURN)
                r->peer_failed = true;
            break;
        }
    }
    ERR_clear_error();
    return any;
}

/* Turn the loop and shuttle bytes until nothing moves (bounded). */
static void pump(run *r) {
    for (int i = 0; i < 64; i++) {
        em_loop_run(&r->loop, EM_RUN_NOWAIT);
        bool moved = drain(r);
        moved |= peer_step(r);
        moved |= flush_peer(r);
        em_loop_run(&r->loop, EM_RUN_NOWAIT);
        if (!moved && !drain(r))
            break;
    }
}

static void peer_write(run *r, uint8_t mode, const uint8_t *p, size_t n) {
    peer_start(r, mode);
    if (r->peer_failed || !n)
        return;
    size_t w = 0;
    ERR_clear_error();
    if (SSL_write_ex(r->peer, p, n, &w) && w == n && r->fd >= 0 && r->peer_wr)
        check(em_buf_append(&r->peer_sent, p, n) == 0, "oom"); /* else it goes nowhere */
    else
        peer_step(r); /* it may have been mid-handshake: drive it */
    ERR_clear_error();
}

static void peer_act(run *r, uint8_t mode, uint8_t what) {
    peer_start(r, mode);
    ERR_clear_error();
    switch (what % 8) {
    case 0:
        break;
    case 1:
    case 2:
        if (r->peer_done && !r->peer_failed &&
            SSL_key_update(r->peer, what % 8 == 1 ? SSL_KEY_UPDATE_REQUESTED
                                                  : SSL_KEY_UPDATE_NOT_REQUESTED) == 1)
            (void)SSL_do_handshake(r->peer); /* sends it */
        break;
    case 3:
        if (r->peer_done && !r->peer_failed)
            (void)SSL_shutdown(r->peer);
        break;
    case 4:
        if (r->fd >= 0 && r->peer_wr) {
            flush_peer(r);
            if (em_buf_len(&r->hold))
                r->dirty = true; /* ember was not reading: the rest is lost */
            shutdown(r->fd, SHUT_WR);
            r->peer_wr = false;
        }
        break;
    case 5:
        r->dirty = true;
        if (r->peer_done && !r->peer_failed && SSL_renegotiate(r->peer) == 1)
            (void)SSL_do_handshake(r->peer);
        break;
    case 6:
        r->dirty = true;
        if (r->peer_done && !r->peer_failed && (mode & 1)) {
            SSL_set_verify(r->peer, SSL_VERIFY_PEER, NULL);
            if (SSL_verify_client_post_handshake(r->peer) == 1)
                (void)SSL_do_handshake(r->peer);
        }
        break;
    default:
        r->stalled = !r->stalled;
        break;
    }
    ERR_clear_error();
    pump(r);
}

static void ember_act(run *r, const uint8_t *p, size_t n) {
    uint8_t what = n ? p[0] : 0;
    switch (what % 6) {
    case 0:
        if (n > 1)
            ember_write(r, p + 1, n - 1);
        break;
    case 1:
        if (r->open && !r->hs_waiting) {
            em_tcp_conn_read_stop(&r->c);
            r->reading = false;
        }
        break;
    case 2:
        if (r->open && !r->hs_waiting)
            r->reading = em_tcp_conn_read_start(&r->c) == 0;
        break;
    case 3:
        if (r->open && !r->ended) {
            r->ended = r->ember_shut = true; /* writes fail from now on */
            (void)em_tcp_conn_shutdown(&r->c);
        }
        break;
    case 4:
        r->echo = !r->echo;
        break;
    default:
        if (em_buf_len(&r->wrote) < (1 << 21)) {
            size_t big = (size_t)(1 + (n > 1 ? p[1] % 8 : 0)) << 16;
            char *b = malloc(big);
            check(b != NULL, "oom");
            for (size_t i = 0; i < big; i++)
                b[i] = (char)(i * 7 + (i >> 12));
            ember_write(r, b, big);
            free(b);
        }
    }
}

static bool waited;
static void on_wait(em_timer *t) {
    waited = true;
}

/* Give the 1 ms handshake timeout the time to fire, if the handshake has
 * not finished (a timer of ours bounds the blocking turns). */
static void wait_timeout(run *r) {
    em_tls_info info;
    if (em_tls_conn_info(&r->c, &info) != 0 || info.handshake_done)
        return;
    em_timer t;
    em_timer_init(&r->loop, &t, on_wait);
    waited = false;
    em_timer_start(&t, 3, 0);
    for (int i = 0; i < 100 && !waited; i++)
        em_loop_run(&r->loop, EM_RUN_ONCE);
    em_timer_stop(&t);
    pump(r);
}

static void ember_start(run *r, uint8_t mode, int fd) {
    em_tcp_conn_opts o = {.read_max = 1 << 20};
    check(em_tcp_conn_init(&r->loop, &r->c, fd, &cbs, &o) == 0, "conn init");
    r->open = true;
    bool client = mode & 1;
    r->timeouts = !client && (mode & 8);
    r->dirty = r->timeouts; /* whether it fires depends on the machine's speed */
    const em_tls_ctx *ctx = client ? g.client : r->timeouts ? g.server_fast : g.server;
    check(em_tls_attach(&r->c, ctx, client ? "localhost" : NULL) == 0, "attach");
    if (client && (mode & 8)) {
        check(em_tls_handshake(&r->c, &cbs, on_handshake) == 0, "handshake");
        r->hs_mode = r->hs_waiting = true;
    } else {
        check(em_tcp_conn_read_start(&r->c) == 0, "read start");
        r->reading = true;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > INPUT_MAX)
        return 0;
    setup();
    ERR_clear_error();
    uint8_t mode = data[0];
    data++, size--;

    run *r = calloc(1, sizeof *r);
    check(r != NULL, "oom");
    check(em_loop_init(&r->loop) == 0, "loop");
    em_buf_init(&r->got, 1 << 20);
    em_buf_init(&r->wrote, 1 << 23);
    em_buf_init(&r->peer_sent, 1 << 20);
    em_buf_init(&r->peer_got, 1 << 22);
    em_buf_init(&r->hold, 1 << 24);
    r->echo = (mode & 0x10) != 0;
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0, "pair");
    r->fd = sv[1];
    r->peer_wr = true;
    ember_start(r, mode, sv[0]);

    if (mode & 2) { /* "after": a real handshake first */
        peer_start(r, mode);
        pump(r);
        if (!r->timeouts) /* a 1 ms timeout may well end it on a loaded machine */
            check(r->peer_done && !r->peer_failed && !r->status,
                  "the handshake with the peer failed");
    } else {
        pump(r);
    }

    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t ctl = data[off++];
        size_t n = data[off++];
        if ((ctl & 0x80) && off < size)
            n = n << 8 | data[off++];
        if (n > size - off)
            n = size - off;
        const uint8_t *p = data + off;
        off += n;
        switch (ctl % 4) {
        case 0:
            r->dirty = true;
            if (r->fd >= 0 && r->peer_wr && n) {
                flush_peer(r);
                (void)send(r->fd, p, n, MSG_NOSIGNAL);
            }
            pump(r);
            break;
        case 1:
            peer_write(r, mode, p, n);
            pump(r);
            break;
        case 2:
            peer_act(r, mode, n ? p[0] : 0);
            break;
        default:
            ember_act(r, p, n);
            pump(r);
        }
    }

    /* Everything said arrives, then the end. */
    r->stalled = false;
    if (r->timeouts && r->open)
        wait_timeout(r);
    if (r->open && !r->hs_waiting && !r->reading && !r->eof)
        r->reading = em_tcp_conn_read_start(&r->c) == 0;
    pump(r);
    /* A peer that only spoke TLS after a good handshake is heard in full;
     * only ember's own half-close may end its writing early. */
    bool clean = !r->dirty && (mode & 2) && !r->ember_shut;
    if (clean) {
        check(!r->peer_failed, "the peer failed though only it spoke");
        check(!r->status || r->status == EM_EOF, "ember failed though only the peer spoke");
    }
    if (clean) { /* EM_EOF too: everything before the end arrived */
        check(same(&r->got, &r->peer_sent), "ember did not read what the peer wrote");
        check(same(&r->peer_got, &r->wrote), "the peer did not read what ember wrote");
    }
    bool notify = (mode & 0x20) && r->peer && r->peer_done && !r->peer_failed;
    if (notify) {
        ERR_clear_error();
        (void)SSL_shutdown(r->peer);
        ERR_clear_error();
        flush_peer(r);
    }
    if (r->fd >= 0 && (mode & 0x80)) { /* gone at once: ember's writes fail */
        close(r->fd);
        r->fd = -1;
    }
    if (r->fd >= 0 && r->peer_wr) {
        shutdown(r->fd, SHUT_WR);
        r->peer_wr = false;
    }
    int turns = 0;
    for (; turns < MAX_TURNS && !r->closed; turns++) {
        if (!r->open && !r->ended)
            break; /* closed by us: the callback comes next turn */
        em_loop_run(&r->loop, EM_RUN_NOWAIT);
        drain(r);
        if (turns == MAX_TURNS / 2 && r->fd >= 0) { /* a peer that stops reading */
            close(r->fd);
            r->fd = -1;
        }
    }
    if (!r->closed && r->open) {
        fprintf(stderr, "tls_records: the connection did not end (status %d, open %d)\n",
                r->status, r->open);
        abort();
    }
    if (clean && notify)
        check(r->status == EM_EOF, "a close_notify must read as EM_EOF");
    for (int i = 0; i < 10 && !r->closed; i++)
        em_loop_run(&r->loop, EM_RUN_NOWAIT);
    check(r->closed, "the close callback did not run");
    if (getenv("TLS_RECORDS_TRACE")) /* what an input did, for triage */
        fprintf(stderr,
                "tls_records: mode %#x dirty %d clean %d peer %s status %s got %zu/%zu "
                "peer_got %zu/%zu turns %d reason \"%s\"\n",
                mode, r->dirty, clean,
                !r->peer ? "none" : r->peer_failed ? "failed" : r->peer_done ? "done" : "mid",
                r->status ? em_err_name(r->status) : "-", em_buf_len(&r->got),
                em_buf_len(&r->peer_sent), em_buf_len(&r->peer_got), em_buf_len(&r->wrote), turns,
                r->reason);
    if (r->fd >= 0)
        close(r->fd);
    SSL_free(r->peer); /* and its BIOs */
    em_loop_run(&r->loop, EM_RUN_NOWAIT);
    check(em_loop_close(&r->loop) == 0, "a handle was left on the loop");
    em_buf_free(&r->got);
    em_buf_free(&r->wrote);
    em_buf_free(&r->peer_sent);
    em_buf_free(&r->peer_got);
    em_buf_free(&r->hold);
    free(r);
    return 0;
}
