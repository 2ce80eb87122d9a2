/** @file
 * ember ws, part one: the RFC 6455 frame codec. A frame parser, a frame
 * serializer, masking and incremental UTF-8 validation: pure functions
 * over the caller's bytes, shared by the WebSocket server and client.
 * Included by "ember/ws.h".
 *
 * Threading: nothing here keeps global state except the SIMD kernel
 * choice, made once at start-up (EMBER_SIMD=off forces the scalar code;
 * EMBER_SIMD=sse42 or avx2 caps the level). Every function may run on any
 * thread; one parser or validator object must be used from one thread at
 * a time. No function allocates, blocks or calls back.
 */
#ifndef EMBER_WS_FRAME_H
#define EMBER_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ember/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants --------------------------------------------------------- */

#define EM_WS_MAX_HEADER          14u                   /**< 2 + 8 (64-bit length) + 4 (mask key) */
#define EM_WS_MAX_CONTROL         125u                  /**< RFC 6455 §5.5: control payload limit */
#define EM_WS_DEFAULT_MAX_PAYLOAD (16u * 1024u * 1024u) /**< per frame */
#define EM_WS_DEFAULT_MAX_MESSAGE (64u * 1024u * 1024u) /**< per message, wire bytes */

/** Opcodes (RFC 6455 §5.2, §11.8). */
enum {
    EM_WS_OP_CONT = 0x0,
    EM_WS_OP_TEXT = 0x1,
    EM_WS_OP_BINARY = 0x2,
    EM_WS_OP_CLOSE = 0x8,
    EM_WS_OP_PING = 0x9,
    EM_WS_OP_PONG = 0xA,
};

/** Reserved bits, as they sit in the first header byte. */
#define EM_WS_RSV1 0x40u
#define EM_WS_RSV2 0x20u /**< no extension ember knows claims it */
#define EM_WS_RSV3 0x10u /**< no extension ember knows claims it */

/** Which end of the connection a parser runs on (RFC 6455 §5.1): a server
 * requires every frame from its client to be masked, a client requires
 * every frame from its server to be unmasked. */
typedef enum em_ws_role { EM_WS_ROLE_SERVER = 0, EM_WS_ROLE_CLIENT = 1 } em_ws_role;

/** Close status codes (RFC 6455 §7.4.1). */
enum {
    EM_WS_CLOSE_NORMAL = 1000,
    EM_WS_CLOSE_GOING_AWAY = 1001,
    EM_WS_CLOSE_PROTOCOL = 1002,
    EM_WS_CLOSE_UNSUPPORTED = 1003,
    EM_WS_CLOSE_NO_STATUS = 1005, /**< never sent on the wire */
    EM_WS_CLOSE_ABNORMAL = 1006,  /**< never sent on the wire */
    EM_WS_CLOSE_INVALID_DATA = 1007,
    EM_WS_CLOSE_POLICY = 1008,
    EM_WS_CLOSE_TOO_BIG = 1009,
    EM_WS_CLOSE_EXTENSION = 1010,
    EM_WS_CLOSE_INTERNAL = 1011,
};

/** Why a parse failed, for logs and tests (the returned em_err is what
 * decides the close code). */
typedef enum em_ws_frame_reason {
    EM_WS_REASON_NONE = 0,
    EM_WS_REASON_RSV,          /**< a reserved bit no extension claims */
    EM_WS_REASON_OPCODE,       /**< a reserved opcode (3-7, 0xB-0xF) */
    EM_WS_REASON_CONTROL_FRAG, /**< control frame with FIN = 0 */
    EM_WS_REASON_CONTROL_LEN,  /**< control payload > 125 bytes */
    EM_WS_REASON_CLOSE_LEN,    /**< close payload of exactly 1 byte */
    EM_WS_REASON_MASK,         /**< MASK bit wrong for the role */
    EM_WS_REASON_LEN_ENCODING, /**< length not in its minimal form */
    EM_WS_REASON_LEN_HIGH_BIT, /**< 64-bit length with the top bit set */
    EM_WS_REASON_NO_MESSAGE,   /**< continuation frame outside a message */
    EM_WS_REASON_IN_MESSAGE,   /**< text/binary frame inside a fragmented message */
    EM_WS_REASON_FRAME_SIZE,   /**< payload > max_payload (EM_EMSGSIZE) */
    EM_WS_REASON_MESSAGE_SIZE, /**< message > max_message (EM_EMSGSIZE) */
} em_ws_frame_reason;

