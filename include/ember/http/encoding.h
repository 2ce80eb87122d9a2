/** @file
 * ember http: content codings (RFC 9110 §8.4) with zlib: gzip (RFC 1952),
 * deflate (RFC 1950, and raw RFC 1951 as browsers accept it) and identity.
 * Streaming decoders with caps against decompression bombs, streaming
 * encoders, one-shot helpers, and the server's compression middleware.
 * Included by "ember/http.h".
 *
 * Decoders and encoders are heap objects owned by the caller (free them
 * with their _free function, from any state). Each belongs to one thread
 * at a time; distinct ones may be used on distinct threads at once. */
#ifndef EMBER_HTTP_ENCODING_H
#define EMBER_HTTP_ENCODING_H

#include <stdint.h>

#include "ember/http/server.h"
#include "ember/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A content coding (RFC 9110 §8.4.1). */
typedef enum em_http_coding {
    EM_HTTP_CODING_IDENTITY, /**< no coding */
    EM_HTTP_CODING_GZIP,     /**< gzip (RFC 1952) */
    EM_HTTP_CODING_DEFLATE   /**< deflate: zlib format (RFC 1950) */
} em_http_coding;

/** Codings one Content-Encoding value may stack (RFC 9110 §8.4.1). */
#define EM_HTTP_MAX_CODINGS 5
/** Decoder defaults. */
#define EM_HTTP_DECODE_MAX_OUT    (1ull << 30) /**< 1 GiB */
#define EM_HTTP_DECODE_MAX_RATIO  1000u        /**< decoded:coded bytes */
#define EM_HTTP_DECODE_RATIO_FREE (1u << 20)   /**< decoded bytes before the ratio applies */

/** Caps of a decoder; zero fields take the defaults. Copied by
 * em_http_decoder_new(). */
typedef struct em_http_decoder_opts {
    uint64_t max_out;   /**< decoded bytes in all; 0: 1 GiB */
    unsigned max_ratio; /**< decoded:coded past the first 1 MiB decoded; 0: 1000 */
} em_http_decoder_opts;

/** A sink for decoded or encoded bytes: piece is valid during the call.
 * Return 0 to go on, or an em_err to stop (the feed returns it). */
typedef int (*em_http_sink)(void *arg, em_slice piece);

/* ---- decoding -------------------------------------------------------------- */

/** A streaming decoder (opaque; em_http_decoder_new(),
 * em_http_decoder_free()). */
typedef struct em_http_decoder em_http_decoder;

/** A decoder for a Content-Encoding field value: a comma list applied in
 * order ("gzip", "x-gzip", "deflate", "identity", "gzip, deflate"; case-
 * insensitive, optional whitespace; empty elements skipped), at most
 * EM_HTTP_MAX_CODINGS of them (more: EM_EINVAL). Decoding undoes them in
 * reverse order. An empty value (or only identity) decodes as identity.
 * Returns 0 (*out set; free with em_http_decoder_free), EM_ENOTSUP for a
 * coding this build does not decode (br, zstd, compress, ...), EM_EINVAL,
 * or EM_ENOMEM. opts may be NULL (defaults) and is copied. Memory stays
 * under ~60 KiB per coding whatever the input. */
EM_API EM_NODISCARD int em_http_decoder_new(em_http_decoder **out, em_slice content_encoding,
                                            const em_http_decoder_opts *opts);
/** Feed coded bytes (any split gives the same output); decoded bytes go to
 * sink in pieces of at most 16 KiB. Returns 0; EM_EBODYTOOLARGE when the
 * output would pass max_out, or pass max_ratio times the coded bytes
 * consumed once past the first 1 MiB (the output stops at the cap: no
 * byte past it reaches sink); EM_EPARSE for corrupt data, a checksum or
 * length mismatch, or bytes after the end of the data (further gzip
 * members are decoded, as RFC 1952 §2.2 allows; anything else is an
 * error); or the sink's error. Errors are sticky: later feeds and finish
 * return the same code. deflate is read as zlib (RFC 1950) when the first
 * two bytes are a zlib header, else as raw deflate (RFC 1951), as
 * browsers and curl do. */
EM_API EM_NODISCARD int em_http_decoder_feed(em_http_decoder *d, em_slice in, em_http_sink sink,
                                             void *arg);
/** The coded body ended. Returns 0 if every coding's stream ended properly
 * (or no coded byte came at all: an empty body is an empty body), else
 * EM_EPARTIAL (truncated), or the sticky error. sink may get no more
 * bytes here (everything decodable was handed over during the feeds) but
 * is taken for symmetry with the encoder. */
EM_API EM_NODISCARD int em_http_decoder_finish(em_http_decoder *d, em_http_sink sink, void *arg);
/** Decoded bytes handed to the sink so far. */
EM_API uint64_t em_http_decoder_total(const em_http_decoder *d);
/** Coded bytes consumed so far. */
EM_API uint64_t em_http_decoder_consumed(const em_http_decoder *d);
/** Free d (NULL is fine). */
EM_API void em_http_decoder_free(em_http_decoder *d);

/* ---- encoding -------------------------------------------------------------- */

/** A streaming encoder (opaque; em_http_encoder_new(),
 * em_http_encoder_free()). */
typedef struct em_http_encoder em_http_encoder;

/** A streaming encoder: gzip (RFC 1952, no name or time: the output is the
 * same on every run) or deflate (zlib format, RFC 1950, as RFC 9110 §8.4.1.2
 * defines it); identity passes bytes through. level 0..9, -1: 6. Returns
 * 0, EM_EINVAL (bad coding or level) or EM_ENOMEM. */
