/* One SSL between two ember buffers, over a socket: the handshake, reads,
 * writes and close_notify, for the loop transport (nonblocking fd) and the
 * blocking stream alike. The engine does the socket I/O itself (recv into
 * the buffer SSL reads, send from the buffer SSL wrote) and says which
 * direction an EM_EAGAIN waits for in e->want. Errors are sticky. */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "tls_internal.h"

/* Ciphertext asked of the socket per recv: one full record and then some. */
#define PULL_CHUNK (17 * 1024)
/* Plaintext one writev takes at most, and per record when gathering. */
#define TAKE_MAX (64 * 1024)
#define RECORD   16384
/* Bounds of the ciphertext buffers (writes stop taking long before). */
#define IN_MAX  (256 * 1024)
#define OUT_MAX (4 * 1024 * 1024)

/* SSL_get_error needs an empty error queue; looking costs a quarter of
 * clearing (OpenSSL 3 clears per-thread state entry by entry). */
static inline void clear_errors(void) {
    if (ERR_peek_error())
        ERR_clear_error();
}

char *em__tls_reason(em__tls_eng *e) {
    if (!e->reason)
        e->reason = calloc(1, EM__TLS_REASON_LEN);
    return e->reason;
}

static int fail(em__tls_eng *e, int err, const char *why) {
    char *r = why && (!e->reason || !e->reason[0]) ? em__tls_reason(e) : NULL;
    if (r)
        snprintf(r, EM__TLS_REASON_LEN, "%s", why);
    e->err = err;
    return err;
}

static int ssl_fail(em__tls_eng *e, int dflt) {
    char none[1] = "", *r = em__tls_reason(e);
    e->err = em__tls_error(e->ssl, dflt, r ? r : none, r ? EM__TLS_REASON_LEN : sizeof none);
    if (r && e->b.eof && !r[0])
        snprintf(r, EM__TLS_REASON_LEN, "connection closed by the peer");
    return e->err;
}

