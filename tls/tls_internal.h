/* Shared between the files of the tls module; not installed.
 *
 * Files in one-way layers; each calls only those listed before it:
 *   error.c      OpenSSL's error queue and verify result -> em_err + reason
 *   bio.c        the two BIOs between SSL and ember buffers
 *   ctx.c        contexts: versions, ciphers, CAs, certificates, SNI, ALPN,
 *                tickets, the client session cache
 *   engine.c     one SSL between two ember buffers, over a socket fd:
 *                handshake, read, write, shutdown (no loop, no em_tcp_conn)
 *   transport.c  the em_tcp_conn transport over the engine, the handshake
 *                timer and the client's handshake-done task
 *   conn.c       attach, handshake, connect, info
 *   stream.c     the blocking em_stream over the engine
 */
#ifndef EMBER_TLS_INTERNAL_H
#define EMBER_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <pthread.h>

#include "ember/tls.h"

/* ---- ctx.c ---------------------------------------------------------------- */

/* Client sessions kept per server name, one use each. */
#define EM__TLS_SESS_SLOTS 64
struct em__tls_sess {
    char name[256];
    SSL_SESSION *sess[2];
    uint64_t used; /* LRU stamp */
};

/* Server: a session-ticket key (em_tls_ctx_set_ticket_key's layout). */
struct em__tls_tkey {
    unsigned char name[16];
    unsigned char hmac[32];
    unsigned char aes[32];
};

struct em_tls_ctx {
    SSL_CTX *ssl;
    em_tls_role role;
    bool insecure;
    bool resumption;
    unsigned handshake_timeout_ms;
    SSL_CTX **sni;     /* server: one SSL_CTX per extra certificate */
    char ***sni_names; /* NULL-terminated names of each */
    unsigned sni_count;
    unsigned char alpn[256]; /* wire format */
    unsigned alpn_len;
    BIO_METHOD *bio;              /* the engine's BIO over ember buffers */
    pthread_mutex_t mu;           /* client: the session cache; server: the ticket keys */
    struct em__tls_sess *sess;
    uint64_t sess_clock;
    /* Server: new tickets use tkey[0]; tkey[1] (the one it replaced, if
     * has_prev) still decrypts until the next rotation. */
    struct em__tls_tkey tkey[2];
    bool has_prev;
    EVP_CIPHER *aes; /* AES-256-CBC, fetched once (not per ticket) */
    const void *psl; /* client: libpsl's list, for wildcard names */
};

/* Client: take a cached session for name (one use), or NULL. */
SSL_SESSION *em__tls_sess_take(em_tls_ctx *ctx, const char *name);
struct em__tls_eng;
/* Client: keep a copy of sess (if resumable) for e's server name. */
void em__tls_sess_put(struct em__tls_eng *e, SSL_SESSION *sess);

/* ---- bio.c ---------------------------------------------------------------- */

/* The ciphertext buffers one SSL reads from and writes to. */
typedef struct em__tls_bufs {
    em_buf in;  /* from the socket, not yet taken by SSL */
    em_buf out; /* from SSL, not yet on the socket */
    bool eof;   /* the socket ended: an empty `in` reads as end of stream */
} em__tls_bufs;

/* Make the BIO method (per context: no process-wide state). */
BIO_METHOD *em__tls_bio_method(void);
/* SSL_set_bio with one BIO of that method over b, for both directions.
 * 0 or EM_ENOMEM. */
int em__tls_bio_attach(SSL *ssl, BIO_METHOD *m, em__tls_bufs *b);

/* ---- error.c -------------------------------------------------------------- */

/* Drain OpenSSL's error queue into reason (len bytes) and classify a failed
 * handshake or I/O on ssl: EM_ECERTVERIFY when the peer's certificate was
 * refused (the verify result's text), else dflt. */
int em__tls_error(SSL *ssl, int dflt, char *reason, size_t len);

/* ---- engine.c ------------------------------------------------------------- */

enum {
    EM__TLS_HS_DONE = 0x1,         /* the handshake finished */
    EM__TLS_SHUT_SENT = 0x2,       /* close_notify written */
    EM__TLS_SOCK_EOF = 0x4,        /* the socket read 0 */
    EM__TLS_HOLD = 0x8,            /* client: hand no plaintext out until the task ran */
    EM__TLS_NOTIFY = 0x10,         /* client: the handshake task is wanted */
    EM__TLS_TIMER = 0x20,          /* the handshake timer is armed */
    EM__TLS_TASK = 0x40,           /* the handshake task is queued */
    EM__TLS_TCP_CONNECTING = 0x80, /* em_tls_connect: TCP not connected yet */
    EM__TLS_PEER_NOTIFY = 0x100    /* the peer's close_notify was read */
};

typedef struct em__tls_eng {
    SSL *ssl;
    em_tls_ctx *ctx;
    em__tls_bufs b;
    unsigned flags;
    unsigned want;       /* EM_TCP_WANT_* of the last EM_EAGAIN */
    int err;         /* sticky */
    char *sess_name; /* client: the session cache key (NULL: none) */
    char *reason;    /* OpenSSL's reason for err, made when it happens */
    /* transport.c, during the handshake */
    em_tcp_conn *conn;
    em_loop *loop;
    em_timer timer;
    em_task task;
    const em_tcp_conn_cbs *cbs;
    em_tcp_connect_cb on_done;
} em__tls_eng;

/* A new engine for ctx's role (server_name: client SNI and verification).
 * 0, EM_EINVAL, EM_ENOMEM. */
int em__tls_eng_new(em__tls_eng **out, const em_tls_ctx *ctx, const char *server_name);
void em__tls_eng_free(em__tls_eng *e);
/* Drive the handshake: 0 once done, EM_EAGAIN (e->want says which
 * direction), or an error (sticky). */
int em__tls_eng_handshake(em__tls_eng *e, int fd);
/* Plaintext: > 0, 0 at the end of stream, EM_EAGAIN (e->want), error. */
ssize_t em__tls_eng_read(em__tls_eng *e, int fd, char *buf, size_t len);
/* Take plaintext: the count taken, EM_EAGAIN (e->want), error. */
ssize_t em__tls_eng_writev(em__tls_eng *e, int fd, const struct iovec *iov, int cnt);
/* Push held ciphertext: 0, EM_EAGAIN, error. */
int em__tls_eng_flush(em__tls_eng *e, int fd);
/* close_notify (once the handshake is done), pushed, then SHUT_WR. */
int em__tls_eng_shutdown(em__tls_eng *e, int fd);
/* Closing: if the peer's close_notify came and ours did not go, nothing
 * failed and no ciphertext is held, write ours with one nonblocking send
 * (best effort: nothing waits). The caller knows no plaintext is dropped. */
void em__tls_eng_answer_close(em__tls_eng *e, int fd);
void em__tls_eng_info(const em__tls_eng *e, em_tls_info *info);
/* The buffer of e->reason (EM__TLS_REASON_LEN bytes), made on first use;
 * NULL when memory ran out. */
#define EM__TLS_REASON_LEN 200
char *em__tls_reason(em__tls_eng *e);

/* ---- transport.c ---------------------------------------------------------- */

extern const em_tcp_transport em__tls_transport;
/* Arm the handshake timer (attach); remembers c for the handshake. */
void em__tls_timer_start(em__tls_eng *e, em_tcp_conn *c);
/* Client: hold plaintext back and tell e->on_done (from a task) once the
 * handshake is done. */
void em__tls_notify_arm(em__tls_eng *e);
/* Stop the timer and call e->on_done(c, status) once, if set. */
void em__tls_report(em__tls_eng *e, int status);

#endif
