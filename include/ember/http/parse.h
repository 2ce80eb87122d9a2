/** @file
 * ember http, part one: HTTP/1.1 message parsing (requests, responses,
 * chunked bodies), field lookups, and URL helpers (percent-decoding, query
 * lookup, dot segments). Pure functions over the caller's bytes, shared by
 * the server and the client. Included by "ember/http.h".
 *
 * Threading: nothing here is thread-safe per object; use each parser from
 * one thread at a time. Different parsers may run on different threads.
 */
#ifndef EMBER_HTTP_PARSE_H
#define EMBER_HTTP_PARSE_H

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
 *    are obs-fold in requests (EM_EOBSFOLD), whitespace before a colon,
 *    control characters and every ambiguous framing (RFC 9112 §6.3, §11.2).
 *    Each class of error has its own code, and em_http_status_for_error()
 *    maps it to the status a server answers with.
 *  - A response's obs-fold (RFC 9112 §5.2: a user agent MUST take it as SP)
 *    is accepted after a field ember does not interpret: that field's value
 *    then runs over the fold, its CR LF bytes included, and the response
 *    has EM_HTTP_F_OBS_FOLD; replace CR and LF in the values with SP before
 *    using them (the HTTP client does). A fold after a field that frames or
 *    steers the message (Content-Length, Transfer-Encoding, Connection, ...)
 *    stays an error (EM_EOBSFOLD).
 *  - HTTP/1.2 and up are read as HTTP/1.1 (RFC 9110 §2.5); another major
 *    version is EM_EBADVERSION (505).
 *  - A return other than EM_EAGAIN leaves the parser ready for the next
 *    message (pipelining: call again with buf + the returned count).
 */

/** Default limits (a zero field in em_http_limits selects these). */
#define EM_HTTP_DEFAULT_MAX_START_LINE    8192u /**< request/status line, CRLF included */
#define EM_HTTP_DEFAULT_MAX_HEADER_BYTES  8192u /**< field lines + final CRLF */
#define EM_HTTP_DEFAULT_MAX_HEADERS       100u  /**< field lines */
#define EM_HTTP_DEFAULT_MAX_BODY          (10u * 1024u * 1024u) /**< 10 MiB */
#define EM_HTTP_DEFAULT_MAX_CHUNK_EXT     1024u /**< per chunk line */
#define EM_HTTP_DEFAULT_MAX_TRAILER_BYTES 8192u /**< trailer section bytes */
#define EM_HTTP_DEFAULT_MAX_TRAILERS      32u /**< trailer fields */

/** Limits of one parser. A zero field means the default above; use
 * SIZE_MAX/UINT64_MAX for "unlimited". Each has its own error when crossed:
 * start line -> EM_EURITOOLONG (414), header bytes -> EM_EHDRTOOLARGE (431),
 * header count -> EM_ETOOMANYHDRS (431), body -> EM_EBODYTOOLARGE (413,
 * checked against Content-Length when the head completes, and against the
 * running total of a chunked body), chunk extension -> EM_EEXTTOOLONG (413),
 * trailer bytes/count -> EM_EHDRTOOLARGE / EM_ETOOMANYHDRS. */
typedef struct em_http_limits {
    size_t max_start_line;    /**< request or status line, CRLF included */
    size_t max_header_bytes;  /**< field lines plus the final CRLF */
    size_t max_headers;       /**< field lines */
    uint64_t max_body;        /**< body bytes (Content-Length or chunked total) */
    size_t max_chunk_ext;     /**< extension bytes per chunk line */
    size_t max_trailer_bytes; /**< trailer section bytes */
    size_t max_trailers;      /**< trailer fields */
} em_http_limits;

/** Request methods the parser recognises (case-sensitive, RFC 9110 §9.1).
 * Any other valid token is EM_HTTP_METHOD_OTHER; read req->method. */
