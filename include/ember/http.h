/* ember http: HTTP/1.1 message parsing (requests, responses, chunked
 * bodies) and, in later sections, the server, router and client.
 *
 * Threading: nothing here is thread-safe per object; use each parser from
 * one thread at a time. Different parsers may run on different threads.
 */
#ifndef EMBER_HTTP_H
#define EMBER_HTTP_H

#include "ember/tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* ---- parser: requests, responses and chunked bodies (RFC 9112) --------- */
/* ======================================================================== */
/*
 * Contract, shared by em_http_parse_request(), em_http_parse_response() and
 * em_http_chunked_decode():
 *
 *  - Zero-copy: every slice points into the caller's buffer and stays valid
 *    as long as those bytes do. Nothing is allocated; headers go into an
 *    array the caller provides with its capacity.
 *  - Incremental: pass the whole message head received so far (picohttpparser
 *    style). On EM_EAGAIN, call again with the same bytes plus more. The
 *    parser keeps its state (position, token starts, fields found, framing
 *    so far) and resumes where it stopped, so no byte is validated twice;
 *    the only look-back is a CR waiting for its LF and the whitespace
 *    trimmed around a value. The buffer may move between calls (a realloc):
 *    the slices found so far are rebased onto the new address. Any split of
 *    the same bytes gives the same result: each error is reported as soon
 *    as the bytes that decide it have arrived (a limit, as soon as it is
 *    crossed). The chunked decoder instead consumes as it goes (see below).
 *  - Strict: bare LF and bare CR line endings are rejected (EM_EBADEOL), as
 *    are obs-fold, whitespace before a colon, control characters and every
 *    ambiguous framing (RFC 9112 §6.3, §11.2). Each class of error has its
 *    own code, and em_http_status_for_error() maps it to the status a server
 *    answers with.
 *  - A return other than EM_EAGAIN leaves the parser ready for the next
 *    message (pipelining: call again with buf + the returned count).
 */

/* Default limits (a zero field in em_http_limits selects these). */
#define EM_HTTP_DEFAULT_MAX_START_LINE    8192u /* request/status line, CRLF included */
#define EM_HTTP_DEFAULT_MAX_HEADER_BYTES  8192u /* field lines + final CRLF */
#define EM_HTTP_DEFAULT_MAX_HEADERS       100u
#define EM_HTTP_DEFAULT_MAX_BODY          (10u * 1024u * 1024u)
#define EM_HTTP_DEFAULT_MAX_CHUNK_EXT     1024u /* per chunk line */
#define EM_HTTP_DEFAULT_MAX_TRAILER_BYTES 8192u
#define EM_HTTP_DEFAULT_MAX_TRAILERS      32u

/* Limits of one parser. A zero field means the default above; use
 * SIZE_MAX/UINT64_MAX for "unlimited". Each has its own error when crossed:
 * start line -> EM_EURITOOLONG (414), header bytes -> EM_EHDRTOOLARGE (431),
 * header count -> EM_ETOOMANYHDRS (431), body -> EM_EBODYTOOLARGE (413,
 * checked against Content-Length when the head completes, and against the
 * running total of a chunked body), chunk extension -> EM_EEXTTOOLONG (413),
 * trailer bytes/count -> EM_EHDRTOOLARGE / EM_ETOOMANYHDRS. */
typedef struct em_http_limits {
    size_t max_start_line;
    size_t max_header_bytes;
    size_t max_headers;
    uint64_t max_body;
    size_t max_chunk_ext;
    size_t max_trailer_bytes;
    size_t max_trailers;
} em_http_limits;

/* Request methods the parser recognises (case-sensitive, RFC 9110 §9.1).
 * Any other valid token is EM_HTTP_METHOD_OTHER; read req->method. */
typedef enum em_http_method {
    EM_HTTP_METHOD_OTHER = 0,
    EM_HTTP_GET,
    EM_HTTP_HEAD,
    EM_HTTP_POST,
    EM_HTTP_PUT,
    EM_HTTP_DELETE,
    EM_HTTP_CONNECT,
    EM_HTTP_OPTIONS,
    EM_HTTP_TRACE,
    EM_HTTP_PATCH
} em_http_method;

/* RFC 9112 §3.2: the four forms of request-target. */
typedef enum em_http_target_form {
    EM_HTTP_TARGET_ORIGIN = 0, /* "/path?query" */
    EM_HTTP_TARGET_ABSOLUTE,   /* "http://host/path" (to proxies) */
    EM_HTTP_TARGET_AUTHORITY,  /* "host:port", CONNECT only */
    EM_HTTP_TARGET_ASTERISK    /* "*", OPTIONS only */
} em_http_target_form;

