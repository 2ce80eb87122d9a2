/* UTF-8 validation (RFC 3629 §4), incremental across pieces. The scalar
 * path is an automaton whose states remember exactly which bytes may come
 * next, so a piece is refused as soon as it holds the byte that makes the
 * text invalid. The SIMD kernels validate runs of whole sequences; the
 * automaton finishes a sequence split by the previous piece, and carries
 * one split at the end of this piece to the next. */
#include <string.h>

#include "ws_internal.h"

/* Byte classes: 0 ASCII, 1 80-8F, 2 90-9F, 3 A0-BF, 4 never valid (C0 C1
 * F5-FF), 5 C2-DF, 6 E0, 7 E1-EC EE EF, 8 ED, 9 F0, 10 F1-F3, 11 F4. */
/* clang-format off */
static const uint8_t cls[256] = {
     0,  0,  0,  0,  0,  0,  0,  0, /* 00 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 08 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 10 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 18 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 20 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 28 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 30 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 38 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 40 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 48 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 50 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 58 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 60 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 68 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 70 */
     0,  0,  0,  0,  0,  0,  0,  0, /* 78 */
     1,  1,  1,  1,  1,  1,  1,  1, /* 80 */
     1,  1,  1,  1,  1,  1,  1,  1, /* 88 */
     2,  2,  2,  2,  2,  2,  2,  2, /* 90 */
     2,  2,  2,  2,  2,  2,  2,  2, /* 98 */
     3,  3,  3,  3,  3,  3,  3,  3, /* a0 */
     3,  3,  3,  3,  3,  3,  3,  3, /* a8 */
     3,  3,  3,  3,  3,  3,  3,  3, /* b0 */
     3,  3,  3,  3,  3,  3,  3,  3, /* b8 */
     4,  4,  5,  5,  5,  5,  5,  5, /* c0 */
     5,  5,  5,  5,  5,  5,  5,  5, /* c8 */
     5,  5,  5,  5,  5,  5,  5,  5, /* d0 */
     5,  5,  5,  5,  5,  5,  5,  5, /* d8 */
     6,  7,  7,  7,  7,  7,  7,  7, /* e0 */
     7,  7,  7,  7,  7,  8,  7,  7, /* e8 */
     9, 10, 10, 10, 11,  4,  4,  4, /* f0 */
     4,  4,  4,  4,  4,  4,  4,  4, /* f8 */
};
/* clang-format on */

/* States: 0 accept, 1 reject, 2-4 need 1-3 more continuation bytes, 5
 * after E0 (A0-BF: no overlong), 6 after ED (80-9F: no surrogate), 7
 * after F0 (90-BF: no overlong), 8 after F4 (80-8F: <= U+10FFFF). */
enum { ACC, REJ, N1, N2, N3, S_E0, S_ED, S_F0, S_F4, NSTATES };

/* clang-format off */
static const uint8_t next_state[NSTATES][12] = {
    /*         asc  80   90   A0   bad  C2   E0    E1   ED    F0    F1  F4 */
    [ACC]  = {ACC, REJ, REJ, REJ, REJ, N1,  S_E0, N2,  S_ED, S_F0, N3, S_F4},
    [REJ]  = {REJ, REJ, REJ, REJ, REJ, REJ, REJ,  REJ, REJ,  REJ,  REJ, REJ},
    [N1]   = {REJ, ACC, ACC, ACC, REJ, REJ, REJ,  REJ, REJ,  REJ,  REJ, REJ},
    [N2]   = {REJ, N1,  N1,  N1,  REJ, REJ, REJ,  REJ, REJ,  REJ,  REJ, REJ},
    [N3]   = {REJ, N2,  N2,  N2,  REJ, REJ, REJ,  REJ, REJ,  REJ,  REJ, REJ},
    [S_E0] = {REJ, REJ, REJ, N1,  REJ, REJ, REJ,  REJ, REJ,  REJ,  REJ, REJ},
    [S_ED] = {REJ, N1,  N1,  REJ, REJ, REJ, REJ,  REJ, REJ,  REJ,  REJ, REJ},
    [S_F0] = {REJ, REJ, N2,  N2,  REJ, REJ, REJ,  REJ, REJ,  REJ,  REJ, REJ},
    [S_F4] = {REJ, N2,  REJ, REJ, REJ, REJ, REJ,  REJ, REJ,  REJ,  REJ, REJ},
};
/* clang-format on */