typedef enum em_http_method {
    EM_HTTP_METHOD_OTHER = 0, /**< another valid token */
    EM_HTTP_GET,              /**< GET */
    EM_HTTP_HEAD,             /**< HEAD */
    EM_HTTP_POST,             /**< POST */
    EM_HTTP_PUT,              /**< PUT */
    EM_HTTP_DELETE,           /**< DELETE */
    EM_HTTP_CONNECT,          /**< CONNECT */
    EM_HTTP_OPTIONS,          /**< OPTIONS */
    EM_HTTP_TRACE,            /**< TRACE */
    EM_HTTP_PATCH             /**< PATCH (RFC 5789) */
} em_http_method;

/** RFC 9112 §3.2: the four forms of request-target. */
typedef enum em_http_target_form {
    EM_HTTP_TARGET_ORIGIN = 0, /**< "/path?query" */
    EM_HTTP_TARGET_ABSOLUTE,   /**< "http://host/path" (to proxies) */
    EM_HTTP_TARGET_AUTHORITY,  /**< "host:port", CONNECT only */
    EM_HTTP_TARGET_ASTERISK    /**< "*", OPTIONS only */
} em_http_target_form;

/** How the message body is delimited (RFC 9112 §6.3). */
typedef enum em_http_body {
    EM_HTTP_BODY_NONE = 0,    /**< no body (or Content-Length: 0) */
    EM_HTTP_BODY_LENGTH,      /**< content_length bytes follow the head */
    EM_HTTP_BODY_CHUNKED,     /**< decode with em_http_chunked_decode() */
    EM_HTTP_BODY_UNTIL_CLOSE  /**< responses only: the body ends at EOF */
} em_http_body;

/** Header fields the parser classifies while parsing (case-insensitively);
 * every other field is EM_HTTP_HDR_OTHER. */
typedef enum em_http_hdr {
    EM_HTTP_HDR_OTHER = 0,         /**< any other field */
    EM_HTTP_HDR_CONTENT_LENGTH,    /**< Content-Length */
    EM_HTTP_HDR_TRANSFER_ENCODING, /**< Transfer-Encoding */
    EM_HTTP_HDR_CONNECTION,        /**< Connection */
    EM_HTTP_HDR_HOST,              /**< Host */
    EM_HTTP_HDR_EXPECT,            /**< Expect */
    EM_HTTP_HDR_UPGRADE            /**< Upgrade */
} em_http_hdr;

/** Framing facts recorded while parsing (em_http_request.flags,
 * em_http_response.flags). */
enum {
    EM_HTTP_F_CONTENT_LENGTH = 1u << 0,    /**< a valid Content-Length was present */
    EM_HTTP_F_TRANSFER_ENCODING = 1u << 1, /**< a Transfer-Encoding was present */
    EM_HTTP_F_CHUNKED = 1u << 2,           /**< ... and its final coding is chunked */
    EM_HTTP_F_TE_CODED = 1u << 3,  /**< ... with other codings (gzip, deflate, compress) too */
    EM_HTTP_F_CONN_CLOSE = 1u << 4,        /**< Connection: close */
    EM_HTTP_F_CONN_KEEP_ALIVE = 1u << 5,   /**< Connection: keep-alive */
    EM_HTTP_F_CONN_UPGRADE = 1u << 6,      /**< Connection: upgrade */
    EM_HTTP_F_UPGRADE = 1u << 7,           /**< an Upgrade field was present */
    EM_HTTP_F_EXPECT_CONTINUE = 1u << 8,   /**< Expect: 100-continue (HTTP/1.1 only) */
    EM_HTTP_F_EXPECT_OTHER = 1u << 9,      /**< another expectation: answer 417 */
    EM_HTTP_F_HOST = 1u << 10,             /**< a Host field was present */
    EM_HTTP_F_KEEP_ALIVE = 1u << 11, /**< the connection persists after this message */
    EM_HTTP_F_TUNNEL = 1u << 12,     /**< 2xx to CONNECT or 101: bytes after the head
                                        belong to another protocol */
    EM_HTTP_F_OBS_FOLD = 1u << 13    /**< a response value spans an obs-fold: its
                                        CR LF bytes stand for SP (see above) */
};