/** A frame header, parsed or to write. */
typedef struct em_ws_frame {
    uint64_t len;    /**< payload length; < 2^63 */
    uint8_t opcode;  /**< EM_WS_OP_* */
    uint8_t rsv;     /**< EM_WS_RSV1|2|3 bits */
    bool fin;        /**< last frame of its message */
    bool masked;     /**< mask[] holds the masking key */
    uint8_t mask[4]; /**< the key, in wire order */
} em_ws_frame;

/* ---- parser -------------------------------------------------------------- */

/** An incremental frame parser. Zero-filled is valid: a server-side parser
 * with the default limits and no extension. Settings may be set after
 * zero-filling (or em_ws_frame_parser_init) and before the first call.
 *
 * Use (one frame at a time, any byte split gives the same result):
 *
 *   ssize_t n = em_ws_frame_parse(&p, buf, len);    // the header
 *   if (n == EM_EAGAIN) ...                         // all len bytes held
 *   if (n < 0) close with em_ws_close_code(n);
 *   buf += n, len -= n;                             // p.frame is the header
 *   while (em_ws_frame_left(&p) > 0 && len > 0) {   // the payload
 *       em_slice s;
 *       ssize_t m = em_ws_frame_payload(&p, buf, len, &s); // s: unmasked
 *       buf += m, len -= m;
 *   }
 *
 * The parser also follows message fragmentation (RFC 6455 §5.4): a
 * continuation frame with no message open, or a new text/binary frame
 * while one is open, is a protocol error. Control frames may come between
 * fragments. */
typedef struct em_ws_frame_parser {
    /* The one- and two-byte fields come first, then the wide ones: no
     * padding (the parser lives in every connection). */
    /** settings */
    uint8_t role;         /**< em_ws_role; zero: server */
    uint8_t rsv_allowed;  /**< RSV bits an extension claims (EM_WS_RSV1 for
                           * permessage-deflate); then RSV1 is accepted only
                           * on the first frame of a data message (RFC 7692
                           * §6.1). Other reserved bits set -> EM_EPROTO. */
    /** results */
    uint8_t reason; /**< em_ws_frame_reason of the last error */
    /** private */
    uint8_t _hn;
    uint8_t _phase; /**< mask phase within the payload */
    bool _payload;  /**< between a header and the end of its payload */
    int16_t _err;   /**< sticky error (an em_err; all fit 16 bits) */
    /** settings */
    uint64_t max_payload; /**< per frame; 0: EM_WS_DEFAULT_MAX_PAYLOAD */
    uint64_t max_message; /**< sum of a message's frame payloads; 0: default */
    /** results */
    em_ws_frame frame; /**< the header em_ws_frame_parse last completed */
    /** private */
    uint8_t _h[EM_WS_MAX_HEADER]; /**< header bytes held so far */
    bool _in_msg;   /**< a fragmented data message is open */
    uint64_t _left; /**< payload bytes still to come */
    uint64_t _msg;  /**< payload bytes of the open message so far */
} em_ws_frame_parser;

/** Zero-fills p and sets its role. Never fails. */
EM_API void em_ws_frame_parser_init(em_ws_frame_parser *p, em_ws_role role);

/** Parses the next frame header from buf[0, len). Bytes of an incomplete
 * header are copied into the parser (at most 13), so the caller may drop
 * them: feed the next bytes on the next call.
 * Returns the number of bytes of buf the header took (> 0): the header is
 * complete, p->frame describes it and the payload follows
 * (em_ws_frame_left(p) bytes; for a zero-length payload the next call
 * parses the next header). EM_EAGAIN: all len bytes were taken, more are
 * needed. EM_EPROTO (close 1002) or EM_EMSGSIZE (close 1009) with
 * p->reason set, as soon as the bytes that decide it have arrived; errors
 * are sticky. EM_EINVAL: called while a payload is still pending. */
EM_API EM_NODISCARD ssize_t em_ws_frame_parse(em_ws_frame_parser *p, const char *buf, size_t len);

/** Takes the next min(len, em_ws_frame_left(p)) bytes of the current
 * frame's payload from buf, unmasks them in place (the mask phase carries
 * over from the previous piece) and sets *out to them (a slice of buf,
 * valid as long as buf is). Returns the number of bytes taken (0 when no
 * payload is pending). When the payload is complete, the next
 * em_ws_frame_parse reads the next header. */
EM_API EM_NODISCARD ssize_t em_ws_frame_payload(em_ws_frame_parser *p, char *buf, size_t len,
                                                em_slice *out);

/** Payload bytes of the current frame not yet taken. */
EM_API uint64_t em_ws_frame_left(const em_ws_frame_parser *p);

