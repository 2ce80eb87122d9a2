/** @file
 * ember http, the client. Included by "ember/http.h".
 *
 * Two faces over one implementation:
 *
 *   On a loop (servers, many requests at once):
 *     em_http_client *cl;
 *     em_http_client_new(&cl, loop, NULL);
 *     em_http_client_do(cl, &(em_http_req){.url = "https://example.com/"},
 *                       &cbs, data, NULL);
 *     cbs.on_head(call, resp)  the response head (1xx skipped)
 *     cbs.on_body(call, piece) body bytes as they arrive (decoded framing)
 *     cbs.on_done(call, err)   once: 0, or why it failed
 *
 *   Blocking (scripts, tests, any thread):
 *     em_http_resp r;
 *     if (em_http_get("https://example.com/", &r) == 0)
 *         printf("%d %.*s\n", r.status, (int)r.body.len, r.body.ptr);
 *     em_http_resp_free(&r);
 *
 * Connections are pooled per origin (scheme, host, port) and kept alive;
 * at most max_per_host connections per origin, requests queue beyond.
 * An idle connection the server closed is noticed before reuse, and an
 * idempotent request whose reused connection dies before any response byte
 * is retried once on a fresh connection. Names are connected with Happy
 * Eyeballs (em_tcp_conn_connect_host); https verifies the certificate and
 * the host name unless the TLS context says otherwise.
 *
 * THE OWNERSHIP RULE (as for server contexts). em_http_client_do hands you
 * an em_http_call that ends exactly once: on_done runs (then the call is
 * freed when on_done returns), or em_http_call_cancel returns (then no
 * callback runs for it any more). No callback runs from inside the call
 * that caused it: em_http_client_do never calls back before it returns.
 * Everything here runs on the client loop's thread, except the blocking
 * face, which any thread may use at once (each call runs on a private
 * loop).
 */
#ifndef EMBER_HTTP_CLIENT_H
#define EMBER_HTTP_CLIENT_H

#include "ember/http/cookie.h"
#include "ember/http/encoding.h"
#include "ember/http/parse.h"
#include "ember/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A client bound to one loop: its connection pools, settings and calls
 * (opaque; em_http_client_new, em_http_client_close). Loop thread only. */
typedef struct em_http_client em_http_client;
/** One request in flight on a client, from em_http_client_do until on_done
 * returns or em_http_call_cancel (opaque). */
typedef struct em_http_call em_http_call;