/* How the message body is delimited (RFC 9112 §6.3). */
typedef enum em_http_body {
    EM_HTTP_BODY_NONE = 0,    /* no body (or Content-Length: 0) */
    EM_HTTP_BODY_LENGTH,      /* content_length bytes follow the head */
    EM_HTTP_BODY_CHUNKED,     /* decode with em_http_chunked_decode() */
    EM_HTTP_BODY_UNTIL_CLOSE  /* responses only: the body ends at EOF */
} em_http_body;

/* Header fields the parser classifies while parsing (case-insensitively);
 * every other field is EM_HTTP_HDR_OTHER. */
typedef enum em_http_hdr {
    EM_HTTP_HDR_OTHER = 0,
    EM_HTTP_HDR_CONTENT_LENGTH,
    EM_HTTP_HDR_TRANSFER_ENCODING,
    EM_HTTP_HDR_CONNECTION,
    EM_HTTP_HDR_HOST,
    EM_HTTP_HDR_EXPECT,
    EM_HTTP_HDR_UPGRADE
} em_http_hdr;

/* Framing facts recorded while parsing (em_http_request.flags,
 * em_http_response.flags). */
enum {
    EM_HTTP_F_CONTENT_LENGTH = 1u << 0,    /* a valid Content-Length was present */
    EM_HTTP_F_TRANSFER_ENCODING = 1u << 1, /* a Transfer-Encoding was present */
    EM_HTTP_F_CHUNKED = 1u << 2,           /* ... and its final coding is chunked */
    EM_HTTP_F_TE_CODED = 1u << 3,  /* ... with other codings (gzip, deflate, compress) too */
    EM_HTTP_F_CONN_CLOSE = 1u << 4,        /* Connection: close */
    EM_HTTP_F_CONN_KEEP_ALIVE = 1u << 5,   /* Connection: keep-alive */
    EM_HTTP_F_CONN_UPGRADE = 1u << 6,      /* Connection: upgrade */
    EM_HTTP_F_UPGRADE = 1u << 7,           /* an Upgrade field was present */
    EM_HTTP_F_EXPECT_CONTINUE = 1u << 8,   /* Expect: 100-continue (HTTP/1.1 only) */
    EM_HTTP_F_EXPECT_OTHER = 1u << 9,      /* another expectation: answer 417 */
    EM_HTTP_F_HOST = 1u << 10,             /* a Host field was present */
    EM_HTTP_F_KEEP_ALIVE = 1u << 11, /* the connection persists after this message */
    EM_HTTP_F_TUNNEL = 1u << 12      /* 2xx to CONNECT or 101: bytes after the head
                                        belong to another protocol */
};

/* One header (or trailer) field. name is the field name as received; value
 * has leading and trailing whitespace removed and may be empty. Both point
 * into the parsed buffer. */
typedef struct em_http_header {
    em_slice name;
    em_slice value;
    em_http_hdr id;
} em_http_header;

/* Parser state for request and response heads. Valid zero-filled (default
 * limits); em_http_parser_init() sets custom limits. Private fields start
 * with '_'. */
typedef struct em_http_parser {
    const em_http_limits *limits; /* NULL: defaults; must outlive the parser */
    const char *_base;            /* buf of the previous call */
    uint64_t _cl;                 /* Content-Length so far */
    size_t _pos;                  /* bytes examined and found valid */
    size_t _mark;                 /* start of the token in progress */
    size_t _name_len;             /* length of the field name in progress */
    size_t _fields;               /* offset of the first field line */
    size_t _nhdr;                 /* fields stored so far */
    size_t _host;                 /* index + 1 of the Host field, 0: none */
    unsigned _flags;              /* EM_HTTP_F_* so far */
    unsigned char _state;
    unsigned char _te;            /* transfer-coding progress */
} em_http_parser;

/* A parsed request head. Set headers and max_headers before the first call;
 * the parser fills in the rest. Slices are valid while the buffer is. */
typedef struct em_http_request {
    em_http_header *headers; /* in: caller's array (out: its first num_headers) */
    size_t max_headers;      /* in: its capacity */
    size_t num_headers;
    em_slice method;
    em_slice target;
    em_slice host;           /* Host field value; empty when absent */
    uint64_t content_length; /* with EM_HTTP_F_CONTENT_LENGTH */
    em_http_method method_id;
    em_http_target_form target_form;
    em_http_body body;
    unsigned flags;          /* EM_HTTP_F_* */
    int version_minor;       /* 0 or 1 (HTTP/1.x) */
} em_http_request;

