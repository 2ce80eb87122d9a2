/** @file
 * ember tls: OpenSSL 3 under em_tcp_conn (through its transport seam) and
 * as a blocking em_stream.
 *
 *   em_tls_ctx *ctx;                          one per configuration, shared
 *   em_tls_ctx_opts o = {.ca_file = "ca.pem"};   by every connection and
 *   em_tls_ctx_new(&ctx, EM_TLS_CLIENT, &o);     every thread
 *
 *   em_tls_connect(loop, &c, &addr, &cbs, NULL, ctx, "example.com", on_conn);
 *   on_conn(c, 0) runs once the handshake is done: start reading, write.
 *
 * A server attaches TLS right after accept (em_tls_attach; the HTTP server
 * does it for you with em_http_server_opts.tls): its first on_read comes
 * after the handshake. Everything above the transport counts plaintext:
 * c->in, send tokens, watermarks, em_tcp_conn_queued.
 *
 * Closing: the peer's close_notify reads as EM_EOF, and so does a bare FIN
 * (em_tls_info.peer_close_notify tells them apart). em_tcp_conn_shutdown
 * and em_tcp_conn_end send ours; em_tcp_conn_close sends it too when the
 * peer's came first and the close drops nothing (RFC 8446 §6.1, RFC 5246
 * §7.2.1: it is answered), in one nonblocking try. A close without the
 * peer's close_notify sends none: a bare FIN may be a truncation.
 *
 * Defaults are those of curl and nginx: TLS 1.2 at least, OpenSSL's default
 * cipher list minus weak suites, no renegotiation; a client verifies the
 * peer's chain against the system store and the host name against the
 * certificate's DNS subjectAltNames, never its CN (RFC 9525 §6.3; an IP
 * literal against its IP subjectAltNames only; a wildcard is a whole
 * left-most label and never covers a public suffix such as "*.co.uk",
 * by libpsl's list), and sends SNI for names.
 *
 * Failures: EM_ETLSHANDSHAKE (the handshake failed: a protocol version or
 * cipher mismatch, an alert, garbage, the peer left), EM_ECERTVERIFY (the
 * peer's certificate was refused), EM_ETIMEDOUT (the handshake timeout),
 * EM_EPROTO (a fatal error after the handshake); em_tls_conn_error() gives
 * OpenSSL's reason.
 */
#ifndef EMBER_TLS_H
#define EMBER_TLS_H

#include "ember/tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which side of the handshake a context plays. */
typedef enum em_tls_role { EM_TLS_CLIENT = 0, EM_TLS_SERVER = 1 } em_tls_role;
/** @var EM_TLS_CLIENT
 * connects, verifies the server, sends SNI */
/** @var EM_TLS_SERVER
 * accepts; needs a certificate */

/** Protocol versions (their wire values) for min_version and the info. */
enum { EM_TLS_V1_2 = 0x0303, EM_TLS_V1_3 = 0x0304 };
/** @var EM_TLS_V1_2
 * TLS 1.2 (RFC 5246) */
/** @var EM_TLS_V1_3
 * TLS 1.3 (RFC 8446) */

/** Server: asking for client certificates (mTLS). */
typedef enum em_tls_client_auth {
    EM_TLS_CLIENT_AUTH_NONE = 0, /**< no certificate asked for */
    EM_TLS_CLIENT_AUTH_OPTIONAL, /**< verified if sent */
    EM_TLS_CLIENT_AUTH_REQUIRED  /**< handshake fails without one */
} em_tls_client_auth;

/** A certificate chain (leaf first) and its private key, PEM, from files or
 * from memory (the *_pem slices win when set). Read at em_tls_ctx_new. */
typedef struct em_tls_cert {
    const char *cert_file; /**< PEM chain file, leaf first */
    const char *key_file;  /**< PEM private key file */
    em_slice cert_pem;     /**< the chain as PEM in memory */
    em_slice key_pem;      /**< the key as PEM in memory */
} em_tls_cert;

/** Options for em_tls_ctx_new(); read during that call only (files and PEM are
 * loaded then). */