/** Settings shared by a client's requests. Zero means the default given. */
typedef struct em_http_client_opts {
    /** The resolver for names (must belong to the client's loop and
     * outlive the client). NULL: the client makes one with resolver_opts
     * (NULL: resolv.conf and /etc/hosts). */
    em_dns_resolver *resolver;
    const em_dns_resolver_opts *resolver_opts; /**< for the resolver the client makes */
    /** TLS for https (a client context; must outlive the client). NULL: a
     * context with the defaults (system CA store, verification on) is made
     * at the first https request. */
    const em_tls_ctx *tls;
    unsigned max_per_host;       /**< connections per origin: 16 */
    unsigned max_idle_per_host;  /**< idle connections kept per origin: max_per_host */
    unsigned idle_timeout_ms;    /**< an idle pooled connection closes: 60 s */
    unsigned connect_timeout_ms; /**< DNS + TCP + TLS: 30 s */
    unsigned head_timeout_ms;    /**< request sent to response head: 60 s */
    unsigned read_timeout_ms;    /**< between two reads of the body: 60 s */
    unsigned write_timeout_ms;   /**< no progress sending the request: 60 s */
    /** Response limits: head size and field count (max_header_bytes,
     * max_headers: 64 KiB, 100; the count at most 10,000, as each costs a
     * 32-byte slot in every connection) and body size (max_body; 0: none
     * on the loop, 256 MiB for the blocking face). NULL: defaults. Copied. */
    const em_http_limits *limits;
    /** Request bodies of at least this many bytes are sent with "Expect:
     * 100-continue": the head goes first and the body follows the 100, or
     * after expect_timeout_ms without an answer; a final answer instead (a
     * 401, a 413) saves sending the body. 0: 1 MiB; SIZE_MAX: never. */
    size_t expect_continue_min;
    unsigned expect_timeout_ms;  /**< 0: 1 s */
    em_dns_family family;        /**< ANY: both, in RFC 6724 order */
    const char *user_agent;      /**< NULL: "ember/0.1"; "": none sent */
    /** An HTTP proxy, "http://[user:password@]host[:port]" (or
     * "host[:port]"; without a port, 1080, as curl and libcurl's
     * CURLOPT_PROXY take it): http URLs go to it in absolute form, https URLs through a CONNECT
     * tunnel (TLS and its verification end to end with the origin). The
     * proxy's credentials go only to the proxy (Proxy-Authorization).
     * no_proxy: names (and their subdomains), IP addresses ("[::1]" or
     * "::1") and CIDR ranges ("10.0.0.0/8") reached directly, comma- or
     * space-separated; "*": all. proxy_from_env: when proxy is NULL, read
     * http_proxy (lower case only: HTTP_PROXY may come from a request
     * header in CGI programs) and https_proxy/HTTPS_PROXY, all_proxy/
     * ALL_PROXY for a scheme whose own variable is unset or empty, and
     * when no_proxy is NULL, no_proxy/NO_PROXY (with proxy set too), as
     * curl does. Only http:// proxies are spoken: another scheme (https://,
     * socks5://, ...) in proxy is EM_ENOTSUP from em_http_client_new; in a
     * variable, each call that would go through it ends with EM_ENOTSUP
     * ("Unsupported proxy scheme ..."), never a direct connection, while
     * no_proxy hosts and schemes with an http:// proxy of their own work. */
    const char *proxy;
    const char *no_proxy; /**< hosts reached directly (see proxy) */
    bool proxy_from_env;  /**< read the proxy variables (see proxy) */
    /** Cookies: Set-Cookie fields of every response (redirects included)
     * go into the jar, and requests carry the jar's cookies for their URL
     * in one Cookie field, after the request's own Cookie values (RFC 6265
     * §5.4: never two Cookie fields). Borrowed; one jar may
     * serve several clients and threads. NULL: no cookies. */
    em_cookie_jar *cookie_jar;
    /** Content codings: 1 sends "Accept-Encoding: gzip, deflate" (unless
     * the request sets Accept-Encoding) and decodes gzip/deflate bodies as
     * they arrive (on_body gets decoded bytes; Content-Encoding and
     * Content-Length are removed from the head on_head sees), with the
     * decoder's caps: the body limit (or 1 GiB) and 1000:1 past the first
     * MiB, past which EM_EBODYTOOLARGE; corrupt data ends in
     * EM_EBADCODING. A coding it cannot decode (br, zstd) arrives as is.
     * -1: never. 0: the default, off on the loop, on for the blocking
     * face and the agent's waitable requests. */
    int decompress;
} em_http_client_opts;

/** What to send. Borrowed by em_http_client_do until it returns (it copies
 * what it keeps). */
typedef struct em_http_req {
    const char *method; /**< NULL: "GET", or "POST" when body is set */
    const char *url;    /**< absolute http:// or https:// URL */
    /** Extra fields (name, value; id ignored). Content-Length,
     * Transfer-Encoding, Connection, Upgrade, TE, Trailer and Keep-Alive
     * are the client's: giving them is EM_EINVAL. One Host (uri-host
     * [":" port], else EM_EINVAL) names a virtual host, as curl's -H
     * 'Host: ...': it replaces the URL's in the request and is dropped by
     * a redirect to another origin; TLS still verifies the URL's host. An
     * empty Host sends no Host line at all (curl's -H 'Host:'): what the
     * caller asked for, though an HTTP/1.1 server may answer 400. */
    const em_http_header *headers;
    size_t num_headers;            /**< entries in headers */
    em_slice body;                 /**< sent with a Content-Length */
    /** Or stream the body (on the loop): set stream_body, and write it with
     * em_http_call_write from on_writable on, ending with
     * em_http_call_write_end. body_length >= 0 sends a Content-Length
     * (exactly that many bytes must come), EM_HTTP_LENGTH_UNKNOWN (-1)
     * sends it chunked. A streamed body cannot be replayed: such a call
     * is never retried, never sent with Expect: 100-continue, and a
     * redirect is its answer (not followed). body must be empty. */
    bool stream_body;
    int64_t body_length; /**< with stream_body: the length, or EM_HTTP_LENGTH_UNKNOWN */
    const char *content_type;      /**< sets Content-Type when not NULL */
    /** Credentials: Basic (user, password) or a Bearer token; a URL's
     * userinfo counts as Basic credentials too. Sent to the URL's origin
     * only, never to another origin a redirect leads to. */
    const char *user;
    const char *password; /**< with user: Basic credentials */
    const char *bearer;   /**< a Bearer token (RFC 6750) */
    /** Redirects: followed when max_redirects > 0 (up to that many; on the
     * loop the default is 0, the blocking face follows 20). 301/302 turn
     * POST into GET, 303 anything but HEAD; 307/308 keep method and body.
     * Authorization, Cookie and Proxy-Authorization are dropped when the
     * scheme, host or port changes; https to http is refused
     * (EM_EUNSAFEREDIRECT) unless allow_insecure_redirect. */
    int max_redirects;
    bool allow_insecure_redirect; /**< let a redirect go from https to http */
    /** The whole exchange, connect and redirects included: EM_ETIMEDOUT
     * past it. 0: none (the blocking face: 300 s). */
    unsigned timeout_ms;
    /** Ask to leave HTTP (RFC 9110 §7.8): a protocol token such as
     * "websocket" sends "Connection: Upgrade" and "Upgrade: <it>" on a
     * connection of its own (never a pooled one, never pooled after). A
     * 101 answer goes to on_upgrade with the connection; any other answer
     * is an ordinary response. NULL: an ordinary request. */
    const char *upgrade;
} em_http_req;