/* A parsed response head. Set headers and max_headers before the first call. */
typedef struct em_http_response {
    em_http_header *headers;
    size_t max_headers;
    size_t num_headers;
    em_slice reason;         /* may be empty */
    uint64_t content_length; /* with EM_HTTP_F_CONTENT_LENGTH */
    int status;              /* 100..599 */
    em_http_body body;
    unsigned flags;
    int version_minor;
} em_http_response;

/* Chunked body decoder state. Valid zero-filled (default limits, trailers
 * validated but not stored); em_http_chunked_init() sets limits. To keep the
 * trailer fields, point trailers at an array of max_trailers entries. */
typedef struct em_http_chunked {
    const em_http_limits *limits; /* NULL: defaults */
    em_http_header *trailers;     /* in: array for the trailer fields, or NULL */
    size_t max_trailers;          /* in: its capacity */
    size_t num_trailers;          /* out: trailer fields stored */
    uint64_t _remaining;          /* data bytes left in the current chunk */
    uint64_t _total;              /* data bytes so far */
    size_t _count;                /* size digits or extension bytes so far */
    unsigned char _state;
    em_http_parser _tp;           /* trailer section parser */
} em_http_chunked;

/* Reset p for a new message with the given limits (NULL: defaults; the
 * struct is borrowed, not copied). */
EM_API void em_http_parser_init(em_http_parser *p, const em_http_limits *limits);

/* Parse a request head from buf[0, len) (everything received so far, see
 * the contract above). Returns the head's length in bytes (the body, if
 * any, starts there), EM_EAGAIN when the head is incomplete, or an error:
 * EM_EPARSE, EM_EBADEOL, EM_EBADMETHOD, EM_EBADTARGET, EM_EBADVERSION,
 * EM_EBADHEADER, EM_EOBSFOLD, EM_EBADHOST, EM_EBADCL, EM_EBADTE, EM_ECLTE,
 * EM_ENOTIMPL (unknown transfer coding), EM_EURITOOLONG, EM_EHDRTOOLARGE,
 * EM_ETOOMANYHDRS, EM_EBODYTOOLARGE. Pass the same req on every call. */
EM_API EM_NODISCARD ssize_t em_http_parse_request(em_http_parser *p, const char *buf, size_t len,
                                                  em_http_request *req);

/* Parse a response head; req_method is the method of the request it
 * answers (HEAD: no body whatever the fields say; CONNECT: 2xx opens a
 * tunnel). A 1xx response other than 101 is interim: parse the next head
 * after it. Same returns as em_http_parse_request(), with EM_EPARSE for a
 * malformed status line (status outside 100..599 included) and
 * EM_EHDRTOOLARGE for one longer than max_start_line. Host and Expect
 * carry no meaning in a response and are not checked. */
EM_API EM_NODISCARD ssize_t em_http_parse_response(em_http_parser *p, const char *buf, size_t len,
                                                   em_http_method req_method,
                                                   em_http_response *resp);

/* Reset c for a new chunked body (limits: NULL for defaults; borrowed).
 * Keeps c->trailers and c->max_trailers. */
EM_API void em_http_chunked_init(em_http_chunked *c, const em_http_limits *limits);

/* Decode chunked framing from buf[0, len). Returns the bytes consumed (> 0)
 * and sets *data to the body bytes among them (a slice of buf, possibly
 * empty; at most one run per call, so loop); EM_EAGAIN when nothing can be
 * consumed yet (call again with these bytes plus more); or EM_EBADCHUNK,
 * EM_EEXTTOOLONG, EM_EBODYTOOLARGE, or a trailer error (EM_EBADHEADER,
 * EM_EHDRTOOLARGE, EM_ETOOMANYHDRS, ...). Size lines and data are consumed
 * as they arrive; the trailer section is consumed only once complete, so
 * its slices stay in the caller's buffer. When em_http_chunked_done()
 * turns true, the message ended exactly at the returned count. */
EM_API EM_NODISCARD ssize_t em_http_chunked_decode(em_http_chunked *c, const char *buf,
                                                   size_t len, em_slice *data);

/* True once the last chunk and the trailer section have been decoded. */
EM_API bool em_http_chunked_done(const em_http_chunked *c);

/* Body bytes decoded so far. */
static inline uint64_t em_http_chunked_total(const em_http_chunked *c) { return c->_total; }

/* The status a server answers a parse error with: 400, 413, 414, 431, 501
 * or 505; 500 for errors that are not about the request (EM_ENOMEM, ...);
 * 0 for err >= 0 and EM_EAGAIN. */
EM_API int em_http_status_for_error(int err);