/** The close code to send for an error of this module: EM_EPROTO -> 1002,
 * EM_EMSGSIZE -> 1009, EM_EPARSE (invalid UTF-8) -> 1007, 0 -> 1000, any
 * other error -> 1011. */
EM_API int em_ws_close_code(int err);

/** Checks a received close payload (RFC 6455 §5.5.1, §7.4). Empty: *code =
 * 1005 and reason empty. Otherwise the first two bytes are the code (1000-
 * 1003, 1007-1014 or 3000-4999) and the rest a UTF-8 reason (*reason: a
 * slice of payload). Returns 0, EM_EPROTO (length 1 or a code that may
 * not be sent) or EM_EPARSE (the reason is not UTF-8). */
EM_API EM_NODISCARD int em_ws_close_parse(const char *payload, size_t len, uint16_t *code,
                                          em_slice *reason);

/* ---- serializer ---------------------------------------------------------- */

/** Header size for a payload of len bytes: 2, 4 or 10, plus 4 if masked. */
EM_API size_t em_ws_frame_header_size(uint64_t len, bool masked);

/** Writes the header of f (its length in the shortest form; the key when
 * f->masked) into out, which must hold EM_WS_MAX_HEADER bytes. The
 * payload is sent beside it untouched (no copy; the server side never
 * masks). Returns the header length (2..14), or EM_EINVAL (unknown opcode,
 * bits outside RSV1-3, control frame not FIN or > 125 bytes, len >= 2^63).
 */
EM_API EM_NODISCARD ssize_t em_ws_frame_header_write(char *out, const em_ws_frame *f);

/** A source of random bytes: fills out[0, n), returns 0 or a negative
 * em_err. RFC 6455 §5.3: the masking key must be unpredictable (a strong
 * source of entropy, a fresh key per frame), or a hostile page could
 * choose the bytes a proxy sees on the wire. em_ws_random_os is one. */
typedef int (*em_ws_random_cb)(void *ctx, void *out, size_t n);

/** getrandom(2). ctx is unused. Returns 0 or a negative em_err. */
EM_API int em_ws_random_os(void *ctx, void *out, size_t n);

/** The client side: writes f's header with a fresh key from rnd(ctx), then
 * the f->len bytes of payload masked, into dst (cap bytes; dst must not
 * overlap payload). Sets f->masked and f->mask. Returns the bytes written
 * (header + f->len); EM_ENOBUFS if cap is short (nothing written),
 * EM_EINVAL as em_ws_frame_header_write, or rnd's error. */
EM_API EM_NODISCARD ssize_t em_ws_frame_write_masked(char *dst, size_t cap, em_ws_frame *f,
                                                     const char *payload, em_ws_random_cb rnd,
                                                     void *ctx);

/* ---- masking (RFC 6455 §5.3) --------------------------------------------- */

/** XORs buf[0, len) with the key, starting at key byte phase & 3 (the
 * number of payload bytes already masked). Any alignment and length.
 * Returns the phase after it: (phase + len) & 3. */
EM_API size_t em_ws_mask(void *buf, size_t len, const uint8_t key[4], size_t phase);

/** As em_ws_mask, but reads src and writes dst (equal or not overlapping). */
EM_API size_t em_ws_mask_copy(void *dst, const void *src, size_t len, const uint8_t key[4],
                              size_t phase);

/* ---- UTF-8 validation (RFC 3629; RFC 6455 §8.1) -------------------------- */

/** An incremental UTF-8 validator for one text message (or close reason):
 * feed the payload in pieces of any size, with code points split across
 * pieces and frames. Zero-filled is valid (a message start). */
typedef struct em_ws_utf8 {
    uint32_t _state; /**< private */
} em_ws_utf8;

/** Validates the next piece. Returns 0 while everything so far may begin
 * a valid UTF-8 text; EM_EPARSE as soon as it cannot (an overlong form,
 * a surrogate, a code point past U+10FFFF, a stray continuation: e.g. at
 * 0xC0, at the 0xA0 of 0xED 0xA0, at the 0x90 of 0xF4 0x90). The error is
 * sticky until em_ws_utf8_end. */
EM_API EM_NODISCARD int em_ws_utf8_feed(em_ws_utf8 *v, const void *p, size_t len);

/** The message ended: returns 0 if it is valid UTF-8, EM_EPARSE if it was
 * invalid or ends inside a sequence. Resets v for the next message. */
EM_API EM_NODISCARD int em_ws_utf8_end(em_ws_utf8 *v);

/** One-shot: whether p[0, len) is valid UTF-8. */
EM_API bool em_ws_utf8_valid(const void *p, size_t len);

#ifdef __cplusplus
}
#endif

#endif
