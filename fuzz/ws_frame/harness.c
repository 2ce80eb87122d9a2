/* Fuzz the RFC 6455 frame parser (ws/frame_parse.c), the masking kernels
 * and, for text and close payloads, the UTF-8 validator. The first input
 * byte chooses the setup (role, an extension's RSV1, a small frame or
 * message limit); the rest is the byte stream, parsed whole, byte by byte
 * and in random pieces, each piece an exact-size copy (ASan sees any
 * over-read), at every SIMD level the CPU has.
 *
 * Every run must give the same transcript (headers, unmasked payload, the
 * UTF-8 verdict of each text message and close payload, the final status
 * and reason) as the scalar whole run; every parsed header must be written
 * back byte for byte by em_ws_frame_header_write (the parser accepts only
 * minimal lengths). Any violation aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "../../ws/ws_internal.h"
#include "ember/ws.h"

static void check(bool ok) {
    if (!ok)
        abort();
}

static uint64_t rnd(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A transcript: a growable byte log. */
typedef struct transcript {
    uint8_t *b;
    size_t n, cap;
} transcript;

static void put(transcript *t, const void *p, size_t n) {
    if (t->n + n > t->cap) {
        t->cap = (t->n + n) * 2 + 256;
        t->b = realloc(t->b, t->cap);
        check(t->b != NULL);
    }
    memcpy(t->b + t->n, p, n);
    t->n += n;
}

static void put_u64(transcript *t, uint64_t v) {
    put(t, &v, sizeof v);
}

typedef struct setup {
    em_ws_role role;
    uint8_t rsv;
    uint64_t max_payload, max_message;
} setup;

enum { M_WHOLE, M_BYTES, M_PIECES, M_COUNT };

typedef struct msg_state {
    em_ws_utf8 text; /* the open text message */
    bool in_text;
    uint8_t ctl[EM_WS_MAX_CONTROL]; /* the control payload so far */
    size_t ctl_n;
} msg_state;

static void frame_done(transcript *t, const em_ws_frame *f, msg_state *m) {
    if (f->opcode == EM_WS_OP_CLOSE) {
        uint16_t code = 0;
        em_slice reason;
        int rc = em_ws_close_parse((const char *)m->ctl, m->ctl_n, &code, &reason);
        put_u64(t, 0xc105e000u | (uint64_t)(uint16_t)rc << 32 | (uint64_t)code << 48);
    }
    if (m->in_text && f->fin && !(f->opcode & 8)) {
        put_u64(t, 0x7e47u | (uint64_t)(em_ws_utf8_end(&m->text) == 0) << 32);
        m->in_text = false;
    }
}