typedef struct em_tls_ctx_opts {
    /** Trust anchors for verifying the peer: a PEM file, a hashed directory
     * and/or PEM in memory. All empty: the system store (clients), or
     * nothing (servers, where they matter only with client_auth). */
    const char *ca_file;
    const char *ca_dir; /**< a directory hashed as by openssl rehash */
    em_slice ca_pem;    /**< CA certificates as PEM in memory */
    /** Server: the default certificate (required). Client: a client
     * certificate for mTLS (optional). */
    em_tls_cert cert;
    /** Server: more certificates, picked when the client's SNI matches one of
     * their DNS names (subjectAltName, or the CN without one; "*.x" matches
     * one label). No match: the default certificate. */
    const em_tls_cert *sni_certs;
    unsigned sni_count; /**< entries in sni_certs */
    /** ALPN protocols, comma-separated, in preference order ("h2,http/1.1").
     * Client: offered. Server: the first of these the client also offers is
     * picked; a client that offers ALPN but none of these fails the
     * handshake with a no_application_protocol alert (RFC 7301 §3.2; both
     * sides report EM_ETLSHANDSHAKE); a client offering no ALPN, or a
     * server with NULL here: no ALPN in the answer, the handshake goes on. */
    const char *alpn;
    unsigned min_version;           /**< EM_TLS_V1_2 (0) or EM_TLS_V1_3 */
    em_tls_client_auth client_auth; /**< server only */
    /** Client: no verification of the chain or the name at all. Named so
     * that nobody turns it on by accident; for tests against throwaway
     * certificates. */
    bool insecure;
    /** Server: no session tickets (no resumption). Client: no resumption. */
    bool no_resumption;
    unsigned handshake_timeout_ms; /**< 0: 10 s */
} em_tls_ctx_opts;

/** A TLS configuration (opaque; em_tls_ctx_new()). Immutable and thread-safe
 * once made, shared by every connection and stream that uses it. */
typedef struct em_tls_ctx em_tls_ctx;

/** Make a context for role. opts may be NULL (a client with the defaults).
 * Loads certificates and CAs now (slow: do it once, not per connection).
 * Returns 0, EM_EINVAL (a server without a certificate, a bad ALPN list or
 * version), EM_EPARSE (a certificate, key or CA file OpenSSL could not
 * load or that do not match; the reason: em_tls_last_error), EM_ENOMEM. The context is immutable
 * and thread-safe once made; it must outlive every connection and stream using it. */
EM_API EM_NODISCARD int em_tls_ctx_new(em_tls_ctx **out, em_tls_role role,
                                       const em_tls_ctx_opts *opts);
/** Free a context no connection uses any more. NULL is a no-op. */
EM_API void em_tls_ctx_free(em_tls_ctx *ctx);
/** The role ctx was made for. Any thread. */
EM_API em_tls_role em_tls_ctx_role(const em_tls_ctx *ctx);
/** Server: rotate the session-ticket key (80 bytes: 16 name, 32 HMAC, 32
 * AES-256; the name tells keys apart, so give each key its own). New
 * tickets use this key; tickets made with the key it replaces still resume
 * (and the client gets a new ticket under this key) until the next
 * rotation; older ones fall back to a full handshake. Setting the current
 * key again changes nothing. A context starts with a random key of its
 * own; set the same keys in the same order in every context or process
 * that should resume each other's tickets (the workers of one server),
 * e.g. a new key every few hours, so a ticket lives one to two periods.
 * Returns 0 or EM_EINVAL (not a server). Any thread. */
EM_API int em_tls_ctx_set_ticket_key(em_tls_ctx *ctx, const unsigned char key[80]);
/** The latest OpenSSL error of the calling thread as text ("" if none), for
 * em_tls_ctx_new failures. Writes at most len bytes including the NUL;
 * returns buf. */
EM_API const char *em_tls_last_error(char *buf, size_t len);

/* ---- on the loop ---------------------------------------------------------- */

/** Install TLS on c, before any byte crossed the socket (right after accept,
 * or after em_tcp_conn_connect returned, before it completed). The role is
 * the context's. server_name (client): the name to send as SNI and to
 * verify the certificate against (an IP literal is verified as an IP and
 * sent without SNI; one trailing dot and an IPv6 literal's brackets are
 * dropped); it is copied. A verifying client needs one (NULL or "":
 * EM_EINVAL, as it could check nothing); servers and insecure clients
 * may pass NULL. A server's first on_read comes
 * after the handshake; a client's handshake runs once reading starts, or
 * use em_tls_handshake / em_tls_connect to be told when it is done. The
 * handshake timeout starts now. Returns 0, EM_EINVAL, EM_ECLOSED,
 * EM_ENOMEM. Do not em_tcp_conn_move c during the handshake. */
EM_API EM_NODISCARD int em_tls_attach(em_tcp_conn *c, const em_tls_ctx *ctx,
                                      const char *server_name);
/** Client, on a connected c with TLS attached: run the handshake, then set
 * c's callbacks to cbs and call cb(c, 0) with reading stopped (plaintext
 * that came with the handshake waits for em_tcp_conn_read_start). On a
 * failure cb(c, err) with EM_ETLSHANDSHAKE, EM_ECERTVERIFY, EM_ETIMEDOUT or
 * a socket error; then close c. cb never runs inside this call. Returns 0
 * or EM_EINVAL (no TLS on c, a server, or the handshake was already run). */
EM_API EM_NODISCARD int em_tls_handshake(em_tcp_conn *c, const em_tcp_conn_cbs *cbs,
                                         em_tcp_connect_cb cb);
/** em_tcp_conn_connect, em_tls_attach and em_tls_handshake in one: cb(c, 0)
 * once connected and the handshake is done, cb(c, err) on any failure (then
 * close c). If it returns an error nothing was started and c needs no
 * close. */