/** The response head, valid during on_head only (slices point into the
 * connection's buffer). */
typedef struct em_http_client_cbs {
    /** The final response head (1xx are skipped). Return nothing; to stop,
     * em_http_call_cancel(call). May be NULL. */
    void (*on_head)(em_http_call *call, const em_http_response *resp);
    /** Body bytes, framing removed, in order; piece valid during the call.
     * em_http_call_pause inside holds the rest back. May be NULL. */
    void (*on_body)(em_http_call *call, em_slice piece);
    /** The end: 0 when the whole response arrived, else EM_ETIMEDOUT
     * (em_http_call_error says which timeout), EM_EPARTIAL (the head or
     * the body was cut short), EM_ECONNREFUSED, EM_ENOTFOUND,
     * EM_ETLSHANDSHAKE, EM_ECERTVERIFY, EM_EBODYTOOLARGE, a parse error of
     * the response (EM_EPARSE, EM_EBADCL, ...; em_http_call_error says
     * whether the reply was no HTTP/1.x at all, its status line was
     * garbled or cut short, or its fields were bad), EM_ETOOMANYREDIRECTS,
     * EM_EUNSAFEREDIRECT, EM_ECANCELED (the client closed), ... The call
     * is freed when it returns. Required. */
    void (*on_done)(em_http_call *call, int err);
    /** A 101 to a request with upgrade set: resp (valid during the call)
     * is its head, tcp the connection, with the bytes that followed the
     * head in tcp->in and TLS, if any, in place. Take it with
     * em_tcp_conn_move inside this callback (it is closed otherwise);
     * HTTP is over on it. on_done(call, 0) follows. Required for such a
     * request (EM_EINVAL otherwise). */
    void (*on_upgrade)(em_http_call *call, const em_http_response *resp, em_tcp_conn *tcp);
    /** stream_body: the request head is on its way, so write the body; and
     * again after a write returned EM_HTTP_FULL, once the connection's
     * queue has drained to its low watermark. Required with stream_body. */
    void (*on_writable)(em_http_call *call);
    /** stream_body: every write with a token <= token has been taken by
     * the kernel. May be NULL. */
    void (*on_sent)(em_http_call *call, uint64_t token);
    /** The head of a redirect the call goes on to follow (its body is
     * dropped; the call may still end there with EM_ETOOMANYREDIRECTS or
     * EM_EUNSAFEREDIRECT), for those who show every head (curl's -i, -I,
     * -D and -v with -L); resp is valid during the call, which may cancel
     * the call. May be NULL. */
    void (*on_redirect)(em_http_call *call, const em_http_response *resp);
    /** An interim 1xx head (100 Continue, 103 Early Hints; never 101),
     * before the final one, for those who show every head (curl's -i and
     * -v); resp is valid during the call, which may cancel the call. May
     * be NULL. */
    void (*on_info)(em_http_call *call, const em_http_response *resp);
} em_http_client_cbs;

/** Make a client on loop. opts may be NULL; it is copied (the pointers in
 * it are borrowed). Returns 0, EM_EINVAL (a proxy or resolver setting
 * that does not parse), EM_ENOTSUP (opts->proxy is not http://, see
 * em_http_client_opts.proxy) or EM_ENOMEM. */
EM_API EM_NODISCARD int em_http_client_new(em_http_client **out, em_loop *loop,
                                           const em_http_client_opts *opts);
/** Close every connection and end every call still running with
 * on_done(EM_ECANCELED) (from the loop, after this returns), then free the
 * client and run cb (may be NULL) from the loop. Fine from any callback:
 * the work is deferred. */