/* The standard reason phrase of status ("Not Found"), or "" if unknown.
 * Static storage. */
EM_API const char *em_http_status_reason(int status);

/* The method's name ("GET"); "" for EM_HTTP_METHOD_OTHER. Static storage. */
EM_API const char *em_http_method_name(em_http_method m);

/* Classify a method token (case-sensitive). */
EM_API em_http_method em_http_method_id(em_slice method);

/* Classify a field name (case-insensitive). */
EM_API em_http_hdr em_http_header_id(em_slice name);

/* The first field named name (case-insensitive) among h[0, n), or NULL. */
EM_API const em_http_header *em_http_header_find(const em_http_header *h, size_t n,
                                                 em_slice name);

/* The first field with classified id among h[0, n), or NULL. */
EM_API const em_http_header *em_http_header_find_id(const em_http_header *h, size_t n,
                                                    em_http_hdr id);

/* True if the comma-separated list contains token (case-insensitive, OWS
 * around elements ignored), as for Connection or Upgrade values. */
EM_API bool em_http_list_has_token(em_slice list, em_slice token);

/* ======================================================================== */
/* ---- router: method + path patterns to targets -------------------------- */
/* ======================================================================== */

/* ---- constants -------------------------------------------------------- */

/* Most captures (":name" and "*name") one pattern may hold; a match never
 * returns more. Adding a pattern with more fails with EM_ELIMIT. */
#define EM_HTTP_ROUTER_MAX_PARAMS 8
/* Most segments in one pattern (EM_ELIMIT past it). Bounds the trie depth,
 * and with it the matcher's recursion. Paths may have any number. */
#define EM_HTTP_ROUTER_MAX_SEGMENTS 128
/* Longest capture name in bytes (EM_ELIMIT past it). */
#define EM_HTTP_ROUTER_MAX_NAME 255
/* One more than the largest em_http_method (EM_HTTP_PATCH), which
 * router.c checks at compile time. */
#define EM_HTTP_ROUTER_NMETHODS 10
/* Room for the longest Allow value em_http_router_allow_format() writes
 * (all nine methods) plus a NUL the caller may add. */
#define EM_HTTP_ROUTER_ALLOW_MAX 64

/* ---- types ------------------------------------------------------------ */

/* Methods are the parser's em_http_method (in "ember/http.h"); each is
 * routed on its own and masks use EM_HTTP_METHOD_BIT(m). Values run from 0
 * (EM_HTTP_METHOD_OTHER, an unrecognised token, never routed) to below
 * EM_HTTP_ROUTER_NMETHODS. */
#define EM_HTTP_METHOD_BIT(m) (1u << (unsigned)(m))

/* The outcome of em_http_router_match(). */
typedef enum em_http_route_result {
    EM_HTTP_ROUTE_FOUND,              /* target and params are set */
    EM_HTTP_ROUTE_NOT_FOUND,          /* no route has this path: 404 */
    EM_HTTP_ROUTE_METHOD_NOT_ALLOWED, /* path known, method not: 405 + Allow */
} em_http_route_result;

/* One capture. `name` points into the router (valid until the next
 * em_http_router_add() or em_http_router_free()); `value` points into the
 * path given to em_http_router_match() (valid as long as those bytes). */
typedef struct em_http_route_param {
    em_slice name;
    em_slice value;
} em_http_route_param;

/* Filled by em_http_router_match(); caller-owned, usually on the stack. */
typedef struct em_http_route_match {
    void *target;     /* FOUND: the route's target; otherwise NULL */
    unsigned allowed; /* METHOD_NOT_ALLOWED: EM_HTTP_METHOD_BIT mask of the
                         methods the path accepts (HEAD whenever GET);
                         otherwise 0 */
    unsigned nparams; /* FOUND: captures in pattern order; otherwise 0 */
    em_http_route_param params[EM_HTTP_ROUTER_MAX_PARAMS];
} em_http_route_match;

struct em__http_router_node; /* private to http/router.c */
struct em__http_router_slot;

/* A router. A complete type so it can be embedded; all fields are private.
 * A zero-filled struct is an empty router, as is one after
 * em_http_router_init(). Allocation happens only in em_http_router_add(). */
typedef struct em_http_router {
    struct em__http_router_node *_nodes; /* _nodes[0] is the root, after the first '/' */
    uint32_t _nnodes, _nodes_cap;
    struct em__http_router_slot *_slots; /* routes ending at one node, per method */
    uint32_t _nslots, _slots_cap;
    char *_bytes; /* literal segment text and capture names */
    size_t _nbytes, _bytes_cap;
} em_http_router;