/** One header (or trailer) field. name is the field name as received; value
 * has leading and trailing whitespace removed and may be empty. Both point
 * into the parsed buffer. */
typedef struct em_http_header {
    em_slice name;  /**< field name as received */
    em_slice value; /**< field value, trimmed; may be empty */
    em_http_hdr id; /**< the name classified; EM_HTTP_HDR_OTHER for the rest */
} em_http_header;

/** Parser state for request and response heads. Valid zero-filled (default
 * limits); em_http_parser_init() sets custom limits. Private fields start
 * with '_'. */
typedef struct em_http_parser {
    const em_http_limits *limits; /**< NULL: defaults; must outlive the parser */
    const char *_base;            /**< buf of the previous call */
    uint64_t _cl;                 /**< Content-Length so far */
    size_t _pos;                  /**< bytes examined and found valid */
    size_t _mark;                 /**< start of the token in progress */
    size_t _name_len;             /**< length of the field name in progress */
    size_t _fields;               /**< offset of the first field line */
    size_t _nhdr;                 /**< fields stored so far */
    size_t _host;                 /**< index + 1 of the Host field, 0: none */
    unsigned _flags;              /**< EM_HTTP_F_* so far */
    unsigned char _state;
    unsigned char _te;            /**< transfer-coding progress */
} em_http_parser;

/** A parsed request head. Set headers and max_headers before the first call;
 * the parser fills in the rest. Slices are valid while the buffer is. */
typedef struct em_http_request {
    em_http_header *headers;         /**< in: caller's array (out: its first num_headers) */
    size_t max_headers;              /**< in: its capacity */
    size_t num_headers;              /**< out: fields stored in headers */
    em_slice method;                 /**< the method token as received */
    em_slice target;                 /**< the request-target, raw (not decoded) */
    em_slice host;                   /**< Host field value; empty when absent */
    uint64_t content_length;         /**< with EM_HTTP_F_CONTENT_LENGTH */
    em_http_method method_id;        /**< method classified */
    em_http_target_form target_form; /**< which form target has */
    em_http_body body;               /**< how the body is framed */
    unsigned flags;                  /**< EM_HTTP_F_* */
    int version_minor;               /**< 0 or 1 (HTTP/1.x) */
} em_http_request;

/** A parsed response head. Set headers and max_headers before the first call. */
typedef struct em_http_response {
    em_http_header *headers; /**< in: caller's array (out: its first num_headers) */
    size_t max_headers;      /**< in: its capacity */
    size_t num_headers;      /**< out: fields stored in headers */
    em_slice reason;         /**< may be empty */
    uint64_t content_length; /**< with EM_HTTP_F_CONTENT_LENGTH */
    int status;              /**< as received, 000..999; outside 100..599 the
                                  body is framed as for a 5xx (RFC 9110 §15) */
    em_http_body body;       /**< how the body is framed */
    unsigned flags;          /**< EM_HTTP_F_* */
    int version_minor;       /**< 0 or 1 (HTTP/1.x; 1.2 and up are taken as 1.1) */
} em_http_response;

/** Chunked body decoder state. Valid zero-filled (default limits, trailers
 * validated but not stored); em_http_chunked_init() sets limits. To keep the
 * trailer fields, point trailers at an array of max_trailers entries. */
typedef struct em_http_chunked {
    const em_http_limits *limits; /**< NULL: defaults */
    em_http_header *trailers;     /**< in: array for the trailer fields, or NULL */
    size_t max_trailers;          /**< in: its capacity */
    /** in: the body is a response's: an obs-fold in its trailer section
     * is read as SP (RFC 9112 §5.2), as in a response head, and stays in
     * the value (CR LF and all); false (a request's): EM_EOBSFOLD */
    bool response;
    size_t num_trailers;          /**< out: trailer fields stored */
    uint64_t _remaining;          /**< data bytes left in the current chunk */
    uint64_t _total;              /**< data bytes so far */
    size_t _count;                /**< size digits or extension bytes so far */
    unsigned char _state;
    em_http_parser _tp;           /**< trailer section parser */
} em_http_chunked;