/* Receive ciphertext for SSL: > 0, 0 at the socket's end, EM_EAGAIN, err. */
static ssize_t pull(em__tls_eng *e, int fd) {
    if (e->b.eof)
        return 0;
    int err = em_buf_reserve(&e->b.in, PULL_CHUNK);
    if (err)
        return err;
    for (;;) {
        ssize_t n = recv(fd, em_buf_wptr(&e->b.in), PULL_CHUNK, 0);
        if (n > 0) {
            em_buf_commit(&e->b.in, (size_t)n);
            return n;
        }
        if (n == 0) {
            e->b.eof = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? EM_EAGAIN : em_err_from_errno(errno);
    }
}

/* Send held ciphertext: 0 once none is left (its buffer is released, so an
 * idle connection holds none), EM_EAGAIN, err. */
static int push(em__tls_eng *e, int fd) {
    while (em_buf_len(&e->b.out) > 0) {
        ssize_t n = send(fd, em_buf_data(&e->b.out), em_buf_len(&e->b.out), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? EM_EAGAIN : em_err_from_errno(errno);
        }
        em_buf_consume(&e->b.out, (size_t)n);
    }
    if (em_buf_cap(&e->b.out))
        em_buf_free(&e->b.out);
    return 0;
}

/* SSL_get_shutdown cannot tell the peer's close_notify from the socket's
 * end (SSL_OP_IGNORE_UNEXPECTED_EOF marks both as received); the alert
 * itself can. Only a real close_notify is answered with ours: a FIN alone
 * may be a truncation, never to be vouched for. */
static void on_info(const SSL *ssl, int where, int ret) {
    if ((where & SSL_CB_READ_ALERT) && (ret & 0xff) == SSL_AD_CLOSE_NOTIFY) {
        em__tls_eng *e = SSL_get_app_data(ssl);
        e->flags |= EM__TLS_PEER_NOTIFY;
    }
}

static bool is_ip(const char *name) {
    em_ip ip;
    return em_ip_parse(&ip, name, strlen(name)) == 0;
}

int em__tls_eng_new(em__tls_eng **out, const em_tls_ctx *ctx, const char *name) {
    if (!ctx || (name && strlen(name) >= sizeof((struct em__tls_sess *)0)->name))
        return EM_EINVAL;
    em__tls_eng *e = calloc(1, sizeof *e);
    if (!e)
        return EM_ENOMEM;
    e->ctx = (em_tls_ctx *)ctx; /* only its mutex-guarded session cache changes */
    em_buf_init(&e->b.in, IN_MAX);
    em_buf_init(&e->b.out, OUT_MAX);
    e->ssl = SSL_new(ctx->ssl);
    if (!e->ssl || em__tls_bio_attach(e->ssl, ctx->bio, &e->b) != 0) {
        em__tls_eng_free(e);
        return EM_ENOMEM;
    }
    SSL_set_app_data(e->ssl, e);
    SSL_set_info_callback(e->ssl, on_info);
    if (ctx->role == EM_TLS_SERVER) {
        SSL_set_accept_state(e->ssl);
        *out = e;
        return 0;
    }
    SSL_set_connect_state(e->ssl);
    /* Verifying without a name would take any certificate a trusted CA
     * issued to anyone (RFC 9525 §6.1: the reference identity is what the
     * user asked for). */
    if (!ctx->insecure && (!name || !*name)) {
        em__tls_eng_free(e);
        return EM_EINVAL;
    }
    int ok = 1;
    char host[sizeof((struct em__tls_sess *)0)->name];
    if (name && *name) {
        /* RFC 6066 §3: the HostName goes "without a trailing dot"; the
         * absolute name is the same host for the certificate too. An IPv6
         * literal may come in its URL brackets. */
        size_t n = strlen(name);
        if (n > 1 && name[n - 1] == '.')
            n--;
        if (n > 2 && name[0] == '[' && name[n - 1] == ']')
            name++, n -= 2;
        memcpy(host, name, n);
        host[n] = '\0';
        name = host;
    }
    if (name && *name) {
        if (is_ip(name)) { /* RFC 6066 §3: no SNI for literals */
            if (!ctx->insecure)
                ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(e->ssl), name);
        } else {
            ok = SSL_set_tlsext_host_name(e->ssl, name);
            if (ok && !ctx->insecure) {
                /* RFC 9525 §6.3: DNS-IDs only, never the subject's CN
                 * (OpenSSL falls back to it when no DNS SAN is there,
                 * even beside IP SANs). */
                SSL_set_hostflags(e->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
                                              X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
                ok = SSL_set1_host(e->ssl, name);
            }
        }
        if (ctx->resumption && !(e->sess_name = strdup(name))) {
            em__tls_eng_free(e);
            return EM_ENOMEM;
        }
        SSL_SESSION *s = em__tls_sess_take(e->ctx, name);
        if (s) {
            ok = ok && SSL_set_session(e->ssl, s);
            SSL_SESSION_free(s);
        }
    }
    if (!ok) {
        ERR_clear_error();
        em__tls_eng_free(e);
        return EM_EINVAL;
    }
    *out = e;
    return 0;
}

void em__tls_eng_free(em__tls_eng *e) {
    if (!e)
        return;
    SSL_free(e->ssl); /* and its BIO */
    free(e->sess_name);
    free(e->reason);
    em_buf_free(&e->b.in);
    em_buf_free(&e->b.out);
    free(e);
}

int em__tls_eng_handshake(em__tls_eng *e, int fd) {
    while (!e->err && !(e->flags & EM__TLS_HS_DONE)) {
        clear_errors();
        int r = SSL_do_handshake(e->ssl);
        int perr = r == 1 ? SSL_ERROR_NONE : SSL_get_error(e->ssl, r);
        int f = push(e, fd); /* our flight, or the alert that ends it */
        if (perr != SSL_ERROR_NONE && perr != SSL_ERROR_WANT_READ)
            return ssl_fail(e, EM_ETLSHANDSHAKE);
        if (f && f != EM_EAGAIN)
            return fail(e, f, NULL);
        if (r == 1) {
            e->flags |= EM__TLS_HS_DONE;
            /* TLS 1.2 reports no session on resumption, even with a renewed
             * ticket; its tickets may be reused (RFC 5077 §3.3, unlike 1.3's,
             * RFC 8446 §C.4), so the session goes back into the cache. */
            if (e->ctx->role == EM_TLS_CLIENT && SSL_session_reused(e->ssl) &&
                SSL_version(e->ssl) < TLS1_3_VERSION)
                em__tls_sess_put(e, SSL_get0_session(e->ssl));
            break;
        }
        ssize_t p = pull(e, fd);
        if (p >= 0)
            continue; /* at the end SSL sees EOF and fails above */
        if (p == EM_EAGAIN) {
            e->want = EM_TCP_WANT_READ | (f == EM_EAGAIN ? EM_TCP_WANT_WRITE : 0);
            return EM_EAGAIN;
        }
        return fail(e, (int)p, NULL);
    }
    return e->err;
}

ssize_t em__tls_eng_read(em__tls_eng *e, int fd, char *buf, size_t len) {
    int err = em__tls_eng_handshake(e, fd);
    if (err)
        return err;
    for (;;) {
        /* Nothing SSL could use: ask the socket first. An SSL_read_ex that
         * can only say WANT_READ costs as much as one that decrypts. */
        if (!em_buf_len(&e->b.in) && !SSL_has_pending(e->ssl)) {
            ssize_t p = pull(e, fd);
            if (p == EM_EAGAIN) {
                if (em_buf_cap(&e->b.in))
                    em_buf_free(&e->b.in); /* idle: hold no ciphertext buffer */
                e->want = EM_TCP_WANT_READ | (em_buf_len(&e->b.out) ? EM_TCP_WANT_WRITE : 0);
                return EM_EAGAIN;
            }
            if (p < 0)
                return fail(e, (int)p, NULL);
            /* 0: the socket's end, which SSL_read_ex reports */
        }
        size_t n = 0;
        clear_errors();
        int ok = SSL_read_ex(e->ssl, buf, len, &n);
        int perr = ok ? SSL_ERROR_NONE : SSL_get_error(e->ssl, 0);
        /* Reading may have written (TLS 1.3 key updates, alerts). */
        int f = em_buf_len(&e->b.out) ? push(e, fd) : 0;
        if (f && f != EM_EAGAIN) {
            if (ok && n > 0) { /* the error comes back on the next call */
                e->err = f;
                return (ssize_t)n;
            }
            return fail(e, f, NULL);
        }
        if (ok)
            return (ssize_t)n;
        if (perr == SSL_ERROR_ZERO_RETURN)
            return 0; /* close_notify, or the socket's end (framing above checks) */
        if (perr != SSL_ERROR_WANT_READ)
            return ssl_fail(e, EM_EPROTO);
        ssize_t p = pull(e, fd);
        if (p >= 0)
            continue;
        if (p == EM_EAGAIN) {
            if (em_buf_len(&e->b.in) == 0 && em_buf_cap(&e->b.in))
                em_buf_free(&e->b.in); /* idle: hold no ciphertext buffer */
            e->want = EM_TCP_WANT_READ | (f == EM_EAGAIN ? EM_TCP_WANT_WRITE : 0);
            return EM_EAGAIN;
        }
        return fail(e, (int)p, NULL);
    }
}

ssize_t em__tls_eng_writev(em__tls_eng *e, int fd, const struct iovec *iov, int cnt) {
    if (e->err)
        return e->err;
    int f = push(e, fd);
    if (f == EM_EAGAIN) {
        e->want = EM_TCP_WANT_WRITE;
        return EM_EAGAIN;
    }
    if (f)
        return fail(e, f, NULL);
    int err = em__tls_eng_handshake(e, fd);
    if (err)
        return err;
    char tmp[RECORD];
    size_t took = 0, off = 0;
    int i = 0;
    while (i < cnt && took < TAKE_MAX) {
        const char *p = (const char *)iov[i].iov_base + off;
        size_t k = iov[i].iov_len - off;
        if (k == 0) {
            i++;
            off = 0;
            continue;
        }
        if (k >= RECORD || i + 1 == cnt) { /* big enough: no copy */
            if (k > TAKE_MAX - took)
                k = TAKE_MAX - took;
            off += k;
        } else { /* small pieces (a head, a chunk header): one record */
            k = 0;
            while (i < cnt && k < RECORD) {
                size_t r = iov[i].iov_len - off, c = r < RECORD - k ? r : RECORD - k;
                memcpy(tmp + k, (const char *)iov[i].iov_base + off, c);
                k += c;
                off += c;
                if (off == iov[i].iov_len) {
                    i++;
                    off = 0;
                }
            }
            p = tmp;
        }
        size_t w = 0;
        clear_errors();
        if (!SSL_write_ex(e->ssl, p, k, &w) || w != k) {
            err = ssl_fail(e, EM_EPROTO);
            return took ? (ssize_t)took : err;
        }
        took += k;
        f = push(e, fd);
        if (f == EM_EAGAIN)
            break; /* held inside: pending() says so */
        if (f) {   /* SSL took the bytes, the socket broke: next call says so */
            e->err = f;
            break;
        }
    }
    return (ssize_t)took;
}

int em__tls_eng_flush(em__tls_eng *e, int fd) {
    if (e->err)
        return e->err;
    int f = push(e, fd);
    if (f == EM_EAGAIN)
        e->want = EM_TCP_WANT_WRITE;
    else if (f)
        fail(e, f, NULL);
    return f;
}

int em__tls_eng_shutdown(em__tls_eng *e, int fd) {
    if (e->err)
        return e->err;
    if ((e->flags & EM__TLS_HS_DONE) && !(e->flags & EM__TLS_SHUT_SENT)) {
        ERR_clear_error();
        (void)SSL_shutdown(e->ssl); /* writes close_notify; not waiting for the peer's */
        ERR_clear_error();
        e->flags |= EM__TLS_SHUT_SENT;
    }
    int f = em__tls_eng_flush(e, fd);
    if (f)
        return f;
    return shutdown(fd, SHUT_WR) == 0 || errno == ENOTCONN ? 0 : em_err_from_errno(errno);
}

/* RFC 8446 §6.1: each party sends close_notify before closing its write
 * side; RFC 5246 §7.2.1: the other party responds with its own. A close
 * right after the peer's (the HTTP server's way at the client's end) must
 * not leave it to read a bare FIN, an unexpected EOF. */
void em__tls_eng_answer_close(em__tls_eng *e, int fd) {
    const unsigned want = EM__TLS_HS_DONE | EM__TLS_PEER_NOTIFY;
    if (e->err || (e->flags & (want | EM__TLS_SHUT_SENT)) != want || em_buf_len(&e->b.out))
        return;
    ERR_clear_error();
    (void)SSL_shutdown(e->ssl);
    ERR_clear_error();
    e->flags |= EM__TLS_SHUT_SENT;
    /* One try, even on a blocking socket: a close does not wait. */
    ssize_t n;
    do
        n = send(fd, em_buf_data(&e->b.out), em_buf_len(&e->b.out), MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
}

void em__tls_eng_info(const em__tls_eng *e, em_tls_info *info) {
    memset(info, 0, sizeof *info);
    SSL *ssl = e->ssl;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni)
        snprintf(info->sni, sizeof info->sni, "%s", sni);
    if (!(e->flags & EM__TLS_HS_DONE))
        return;
    info->handshake_done = true;
    info->peer_close_notify = (e->flags & EM__TLS_PEER_NOTIFY) != 0;
    info->resumed = SSL_session_reused(ssl) == 1;
    info->version = (unsigned)SSL_version(ssl);
    snprintf(info->cipher, sizeof info->cipher, "%s", SSL_get_cipher_name(ssl));
    const unsigned char *alpn;
    unsigned alpn_len;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn && alpn_len < sizeof info->alpn) {
        memcpy(info->alpn, alpn, alpn_len);
        info->alpn[alpn_len] = '\0';
    }
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (peer) {
        X509_NAME_oneline(X509_get_subject_name(peer), info->peer_subject,
                          (int)sizeof info->peer_subject);
        info->peer_verified =
            SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE && SSL_get_verify_result(ssl) == X509_V_OK;
    }
}