/* ---- functions -------------------------------------------------------- */

/* Make r an empty router. Allocates nothing; cannot fail. */
EM_API void em_http_router_init(em_http_router *r);

/* Free everything r allocated and leave it empty (reusable after). Names
 * handed out by earlier matches become invalid. Targets are not touched:
 * they belong to the caller. */
EM_API void em_http_router_free(em_http_router *r);

/* Route `method` + `pattern` to `target` (any pointer, even NULL). The
 * pattern bytes are copied; the caller may free them after the call.
 * Returns 0, or:
 *   EM_EINVAL  EM_HTTP_METHOD_OTHER, a value outside the enum, or a bad
 *              pattern: empty, no leading '/', empty or invalid capture
 *              name, a name twice, '*' not last, a forbidden byte;
 *   EM_EEXIST  this method already has a route of the same shape (patterns
 *              equal once capture names are ignored: "/u/:id" = "/u/:uid");
 *              the existing route is kept;
 *   EM_ELIMIT  more than EM_HTTP_ROUTER_MAX_PARAMS captures, more than
 *              EM_HTTP_ROUTER_MAX_SEGMENTS segments, or a name too long;
 *   EM_ENOMEM  out of memory.
 * On error no route is added and existing routes match as before. Capture
 * names belong to each route, so "GET /u/:id" and "GET /u/:uid/posts" may
 * name the same position differently. Invalidates the names of earlier
 * matches. Not safe concurrently with any other call on r. */
EM_API EM_NODISCARD int em_http_router_add(em_http_router *r, em_http_method method,
                                           em_slice pattern, void *target);

/* Match a request path (the request target without "?query", not decoded)
 * for `method` and fill *m. Returns:
 *   FOUND               the best route for method (see the priority rules at
 *                       the top of this header); HEAD uses the GET route of
 *                       the same pattern when the pattern has no HEAD route;
 *   METHOD_NOT_ALLOWED  some route matches the path but none for method;
 *                       m->allowed is the union over every matching route;
 *   NOT_FOUND           nothing matches (also for "" and paths without a
 *                       leading '/').
 * EM_HTTP_METHOD_OTHER (an unknown token) or a value outside the enum
 * never matches, so it yields 405 or 404 here (em_http_router_handler
 * answers 501 for OTHER before matching). Allocates nothing. Each trie
 * node is visited at most once and looks at one path segment (a binary
 * search among its literal children), so a match is one pass over the path
 * plus any backtracking, which the trie's size bounds. Reads r only: safe
 * from many threads at once while nobody adds routes. */
EM_API em_http_route_result em_http_router_match(const em_http_router *r, em_http_method method,
                                                 em_slice path, em_http_route_match *m);

/* Find the capture called `name` in m; on success store it in *value and
 * return true, else return false and leave *value alone. */
EM_API bool em_http_route_match_param(const em_http_route_match *m, em_slice name, em_slice *value);

/* Write the Allow header value for `allowed` (an EM_HTTP_METHOD_BIT mask)
 * to buf: method names in enum order joined by ", " ("GET, HEAD, POST"),
 * with no NUL. Bits beyond the enum are ignored; an empty mask writes
 * nothing. Returns the length, or EM_ENOBUFS if cap is too small
 * (EM_HTTP_ROUTER_ALLOW_MAX always suffices). */
EM_API ssize_t em_http_router_allow_format(unsigned allowed, char *buf, size_t cap);

/* ======================================================================== */
/* ---- server: handlers, responses, streaming, the server itself --------- */
/* ======================================================================== */
/*
 * A server runs on one loop (em_http_server_start) or on N loops, one per
 * core, each with its own SO_REUSEPORT listener (em_http_serve). Every
 * request reaches a handler with an em_http_ctx: the parsed request, the
 * whole body, route parameters and the application state. The handler
 * answers with em_http_respond*() before it returns (the common case), or
 * calls em_http_defer() and answers later from the same loop (the async
 * responder), or streams a chunked body with em_http_stream_*().
 *
 * Pipelined requests are parsed together and answered in order; responses
 * made during one read go out in one writev. While a response is deferred or
 * the client is not reading (the connection is throttled), the server stops
 * reading from that client.
 *
 * Some requests never reach a handler: those the parser refuses (400, 413,
 * 414, 431, 501, 505: em_http_status_for_error), an expectation other than
 * 100-continue (417), a transfer coding besides chunked ("gzip, chunked":
 * 501, since the server would hand over a still-coded body), and a path
 * with a "." or ".." segment (400, see allow_dot_segments). Each answer
 * closes the connection. The router handler adds 404, 405 with Allow, and
 * 501 for a method it does not know.
 */