EM_API EM_NODISCARD int em_tls_connect(em_loop *loop, em_tcp_conn *c, const em_sockaddr *addr,
                                       const em_tcp_conn_cbs *cbs, const em_tcp_conn_opts *opts,
                                       const em_tls_ctx *ctx, const char *server_name,
                                       em_tcp_connect_cb cb);
/** True when c carries TLS. */
EM_API bool em_tls_conn_is_tls(const em_tcp_conn *c);

/** What a connection agreed on. Strings are NUL-terminated copies (empty
 * when unknown or not applicable). */
typedef struct em_tls_info {
    bool handshake_done;    /**< the handshake has completed */
    bool resumed;           /**< an abbreviated handshake (session resumed) */
    bool peer_verified;     /**< a peer certificate was sent and verified */
    /** The peer's close_notify was read: its EM_EOF is a clean end. An
     * EM_EOF without it is a bare TCP close, which may be an attacker's
     * truncation (RFC 8446 §6.1): data the close delimits is not whole. */
    bool peer_close_notify;
    unsigned version;       /**< EM_TLS_V1_2, EM_TLS_V1_3, 0 before the handshake */
    char cipher[64];        /**< the cipher suite's OpenSSL name */
    char sni[256];          /**< server: what the client asked for; client: sent */
    char alpn[32];          /**< the protocol both picked */
    char peer_subject[256]; /**< the peer certificate's subject, one line */
} em_tls_info;

/** Fill *info about c. Returns 0 or EM_EINVAL (no TLS on c). */
EM_API int em_tls_conn_info(const em_tcp_conn *c, em_tls_info *info);
/** OpenSSL's reason for the error c reported (a verify failure names the
 * certificate problem), "" if none. Valid until c closes. */
EM_API const char *em_tls_conn_error(const em_tcp_conn *c);

/* ---- blocking ------------------------------------------------------------- */

/** A blocking TLS stream over a blocking TCP stream; usable as an em_stream
 * (em_tls_stream_as_stream). read returns EM_EOF at the peer's close,
 * shutdown sends close_notify then SHUT_WR, close frees everything and
 * closes the socket. The TCP stream's timeouts apply (EM_ETIMEDOUT). */
typedef struct em_tls_stream {
    em_stream base;    /**< the em_stream face (em_tls_stream_as_stream) */
    em_tcp_stream tcp; /**< the TCP stream underneath, owned by s */
    struct em__tls_eng *_eng;
} em_tls_stream;

/** Take over the connected *tcp (moved into s) and run the handshake now.
 * Returns 0, EM_ETLSHANDSHAKE, EM_ECERTVERIFY (em_tls_stream_error has the
 * reason), EM_ETIMEDOUT, EM_EINVAL, EM_ENOMEM or a socket error. Close s
 * with em_tls_stream_close whatever it returned. */
EM_API EM_NODISCARD int em_tls_stream_start(em_tls_stream *s, em_tcp_stream *tcp,
                                            const em_tls_ctx *ctx, const char *server_name);
/** Connect to addr (timeout_ms > 0 also becomes the timeout of each read
 * and write: em_tcp_stream_set_timeouts on s->tcp changes it), then
 * em_tls_stream_start. On failure nothing needs closing. */
EM_API EM_NODISCARD int em_tls_stream_connect(em_tls_stream *s, const em_sockaddr *addr,
                                              int timeout_ms, const em_tls_ctx *ctx,
                                              const char *server_name);
/** s as an em_stream (read, writev, shutdown, close go through TLS). */
static inline em_stream *em_tls_stream_as_stream(em_tls_stream *s) {
    return &s->base;
}
/** Plaintext bytes (> 0), EM_EOF, or em_err. */
EM_API ssize_t em_tls_stream_read(em_tls_stream *s, void *buf, size_t len);
/** Write all of buf. 0 or em_err. */
EM_API EM_NODISCARD int em_tls_stream_write(em_tls_stream *s, const void *buf, size_t len);
/** Send close_notify, then SHUT_WR; reading still works. 0 or em_err. */
EM_API int em_tls_stream_shutdown(em_tls_stream *s);
/** Free the TLS state and close the socket; s may be freed after. After the
 * peer's close_notify (EM_EOF) it first answers with ours, if not sent yet
 * and nothing failed (one try, no waiting). Safe after a failed
 * em_tls_stream_start. 0 or em_err. */
EM_API int em_tls_stream_close(em_tls_stream *s);
/** Fill *info about s, as em_tls_conn_info(). 0 or EM_EINVAL. */
EM_API int em_tls_stream_info(const em_tls_stream *s, em_tls_info *info);
/** OpenSSL's reason for s's last failure (a verify failure names the
 * certificate problem), "" if none. Valid until s is closed. */
EM_API const char *em_tls_stream_error(const em_tls_stream *s);

#ifdef __cplusplus
}
#endif
#endif