EM_API EM_NODISCARD int em_http_encoder_new(em_http_encoder **out, em_http_coding coding,
                                            int level);
/** Compress in; whole output pieces go to sink as zlib produces them
 * (possibly none: zlib buffers). Returns 0, EM_EINVAL after finish, or
 * the sink's error (sticky). */
EM_API EM_NODISCARD int em_http_encoder_feed(em_http_encoder *e, em_slice in, em_http_sink sink,
                                             void *arg);
/** Push out everything fed so far (a zlib sync flush: the decoder can
 * decode all of it now), for streamed responses whose pieces must reach
 * the client as written. Returns like feed. */
EM_API EM_NODISCARD int em_http_encoder_flush(em_http_encoder *e, em_http_sink sink, void *arg);
/** End the stream (trailer and checksum). Returns like feed; further
 * feeds return EM_EINVAL. */
EM_API EM_NODISCARD int em_http_encoder_finish(em_http_encoder *e, em_http_sink sink, void *arg);
/** Free e (NULL is fine). */
EM_API void em_http_encoder_free(em_http_encoder *e);

/* ---- one-shot --------------------------------------------------------------- */

/** Compress in with coding and level, appending to out (an em_buf from
 * em_buf_init; its max caps the output: EM_ENOBUFS past it). Returns 0 or
 * em_err; on error out may hold part of the output. */
EM_API EM_NODISCARD int em_http_compress(em_http_coding coding, int level, em_slice in,
                                         em_buf *out);
/** Decode in, coded as content_encoding says, appending to out; opts as
 * em_http_decoder_new (NULL: defaults). Returns 0, or an error of
 * em_http_decoder_new, _feed or _finish (EM_EPARTIAL for a truncated
 * input), or EM_ENOBUFS past out's max. */
EM_API EM_NODISCARD int em_http_decompress(em_slice content_encoding, em_slice in,
                                           const em_http_decoder_opts *opts, em_buf *out);

/** The name of a coding ("identity", "gzip", "deflate"). */
EM_API const char *em_http_coding_name(em_http_coding coding);
/** The coding to answer a request with, given its Accept-Encoding value
 * (RFC 9110 §12.5.3): gzip or deflate, whichever has the higher q-value
 * above 0 (gzip on a tie; "*" stands for a coding not listed; "x-gzip"
 * is gzip), else identity. An absent or empty field gives identity. */
EM_API em_http_coding em_http_accept_coding(em_slice accept_encoding);

/* ---- the server middleware --------------------------------------------------- */

/** Content types compressed when em_http_gzip_opts.types is NULL: every text type,
 * application/json, application/javascript, application/xml,
 * application/xhtml+xml, application/rss+xml, application/atom+xml,
 * application/ld+json, application/manifest+json, application/wasm,
 * image/svg+xml, image/x-icon, font/ttf, font/otf. */
EM_API extern const char *const em_http_gzip_default_types[];

/** Options of the em_http_gzip() middleware; zero fields take the defaults.
 * Borrowed: it must outlive the middleware. */
typedef struct em_http_gzip_opts {
    size_t min_size;             /**< smaller bodies go out as they are; 0: 1024 */
    int level;                   /**< 1..9; 0 or -1: 6 */
    const char *const *types;    /**< NULL-terminated list of compressible media types;
                                    an entry "text/" (ending in '/') matches the whole
                                    type; parameters ("; charset=utf-8") and case are
                                    ignored; NULL: the defaults above */
    em_http_decoder_opts decode; /**< caps for request bodies (zeros: the decoder's
                                    defaults) */
    bool no_request_decode;      /**< leave coded request bodies to the handler */
} em_http_gzip_opts;

/** Fill mw as a middleware around next. opts (NULL: defaults) is BORROWED
 * (mw->data points to it), with its types list: it must outlive mw (a
 * static const em_http_gzip_opts is the usual way).
 *
 * Responses: a response is compressed with gzip (or deflate, if the
 * client prefers it) when the request's Accept-Encoding allows it
 * (em_http_accept_coding), it is not a HEAD request, the status allows a
 * body (not 1xx, 204, 304), its Content-Type is in the list, the handler
 * set no Content-Encoding of its own (never twice), and the body is at
 * least min_size bytes (a streamed one: unless its announced length is
 * below min_size). Such responses (compressed or not because of the
 * request) get Vary: Accept-Encoding. Bodies given whole (em_http_respond*)
 * go out with the Content-Length of the compressed body; streamed ones are
 * compressed as they are written and go out chunked (close-delimited for
 * HTTP/1.0), each write flushed so its bytes reach the client at once
 * (server-sent events work). A stream write's token then covers the
 * compressed bytes of that write. Prebuilt responses go out as they are.
 * Upgrades and CONNECT pass through untouched.
 *
 * Requests: a whole body (cx->body) sent with Content-Encoding gzip, x-gzip
 * or deflate (stacks too) is decoded before next sees it, with the caps of
 * opts->decode: cx->body is the decoded body (valid while cx is) and the
 * Content-Encoding field is removed from cx->req.headers (Content-Length
 * still tells the coded length). A bomb is answered 413, a coding it does
 * not know 415 (with Accept-Encoding: gzip, deflate, RFC 9110 §15.5.16),
 * corrupt data 400; next is not called then. Bodies read in pieces
 * (stream_bodies) reach the handler as sent. */
EM_API void em_http_gzip(em_http_handler *mw, const em_http_handler *next,
                         const em_http_gzip_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