typedef struct em_http_server em_http_server;
typedef struct em_http_ctx em_http_ctx;
typedef struct em_http_handler em_http_handler;
struct em__http_conn;
struct em__http_exchange;

/* A handler, or a middleware: h->next is the handler a middleware wraps
 * (call it with em_http_next()), h->data its own state. Handlers are
 * immutable and shared by every request and worker thread. */
typedef void (*em_http_handler_fn)(em_http_ctx *cx, const em_http_handler *h);
struct em_http_handler {
    em_http_handler_fn fn;
    const em_http_handler *next;
    void *data;
};

/* Call the handler a middleware wraps. */
static inline void em_http_next(em_http_ctx *cx, const em_http_handler *h) {
    h->next->fn(cx, h->next);
}

/* Streaming callbacks (em_http_stream_start), all optional. */
typedef struct em_http_stream_cbs {
    /* Every chunk with a token <= token has been taken by the kernel. */
    void (*on_sent)(em_http_ctx *cx, uint64_t token);
    /* The client reads slowly: queued output crossed the high watermark. */
    void (*on_throttled)(em_http_ctx *cx);
    /* Queued output fell back to the low watermark: write more. */
    void (*on_unthrottled)(em_http_ctx *cx);
    /* The connection died before the stream or deferred response ended
     * (client gone, write timeout, forced shutdown). cx stays valid until
     * this returns; do not touch it afterwards. */
    void (*on_abort)(em_http_ctx *cx, int err);
} em_http_stream_cbs;

/* One request. Its slices point into the connection's buffers and stay
 * valid until the response is complete (for a deferred or streamed
 * response: until em_http_respond*() or em_http_stream_end() returns). */
struct em_http_ctx {
    em_http_request req;        /* method, target, headers, version, flags */
    em_slice path;              /* target up to '?' (origin-form); raw, not decoded */
    em_slice query;             /* after '?', without it; empty if none */
    em_slice body;              /* the whole request body (de-chunked) */
    em_http_route_match route;  /* filled by em_http_router_handler */
    void *app;                  /* em_http_server_opts.app */
    void *user;                 /* free for handlers and middleware */
    em_http_server *server;
    /* private */
    struct em__http_conn *_conn;
    const em_http_stream_cbs *_scbs;
    unsigned _state;
    int _status;
    uint64_t _sent;             /* response body bytes, for the access log */
};

typedef struct em_http_server_opts {
    const em_http_handler *handler; /* required */
    void *app;                      /* passed to every handler as cx->app */
    em_http_limits limits;          /* zero fields: parser defaults */
    unsigned max_connections;       /* 0: 100000; beyond it: 503 + close */
    unsigned max_requests;          /* per connection; 0: unlimited */
    unsigned header_timeout_ms;     /* first byte to end of head (0: 10 s) */
    unsigned body_timeout_ms;       /* between body reads (0: 30 s) */
    unsigned idle_timeout_ms;       /* keep-alive idle (0: 60 s) */
    unsigned write_timeout_ms;      /* no write progress (0: 30 s) */
    unsigned shutdown_timeout_ms;   /* graceful shutdown deadline (0: 10 s) */
    bool reuseport;                 /* SO_REUSEPORT on the listener */
    int access_log_fd;              /* > 0: access log (common log format, UTC) written
                                       to this fd by a background thread, so a
                                       slow disk never blocks the loop; 0: off */
    bool stream_bodies;             /* call handlers once the head is complete and
                                       let them read bodies in pieces with
                                       em_http_body_read (default: bodies
                                       arrive whole in cx->body) */
    bool allow_dot_segments;        /* hand paths with "." or ".." segments (plain
                                       or %2e) to the handler; default: 400,
                                       since browsers and curl remove them
                                       before sending, and a "*rest" capture
                                       of "../../etc/passwd" is how file
                                       servers get broken into */
    unsigned workers;               /* em_http_serve only: loops (0: 1) */
    bool pin_workers;               /* em_http_serve only: pin to cores */
} em_http_server_opts;

/* A server on one loop. Complete so it can be embedded; fields private. */
struct em_http_server {
    void *data;
    em_tcp_server tcp;
    em_loop *_loop;
    em_http_server_opts _opts;
    em_timer _date_timer;
    em_timer _shutdown_timer;
    char _date[40];               /* "Date: ...GMT\r\n", refreshed per second */
    size_t _date_len;
    em_buf _out;                  /* responses of the burst being built */
    em_buf _aout;                 /* a deferred response being built */
    struct em__http_conn *_out_conn; /* whose burst _out holds */
    struct em__http_conn *_conns; /* every open connection */
    struct em__http_exchange *_free_ex; /* recycled request state */
    unsigned _nconns, _nalive, _nfree_ex; /* open, not yet freed, pooled */
    em_task _task;
    void (*_on_closed)(em_http_server *srv);
    struct em__http_log *_log;    /* access log, when on */
    uint64_t requests;            /* statistics */
    uint64_t rejected;            /* 503s from admission control */
    unsigned _flags;
};

