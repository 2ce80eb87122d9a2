/* Fuzz permessage-deflate's decompressor (ws/deflate.c). The first input
 * byte chooses the setup (window bits 8..15, context takeover or not, the
 * role, a message limit); the rest is a run of messages, each a 2-byte
 * big-endian length and that many compressed bytes (a short remainder is
 * one last message). Each message is inflated whole and in random pieces
 * (each piece an exact-size copy: ASan sees any over-read).
 *
 * Checked: no result but 0, EM_EPARSE and EM_EMSGSIZE; never more output
 * than the limit; errors stick; zlib's state stays under 48 KiB; at window
 * 15 the pieces give the same transcript as the whole (zlib checks
 * distances against what it holds, so at smaller windows a reference past
 * the window may decode in one split and fail in another: there, each
 * success must give the whole run's bytes). And each message's bytes, taken
 * as plain text, must survive em__ws_pmd_compress and inflate unchanged.
 * Any violation aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "../../ws/ws_conn_internal.h"

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

#define MAX_MSGS 64

typedef struct result {
    int rc[MAX_MSGS];
    em_buf out[MAX_MSGS];
    unsigned n;
} result;

static int feed(em__ws_pmd *z, const uint8_t *p, size_t n, bool last, uint64_t limit, em_buf *out) {
    uint8_t *copy = malloc(n ? n : 1);
    check(copy != NULL);
    memcpy(copy, p, n);
    int rc = em__ws_pmd_inflate(z, em_slice_make(copy, n), last, limit, out);
    free(copy);
    return rc;
}

static void run(const uint8_t *in, size_t n, const em__ws_pmd_params *pp, em_ws_role role,
                uint64_t limit, uint64_t *seed, result *r) {
    em__ws_pmd *z = em__ws_pmd_new(NULL, role, pp, NULL);
    check(z != NULL);
    int sticky = 0;
    r->n = 0;
    size_t off = 0;
    while (off < n && r->n < MAX_MSGS) {
        size_t len = n - off;
        if (len >= 2) {
            size_t want = (size_t)in[off] << 8 | in[off + 1];
            off += 2;
            len = want < n - off ? want : n - off;
        } /* else one last byte: a message of its own */
        const uint8_t *m = in + off;
        off += len;
        em_buf *out = &r->out[r->n];
        em_buf_init(out, 0);
        int rc = 0;
        if (!seed) {
            rc = feed(z, m, len, true, limit, out);
        } else {
            size_t at = 0;
            do {
                size_t step = len - at ? 1 + (size_t)(rnd(seed) % (len - at)) : 0;
                if (step > 1 && rnd(seed) & 1)
                    step = 1 + step / 8;
                bool last = at + step == len && (rnd(seed) & 3) != 0;
                rc = feed(z, m + at, step, last, limit, out);
                at += step;
                if (!rc && at == len && !last)
                    rc = feed(z, (const uint8_t *)"", 0, true, limit, out);
            } while (!rc && at < len);
        }
        check(rc == 0 || rc == EM_EPARSE || rc == EM_EMSGSIZE);
        check(em_buf_len(out) <= limit);
        check(em__ws_pmd_memory(z) < 48 * 1024);
        if (sticky)
            check(rc == sticky);
        else
            sticky = rc;
        r->rc[r->n++] = rc;
    }
    if (sticky)
        check(em__ws_pmd_inflate(z, em_slice_make("\x00", 1), true, limit, &r->out[0]) == sticky);
    em__ws_pmd_free(z);
}

static void result_free(result *r) {
    for (unsigned i = 0; i < r->n; i++)
        em_buf_free(&r->out[i]);
}

/* The messages' bytes as plain text: compressed by one side, inflated by
 * the other, unchanged. */
static void round_trip(const uint8_t *in, size_t n, const em__ws_pmd_params *pp, em_ws_role role,
                       uint64_t seed) {
    em__ws_pmd *tx = em__ws_pmd_new(NULL, role, pp, NULL);
    em__ws_pmd *rx = em__ws_pmd_new(
        NULL, role == EM_WS_ROLE_SERVER ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER, pp, NULL);
    check(tx && rx);
    em_buf c, out;
    em_buf_init(&c, 0);
    em_buf_init(&out, 0);
    size_t off = 0;
    while (off < n) {
        size_t len = 1 + (size_t)(rnd(&seed) % (n - off));
        em_buf_clear(&c);
        em_buf_clear(&out);
        check(em__ws_pmd_compress(tx, em_slice_make(in + off, len), &c) == 0);
        size_t at = 0, cl = em_buf_len(&c);
        while (at < cl) {
            size_t step = 1 + (size_t)(rnd(&seed) % (cl - at));
            check(feed(rx, (const uint8_t *)em_buf_data(&c) + at, step, at + step == cl, len,
                       &out) == 0);
            at += step;
        }
        check(em_buf_len(&out) == len && memcmp(em_buf_data(&out), in + off, len) == 0);
        off += len;
    }
    em_buf_free(&c);
    em_buf_free(&out);
    em__ws_pmd_free(tx);
    em__ws_pmd_free(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    uint8_t cfg = data[0];
    static const uint64_t limits[4] = {1 << 20, 100, 20000, 0};
    int bits = 8 + (cfg & 7);
    bool no_takeover = cfg >> 3 & 1;
    em_ws_role role = cfg >> 6 & 1 ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER;
    uint64_t limit = limits[cfg >> 4 & 3];
    em__ws_pmd_params pp = {no_takeover, no_takeover, (uint8_t)bits, (uint8_t)bits};
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    uint64_t seed = 0x5eed;
    for (size_t i = 0; i < n && i < 16; i++)
        seed = seed * 131 + in[i];

    static result whole, pieces;
    run(in, n, &pp, role, limit, NULL, &whole);
    for (int k = 0; k < 2; k++) {
        uint64_t s = seed + (uint64_t)k;
        run(in, n, &pp, role, limit, &s, &pieces);
        check(pieces.n == whole.n);
        for (unsigned i = 0; i < whole.n; i++) {
            bool same = pieces.rc[i] == whole.rc[i] &&
                        em_buf_len(&pieces.out[i]) == em_buf_len(&whole.out[i]) &&
                        memcmp(em_buf_data(&pieces.out[i]), em_buf_data(&whole.out[i]),
                               em_buf_len(&whole.out[i])) == 0;
            if (bits == 15)
                check(same);
            else if (pieces.rc[i] == 0 && whole.rc[i] == 0)
                check(same);
        }
        result_free(&pieces);
    }
    result_free(&whole);
    round_trip(in, n, &pp, role, seed);
    return 0;
}