static void run(const uint8_t *in, size_t n, const setup *s, int mode, uint64_t seed,
                transcript *t) {
    em_ws_frame_parser p;
    em_ws_frame_parser_init(&p, s->role);
    p.rsv_allowed = s->rsv;
    p.max_payload = s->max_payload;
    p.max_message = s->max_message;
    msg_state m;
    memset(&m, 0, sizeof m);
    t->n = 0;
    size_t off = 0;
    ssize_t status = EM_EAGAIN;
    const uint8_t *hstart = NULL;
    uint8_t hdr[EM_WS_MAX_HEADER];
    size_t hn = 0;
    while (off < n && status == EM_EAGAIN) {
        size_t step = n - off;
        if (mode == M_BYTES)
            step = 1;
        else if (mode == M_PIECES)
            step = 1 + (size_t)(rnd(&seed) % 37);
        if (step > n - off)
            step = n - off;
        char *b = malloc(step);
        check(b != NULL);
        memcpy(b, in + off, step);
        size_t at = 0;
        while (at < step) {
            if (em_ws_frame_left(&p) > 0) {
                em_slice sl;
                ssize_t k = em_ws_frame_payload(&p, b + at, step - at, &sl);
                check(k > 0 && (size_t)k <= step - at && sl.ptr == b + at && sl.len == (size_t)k);
                put(t, sl.ptr, sl.len);
                if (p.frame.opcode == EM_WS_OP_TEXT || (p.frame.opcode == 0 && m.in_text)) {
                    int urc = em_ws_utf8_feed(&m.text, sl.ptr, sl.len);
                    check(urc == 0 || urc == EM_EPARSE);
                }
                if (p.frame.opcode & 8) {
                    check(m.ctl_n + sl.len <= sizeof m.ctl);
                    memcpy(m.ctl + m.ctl_n, sl.ptr, sl.len);
                    m.ctl_n += sl.len;
                }
                at += (size_t)k;
                if (em_ws_frame_left(&p) == 0)
                    frame_done(t, &p.frame, &m);
                continue;
            }
            hstart = in + off + at;
            ssize_t rc = em_ws_frame_parse(&p, b + at, step - at);
            if (rc == EM_EAGAIN) {
                check(hn + (step - at) < EM_WS_MAX_HEADER);
                memcpy(hdr + hn, hstart, step - at);
                hn += step - at;
                at = step;
                break;
            }
            if (rc < 0) {
                status = rc;
                check(em_ws_frame_parse(&p, b + at, step - at) == rc); /* sticky */
                check(p.reason != EM_WS_REASON_NONE);
                break;
            }
            check(rc > 0 && (size_t)rc <= step - at);
            memcpy(hdr + hn, hstart, (size_t)rc);
            hn += (size_t)rc;
            at += (size_t)rc;
            /* the header, written back, is the same bytes */
            char w[EM_WS_MAX_HEADER];
            ssize_t wl = em_ws_frame_header_write(w, &p.frame);
            check(wl == (ssize_t)hn && memcmp(w, hdr, hn) == 0);
            check(em_ws_frame_header_size(p.frame.len, p.frame.masked) == hn);
            hn = 0;
            const em_ws_frame *f = &p.frame;
            put_u64(t, f->len);
            uint8_t fl[4] = {f->opcode, f->rsv, f->fin, f->masked};
            put(t, fl, 4);
            if (f->opcode == EM_WS_OP_TEXT) {
                em_ws_utf8 z = {0};
                m.text = z;
                m.in_text = true;
            }
            if (f->opcode & 8)
                m.ctl_n = 0;
            if (f->len == 0)
                frame_done(t, f, &m);
        }
        free(b);
        off += step;
    }
    put_u64(t, (uint64_t)status);
    put_u64(t, status == EM_EAGAIN ? 0 : p.reason);
    if (status != EM_EAGAIN)
        check(em_ws_close_code((int)status) == (status == EM_EMSGSIZE ? 1009 : 1002));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static transcript ref, got;
    if (size == 0)
        return 0;
    uint8_t cfg = data[0];
    static const uint64_t limits[4] = {0, 125, 1000, 65536};
    setup s = {cfg & 1 ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER, cfg & 2 ? EM_WS_RSV1 : 0,
               limits[cfg >> 2 & 3], limits[cfg >> 4 & 3] * 3};
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    uint64_t seed = 0x5eed;
    for (size_t i = 0; i < n && i < 16; i++)
        seed = seed * 131 + in[i];
    int levels[4], nl = 0;
    for (int l = EM__WS_SIMD_SCALAR; l <= EM__WS_SIMD_AVX512; l++)
        if (em__ws_simd_supported(l))
            levels[nl++] = l;
    check(em__ws_simd_force(EM__WS_SIMD_SCALAR) == 0);
    run(in, n, &s, M_WHOLE, seed, &ref);
    for (int li = 0; li < nl; li++) {
        check(em__ws_simd_force(levels[li]) == 0);
        for (int mode = 0; mode < M_COUNT; mode++) {
            if (li == 0 && mode == M_WHOLE)
                continue;
            run(in, n, &s, mode, seed + (uint64_t)mode, &got);
            check(got.n == ref.n && memcmp(got.b, ref.b, ref.n) == 0);
        }
    }
    check(em__ws_simd_force(em__ws_simd_default()) == 0);
    return 0;
}