/* Listen on addr and serve on loop. Returns 0 or em_err. opts is copied;
 * the handler it points to must outlive the server. */
EM_API EM_NODISCARD int em_http_server_start(em_loop *loop, em_http_server *srv,
                                             const em_sockaddr *addr,
                                             const em_http_server_opts *opts);
/* Graceful shutdown: stop accepting, close idle connections, let in-flight
 * requests finish (their responses carry Connection: close) and force-close
 * whatever is left after shutdown_timeout_ms. cb (may be NULL) runs once
 * every connection is closed; the server may be freed there. */
EM_API void em_http_server_shutdown(em_http_server *srv, void (*cb)(em_http_server *srv));
/* Open connections. */
EM_API unsigned em_http_server_connections(const em_http_server *srv);
/* The listening address (to learn the port after binding port 0). */
EM_API int em_http_server_addr(const em_http_server *srv, em_sockaddr *out);

/* Run opts->workers loops on as many threads, each with its own
 * SO_REUSEPORT listener on addr, until SIGINT or SIGTERM (then a graceful
 * shutdown) or em_http_serve_stop(). Blocks. ready (may be NULL) is called
 * once every worker listens, with the bound address. Returns 0 or em_err. */
EM_API int em_http_serve(const em_sockaddr *addr, const em_http_server_opts *opts,
                         void (*ready)(const em_sockaddr *bound, void *arg), void *arg);

/* ---- responses ---------------------------------------------------------- */

/* Add a response header for the response being built. Name must be a token
 * and value free of CR, LF and NUL (else EM_EINVAL). Copied. */
EM_API EM_NODISCARD int em_http_header_add(em_http_ctx *cx, em_slice name, em_slice value);
/* Answer with status, a Content-Type (empty: none) and body (copied, so it
 * may be freed on return). Content-Length, Date, Server and Connection are
 * added. A HEAD request gets the same headers and no body. Returns 0,
 * EM_EALREADY if cx was answered, or EM_ECLOSED if the client is gone (a
 * deferred cx is released either way). */
EM_API int em_http_respond(em_http_ctx *cx, int status, em_slice content_type, em_slice body);
/* em_http_respond with text/plain and a NUL-terminated body. */
EM_API int em_http_respond_text(em_http_ctx *cx, int status, const char *text);

/* A response built once and reused as immutable bytes: the status line and
 * fixed headers, then the body. Sending it copies nothing but the Date
 * line and the Connection header. */
typedef struct em_http_prebuilt {
    char *_head; /* status line and fixed headers, no final CRLF */
    size_t _head_len;
    em_slice _body;
    int _status;
} em_http_prebuilt;
/* Build; body is borrowed and must outlive p. Returns 0 or EM_ENOMEM. */
EM_API EM_NODISCARD int em_http_prebuilt_init(em_http_prebuilt *p, int status,
                                              em_slice content_type, em_slice body);
EM_API void em_http_prebuilt_free(em_http_prebuilt *p);
EM_API int em_http_respond_prebuilt(em_http_ctx *cx, const em_http_prebuilt *p);

/* Take the response out of the handler: it returns without answering and
 * calls em_http_respond*() or em_http_stream_*() later, on the loop's
 * thread. cbs (may be NULL) tells it if the client goes away first. */
EM_API void em_http_defer(em_http_ctx *cx, const em_http_stream_cbs *cbs);

/* ---- streaming responses (chunked) -------------------------------------- */

/* Send the head of a chunked response (status, Content-Type, headers added
 * so far) and keep cx open for chunks. Implies em_http_defer(cx, cbs).
 * Returns 0, EM_ENOTSUP for an HTTP/1.0 client (chunked is not available:
 * nothing was sent, answer with em_http_respond instead), EM_EALREADY, or
 * EM_ECLOSED. */
EM_API EM_NODISCARD int em_http_stream_start(em_http_ctx *cx, int status, em_slice content_type,
                                             const em_http_stream_cbs *cbs);
/* Send one chunk (empty data is skipped). data is copied only if the kernel
 * does not take it at once. *token (may be NULL) identifies it for
 * cbs->on_sent. Returns 0, EM_ENOBUFS when the connection's queue is full
 * (wait for on_unthrottled), or EM_ECLOSED. */