EM_API void em_http_client_close(em_http_client *cl, void (*cb)(void *arg), void *arg);

/** Start a request. cbs must outlive the call; data is the call's user
 * data. *out (may be NULL) receives the handle. Returns 0 or, with nothing
 * started and no callback to come: EM_EINVAL (a bad URL, method or field),
 * EM_ENOTSUP (a scheme other than http/https), EM_ECLOSED (the client is
 * closing), EM_ENOMEM. */
EM_API EM_NODISCARD int em_http_client_do(em_http_client *cl, const em_http_req *req,
                                          const em_http_client_cbs *cbs, void *data,
                                          em_http_call **out);
#ifndef EM_HTTP_FULL
#define EM_HTTP_FULL 1 /**< a write was taken, but stop until told (as in server.h) */
#endif
#ifndef EM_HTTP_LENGTH_UNKNOWN
#define EM_HTTP_LENGTH_UNKNOWN (-1)
#endif

/** Write the next piece of a streamed request body (stream_body), from
 * on_writable on; data is copied only if the kernel does not take it at
 * once. *token (may be NULL) identifies it for on_sent. Returns 0 (write
 * more), EM_HTTP_FULL (taken; wait for on_writable), EM_EAGAIN (the call
 * has no connection yet: wait for on_writable), EM_EINVAL (not a streamed
 * call, after write_end, or past body_length), EM_ENOBUFS (FULL was
 * ignored until the queue's cap; nothing taken) or EM_ECLOSED (the call
 * ended, or the connection went: on_done tells why). Loop thread. */
EM_API EM_NODISCARD int em_http_call_write(em_http_call *call, em_slice data, uint64_t *token);
/** The body is complete (chunked: the last chunk goes). Returns 0,
 * EM_EINVAL (not streamed, ended twice, or fewer bytes than body_length:
 * then the call fails with EM_EINVAL, since the server cannot tell where
 * the body ends), EM_EAGAIN or EM_ECLOSED as em_http_call_write. */
EM_API int em_http_call_write_end(em_http_call *call);

/** End call now: its connection is closed (or, if no byte was sent yet,
 * never used), no callback runs for it afterwards, and it is freed (at
 * once, or when the callback it is called from returns). Returns 0, or
 * EM_ECLOSED when the call already ended (inside on_done: nothing to do). */
EM_API int em_http_call_cancel(em_http_call *call);
/** Stop and restart the body: while paused, the connection is not read and
 * the server is held back by TCP. */
EM_API void em_http_call_pause(em_http_call *call);
/** Undo em_http_call_pause: the body comes again, from the loop. */
EM_API void em_http_call_resume(em_http_call *call);
/** The data given to em_http_client_do. */
EM_API void *em_http_call_data(const em_http_call *call);
/** A sentence on why the call failed ("connect timeout", "response head
 * timeout", the TLS reason, ...); "" when it did not. Valid until the
 * call is freed. */
EM_API const char *em_http_call_error(const em_http_call *call);
/** The URL the response came from (after redirects), NUL-terminated, with
 * the fragment of the request's URL or of the latest Location that had
 * one (RFC 9110 §10.2.2); no userinfo. */
EM_API const char *em_http_call_url(const em_http_call *call);
/** The method of the call's latest request: a redirect may have turned a
 * POST into a GET (curl's %{method}). Valid until the call is freed. */
EM_API const char *em_http_call_method(const em_http_call *call);
/** The status of the latest final response head the call received, a
 * redirect's included (so the 3xx when the redirect limit stopped it);
 * 0 before any (curl's %{response_code}). */
EM_API int em_http_call_status(const em_http_call *call);
/** Redirects the call followed so far (curl's num_redirects). */
EM_API unsigned em_http_call_redirects(const em_http_call *call);
/** New connections the call's requests went out on, redirects and a retry
 * included; 0 when every one reused a pooled connection (curl's
 * num_connects). */
EM_API unsigned em_http_call_connects(const em_http_call *call);
/** Connections a client holds (busy and idle): for tests and metrics. */
EM_API unsigned em_http_client_conns(const em_http_client *cl);

/* ---- from any thread: the agent ------------------------------------------ */

/** A client on a loop thread of its own that takes requests from any
 * thread: every request of every thread shares its connection pool (and,
 * as they land, its cookie jar). Completion reaches the caller either as
 * the usual callbacks, run on the agent's thread, or through a handle the
 * caller waits on. */