/** Reset p for a new message with the given limits (NULL: defaults; the
 * struct is borrowed, not copied). */
EM_API void em_http_parser_init(em_http_parser *p, const em_http_limits *limits);

/** Parse a request head from buf[0, len) (everything received so far, see
 * the contract above). Returns the head's length in bytes (the body, if
 * any, starts there), EM_EAGAIN when the head is incomplete, or an error:
 * EM_EPARSE, EM_EBADEOL, EM_EBADMETHOD, EM_EBADTARGET, EM_EBADVERSION,
 * EM_EBADHEADER, EM_EOBSFOLD, EM_EBADHOST, EM_EBADCL, EM_EBADTE, EM_ECLTE,
 * EM_ENOTIMPL (unknown transfer coding), EM_EURITOOLONG, EM_EHDRTOOLARGE,
 * EM_ETOOMANYHDRS, EM_EBODYTOOLARGE. Pass the same req on every call. */
EM_API EM_NODISCARD ssize_t em_http_parse_request(em_http_parser *p, const char *buf, size_t len,
                                                  em_http_request *req);

/** Parse a response head; req_method is the method of the request it
 * answers (HEAD: no body whatever the fields say; CONNECT: 2xx opens a
 * tunnel). A 1xx response other than 101 is interim: parse the next head
 * after it. Same returns as em_http_parse_request(), with EM_EPARSE for a
 * malformed status line (status outside 100..599 included) and
 * EM_EHDRTOOLARGE for one longer than max_start_line. Host and Expect
 * carry no meaning in a response and are not checked. */
EM_API EM_NODISCARD ssize_t em_http_parse_response(em_http_parser *p, const char *buf, size_t len,
                                                   em_http_method req_method,
                                                   em_http_response *resp);

/** Reset c for a new chunked body (limits: NULL for defaults; borrowed).
 * Keeps c->trailers, c->max_trailers and c->response. */
EM_API void em_http_chunked_init(em_http_chunked *c, const em_http_limits *limits);

/** Decode chunked framing from buf[0, len). Returns the bytes consumed (> 0)
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

/** True once the last chunk and the trailer section have been decoded. */
EM_API bool em_http_chunked_done(const em_http_chunked *c);

/** Body bytes decoded so far. */
static inline uint64_t em_http_chunked_total(const em_http_chunked *c) { return c->_total; }

/* ---- body reader: any framing, one call ---------------------------------- */

/** Reads a message body framed any way RFC 9112 §6.3 allows (the framing a
 * head parser reported), consuming the input as it goes, so a server and a
 * client read bodies with the same code. Zero-copy: pieces are slices of
 * the caller's buffer. Valid zero-filled for a body of EM_HTTP_BODY_NONE;
 * set up with em_http_body_reader_init(). */
typedef struct em_http_body_reader {
    em_http_chunked chunked; /**< EM_HTTP_BODY_CHUNKED */
    uint64_t left;           /**< EM_HTTP_BODY_LENGTH: bytes still to come */
    uint64_t total;          /**< body bytes so far */
    uint64_t max;            /**< EM_HTTP_BODY_UNTIL_CLOSE: limit on total */
    em_http_body mode;       /**< the framing being read */
    bool done;               /**< the whole body has been read */
} em_http_body_reader;

/** Read a body of mode (content_length for EM_HTTP_BODY_LENGTH) with limits
 * (NULL: defaults; borrowed): max_body for until-close bodies, the chunked
 * limits for chunked ones (a Content-Length was checked by the parser). */
EM_API void em_http_body_reader_init(em_http_body_reader *r, em_http_body mode,
                                     uint64_t content_length, const em_http_limits *limits);