EM_API EM_NODISCARD int em_http_stream_write(em_http_ctx *cx, em_slice data, uint64_t *token);
/* End the stream (the last chunk). cx is released: do not touch it after. */
EM_API int em_http_stream_end(em_http_ctx *cx);
/* True while the stream's client reads slower than it is written. */
EM_API bool em_http_stream_throttled(const em_http_ctx *cx);

/* ---- streamed request bodies (em_http_server_opts.stream_bodies) ---------- */

/* A piece of the request body (de-chunked), valid during the call.
 * status 0: more pieces follow. EM_EOF: this is the last piece (it may be
 * empty); answer now or later. Any other (negative) status: the body will
 * never complete (the client went away, a chunk was malformed, the body
 * timed out); piece is empty, and cx is released when the callback
 * returns: do not touch it afterwards. An answer given before the last
 * piece closes the connection once sent, the rest of the body unread. */
typedef void (*em_http_body_cb)(em_http_ctx *cx, em_slice piece, int status);
/* Start receiving the body of cx in pieces (implies em_http_defer). While
 * the body arrives, a broken connection is reported through cb (not
 * on_abort). Only with stream_bodies and a request that has a body (check
 * cx->req.body != EM_HTTP_BODY_NONE). Returns 0 or EM_EINVAL. */
EM_API EM_NODISCARD int em_http_body_read(em_http_ctx *cx, em_http_body_cb cb);

/* ---- routing and middleware ----------------------------------------------- */

/* A handler that routes with r (whose targets are const em_http_handler *):
 * fills cx->route and calls the route's handler; answers 404, or 405 with an
 * Allow header. HEAD is served by GET routes. */
EM_API void em_http_router_handler(em_http_ctx *cx, const em_http_handler *h);
/* The handler struct for router r. */
static inline em_http_handler em_http_router_as_handler(const em_http_router *r) {
    em_http_handler h = { em_http_router_handler, NULL, (void *)r };
    return h;
}
/* A route parameter by name; empty slice if absent. */
EM_API em_slice em_http_param(const em_http_ctx *cx, const char *name);
/* The first request header named name (case-insensitive); empty if absent. */
EM_API em_slice em_http_request_header(const em_http_ctx *cx, const char *name);

/* ---- URL helpers ---------------------------------------------------------- */

/* em_http_percent_decode flags. */
#define EM_HTTP_DECODE_FORM    1u /* '+' is a space (form-encoded query values) */
#define EM_HTTP_DECODE_SEGMENT 2u /* one path segment or capture: refuse %2F
                                     ('/') and %00 rather than decode them */

/* Percent-decode in (RFC 3986 §2.1) into out[cap]; no NUL is added. The
 * result is never longer than in, so cap >= in.len always suffices, and
 * out may be in.ptr (decoding in place). Returns the decoded length, or
 * EM_EINVAL for a '%' not followed by two hex digits (or, with
 * EM_HTTP_DECODE_SEGMENT, an encoded '/' or NUL), EM_ENOBUFS if cap is too
 * small. Route captures and cx->path are raw; decode what you use:
 *   char id[64];
 *   ssize_t n = em_http_percent_decode(em_http_param(cx, "id"), id, sizeof id,
 *                                      EM_HTTP_DECODE_SEGMENT); */
EM_API ssize_t em_http_percent_decode(em_slice in, char *out, size_t cap, unsigned flags);

/* Look name up in a query string (cx->query: what follows '?'): the first
 * "key=value" pair, split at '&', whose key form-decodes ('+' and %XX) to
 * exactly name. Stores its value, raw (decode it with EM_HTTP_DECODE_FORM),
 * and returns true; a key without '=' has an empty value. Returns false,
 * leaving *value alone, when no key matches. Allocates nothing:
 *   em_slice q;
 *   char text[256];
 *   if (em_http_query_get(cx->query, EM_SLICE_LIT("q"), &q)) {
 *       ssize_t n = em_http_percent_decode(q, text, sizeof text, EM_HTTP_DECODE_FORM);
 *       ...
 *   } */
EM_API bool em_http_query_get(em_slice query, em_slice name, em_slice *value);

/* Whether path has a "." or ".." segment, written plainly or percent-encoded
 * ("%2e", ".%2E", ...). The server answers such requests 400 unless
 * em_http_server_opts.allow_dot_segments is set. */
EM_API bool em_http_path_has_dot_segment(em_slice path);


#ifdef __cplusplus
}
#endif
#endif