typedef struct em_http_agent em_http_agent;
/** A request the agent runs for a thread that will wait for it
 * (em_http_agent_start, em_http_pending_wait). */
typedef struct em_http_pending em_http_pending;
typedef struct em_http_resp em_http_resp; /**< below, with the blocking face */

/** Start the agent's thread with a client made from opts (may be NULL;
 * copied; opts->resolver must be NULL: the agent makes its own on its
 * loop). Returns 0, EM_EINVAL, EM_ENOMEM or a thread error. */
EM_API EM_NODISCARD int em_http_agent_new(em_http_agent **out, const em_http_client_opts *opts);
/** Stop: calls still running end with EM_ECANCELED (their callbacks run,
 * waiters wake), then the thread is joined and everything freed. Not from
 * the agent's own thread (not from its callbacks). */
EM_API void em_http_agent_free(em_http_agent *a);
/** Any thread: start req (copied before this returns) with callbacks that
 * run on the agent's thread, as em_http_client_do's do. The call handle
 * is not returned: a request from another thread is ended by its
 * timeout_ms or by em_http_agent_free. Returns 0 or, with no callback to
 * come, EM_EINVAL, EM_ENOTSUP, EM_ENOMEM, EM_ECLOSED (the agent is
 * stopping). */
EM_API EM_NODISCARD int em_http_agent_do(em_http_agent *a, const em_http_req *req,
                                         const em_http_client_cbs *cbs, void *data);
/** Any thread: start req and gather the whole response (the blocking
 * face's defaults apply: 20 redirects, 300 s, 256 MiB body unless opts of
 * the agent say less); wait for it with em_http_pending_wait. Returns 0,
 * or an error as em_http_agent_do's (then *out is NULL). */
EM_API EM_NODISCARD int em_http_agent_start(em_http_agent *a, const em_http_req *req,
                                            em_http_pending **out);
/** Any thread but the agent's: block until p is done, fill *resp as
 * em_http_do does and free p. Returns what em_http_do would. */
EM_API EM_NODISCARD int em_http_pending_wait(em_http_pending *p, em_http_resp *resp);
/** em_http_agent_start + em_http_pending_wait: a blocking request from any
 * thread over the agent's shared pool. */
EM_API EM_NODISCARD int em_http_agent_fetch(em_http_agent *a, const em_http_req *req,
                                            em_http_resp *resp);

/* ---- blocking face ----------------------------------------------------- */

/** A whole response, owned by the caller until em_http_resp_free. */
struct em_http_resp {
    int status;              /**< the final response's status */
    int version_minor;       /**< HTTP/1.x: x */
    em_http_header *headers; /**< names and values NUL-terminated too */
    size_t num_headers;      /**< entries in headers */
    em_slice body;           /**< NUL-terminated too (not counted in len) */
    char *url;               /**< where the response came from (after redirects) */
    char error[128];         /**< why it failed, "" on success */
    void *_mem;
};

/** Blocking request on a private loop (thread-safe: any number of threads
 * at once). Redirects are followed (req->max_redirects 0 means 20 here; -1
 * means none) and timeout_ms 0 means 300 s. opts may be NULL: then the
 * call runs on its thread's session, a loop and client kept between calls
 * (as curl's easy handle keeps its connections), so a thread's sequential
 * requests reuse kept-alive connections; with opts, on a loop and client
 * of its own. Returns 0 with *resp filled (whatever the status), or an
 * error as on_done gives (resp->error says more; free resp either way). */
EM_API EM_NODISCARD int em_http_do(const em_http_req *req, const em_http_client_opts *opts,
                                   em_http_resp *resp);
/** em_http_do with a GET of url and the defaults. */
EM_API EM_NODISCARD int em_http_get(const char *url, em_http_resp *resp);
/** em_http_do with a POST of body (its Content-Type content_type, may be
 * NULL) to url and the defaults. */
EM_API EM_NODISCARD int em_http_post(const char *url, const char *content_type, em_slice body,
                                     em_http_resp *resp);
/** Close this thread's session (its idle connections, loop and resolver)
 * now rather than when the thread exits; the next call without options
 * makes a new one. The main thread's session otherwise lives until the
 * process ends. */
EM_API void em_http_blocking_release(void);
/** The value of the first field named name (case-insensitive), or NULL. */
EM_API const char *em_http_resp_header(const em_http_resp *resp, const char *name);
/** Free what resp holds; resp may then be reused. Safe on a zeroed resp. */
EM_API void em_http_resp_free(em_http_resp *resp);

#ifdef __cplusplus
}
#endif
#endif