/** Take body bytes from the front of buf[0, len). Returns the bytes consumed
 * (> 0, or 0 once done) and sets *piece to the body bytes among them (a
 * slice of buf, possibly empty: loop); EM_EAGAIN when nothing can be taken
 * yet; or EM_EBADCHUNK, EM_EEXTTOOLONG, EM_EBODYTOOLARGE or a trailer
 * error. When em_http_body_reader_done() turns true, the body ended exactly
 * at the returned count and what follows belongs to the next message. */
EM_API EM_NODISCARD ssize_t em_http_body_reader_read(em_http_body_reader *r, const char *buf,
                                                     size_t len, em_slice *piece);
/** True once the whole body has been read. */
static inline bool em_http_body_reader_done(const em_http_body_reader *r) { return r->done; }
/** The connection ended here. Returns 0 if the body is complete (an
 * until-close body now is), or EM_EUNEXPECTEDEOF: a body cut short is an
 * error, never a success. */
EM_API int em_http_body_reader_eof(em_http_body_reader *r);

/** The status a server answers a parse error with: 400, 413, 414, 431, 501
 * or 505; 500 for errors that are not about the request (EM_ENOMEM, ...);
 * 0 for err >= 0 and EM_EAGAIN. */
EM_API int em_http_status_for_error(int err);

/** The standard reason phrase of status ("Not Found"), or "" if unknown.
 * Static storage. */
EM_API const char *em_http_status_reason(int status);

/** The method's name ("GET"); "" for EM_HTTP_METHOD_OTHER. Static storage. */
EM_API const char *em_http_method_name(em_http_method m);

/** Classify a method token (case-sensitive). */
EM_API em_http_method em_http_method_id(em_slice method);

/** Classify a field name (case-insensitive). */
EM_API em_http_hdr em_http_header_id(em_slice name);

/** The first field named name (case-insensitive) among h[0, n), or NULL. */
EM_API const em_http_header *em_http_header_find(const em_http_header *h, size_t n,
                                                 em_slice name);

/** The first field with classified id among h[0, n), or NULL. */
EM_API const em_http_header *em_http_header_find_id(const em_http_header *h, size_t n,
                                                    em_http_hdr id);

/** True if the comma-separated list contains token (case-insensitive, OWS
 * around elements ignored), as for Connection or Upgrade values. */
EM_API bool em_http_list_has_token(em_slice list, em_slice token);


/* ---- URL helpers ---------------------------------------------------------- */

/** em_http_percent_decode flags. */
#define EM_HTTP_DECODE_FORM    1u /**< '+' is a space (form-encoded query values) */
#define EM_HTTP_DECODE_SEGMENT 2u /**< one path segment or capture: refuse %2F
                                     ('/') and %00 rather than decode them */

/** Percent-decode in (RFC 3986 §2.1) into out[cap]; no NUL is added. The
 * result is never longer than in, so cap >= in.len always suffices, and
 * out may be in.ptr (decoding in place). Returns the decoded length, or
 * EM_EINVAL for a '%' not followed by two hex digits (or, with
 * EM_HTTP_DECODE_SEGMENT, an encoded '/' or NUL), EM_ENOBUFS if cap is too
 * small. Route captures and cx->path are raw; decode what you use:
 *   char id[64];
 *   ssize_t n = em_http_percent_decode(em_http_param(cx, "id"), id, sizeof id,
 *                                      EM_HTTP_DECODE_SEGMENT); */
EM_API ssize_t em_http_percent_decode(em_slice in, char *out, size_t cap, unsigned flags);

/** Look name up in a query string (cx->query: what follows '?'): the first
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

/** Whether path has a "." or ".." segment, written plainly or percent-encoded
 * ("%2e", ".%2E", ...). The server answers such requests 400 unless
 * em_http_server_opts.allow_dot_segments is set. */
EM_API bool em_http_path_has_dot_segment(em_slice path);

#ifdef __cplusplus
}
#endif
#endif