uint32_t em__ws_utf8_dfa(uint32_t s, const uint8_t *p, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (s == ACC) {
            /* ASCII eight bytes at a time */
            while (len - i >= 8) {
                uint64_t v;
                memcpy(&v, p + i, 8);
                if (v & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == len)
                break;
        }
        s = next_state[s][cls[p[i++]]];
        if (s == REJ)
            return REJ;
    }
    return s;
}

int em__ws_utf8_scalar(const uint8_t *p, size_t len) {
    return em__ws_utf8_dfa(ACC, p, len) != ACC;
}

/* Where the last sequence of p[0, len) starts if it is cut off by the
 * end (a lead byte in the last three bytes wanting more than remain);
 * len if none is. */
static size_t split_point(const uint8_t *p, size_t len) {
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        uint8_t b = p[len - back];
        if (b < 0x80)
            return len;
        if (b >= 0xc0) {
            size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
            return need > back ? len - back : len;
        }
    }
    return len;
}

int em_ws_utf8_feed(em_ws_utf8 *v, const void *buf, size_t len) {
    const uint8_t *p = buf;
    uint32_t s = v->_state;
    const em__ws_kernels *k = em__ws_simd;
    if (s == REJ)
        return EM_EPARSE;
    if (!k->utf8 || len < 64) {
        s = em__ws_utf8_dfa(s, p, len);
    } else {
        /* Finish a sequence the previous piece split. */
        size_t i = 0;
        while (s != ACC && s != REJ && i < len)
            s = next_state[s][cls[p[i++]]];
        if (s == ACC) {
            /* Whole sequences to the kernel: if they hide a cut-off
             * sequence, the byte after it is a lead or ASCII byte, so the
             * text is invalid either way, and the kernel says so. */
            size_t cut = split_point(p + i, len - i);
            if (k->utf8(p + i, cut))
                s = REJ;
            else
                s = em__ws_utf8_dfa(ACC, p + i + cut, len - i - cut);
        }
    }
    v->_state = s;
    return s == REJ ? EM_EPARSE : 0;
}

int em_ws_utf8_end(em_ws_utf8 *v) {
    uint32_t s = v->_state;
    v->_state = ACC;
    return s == ACC ? 0 : EM_EPARSE;
}

bool em_ws_utf8_valid(const void *p, size_t len) {
    em_ws_utf8 v = {0};
    int rc = em_ws_utf8_feed(&v, p, len);
    return em_ws_utf8_end(&v) == 0 && rc == 0;
}

/* RFC 6455 §7.4: codes an endpoint may send. 1004-1006 and 1015 are
 * reserved or never on the wire; 1012-1014 are registered (IANA). */
static bool sendable_code(unsigned c) {
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

int em_ws_close_parse(const char *payload, size_t len, uint16_t *code, em_slice *reason) {
    reason->ptr = payload;
    reason->len = 0;
    if (len == 0) {
        *code = EM_WS_CLOSE_NO_STATUS;
        return 0;
    }
    if (len == 1)
        return EM_EPROTO;
    unsigned c = (unsigned)(uint8_t)payload[0] << 8 | (uint8_t)payload[1];
    if (!sendable_code(c))
        return EM_EPROTO;
    if (!em_ws_utf8_valid(payload + 2, len - 2))
        return EM_EPARSE;
    *code = (uint16_t)c;
    reason->ptr = payload + 2;
    reason->len = len - 2;
    return 0;
}
