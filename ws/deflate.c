/* permessage-deflate's compressor and decompressor (RFC 7692 §7.2) on
 * zlib's raw deflate (negative windowBits: no zlib header or checksum).
 *
 * Memory. A direction with context takeover keeps its zlib stream for the
 * connection's life (made at its first message): deflate at windowBits w
 * and memLevel m allocates about 2^(w+2) + 2^(m+9) bytes plus 6 KiB
 * (262 KiB at 15/8, 136 KiB at 9/8: the hash table and the pending buffer,
 * sized by memLevel, dominate small windows), inflate 7 KiB plus 2^w.
 * A direction with no context takeover holds nothing between messages: it
 * borrows its thread's stream for each message (a loop belongs to one
 * thread, so no locking) and resets it. Compression takes a whole message
 * in one call, so one deflate stream per thread is enough; an inflate may
 * span many calls while other connections' messages interleave, so
 * inflaters come from a small per-thread pool and go back at the message
 * end. zlib allocates through counting hooks so em__ws_pmd_memory reports
 * what zlib really holds. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <zlib.h>

#include "ws_conn_internal.h"

/* Inflated output is made in steps of at most this many bytes, so a bomb
 * costs at most the limit plus one step. */
#define STEP (16 * 1024)
/* Compressed output is reserved in steps of at most this. */
#define OUT_STEP (64 * 1024)
/* Idle inflaters a thread keeps for messages with no context takeover. */
#define POOL_MAX 4

/* A zlib stream with the bytes zlib allocated for it. */
typedef struct zs {
    z_stream s;
    size_t bytes;
    int bits, level, mem; /* deflate: what it was made with */
} zs;

typedef struct hdr {
    size_t n;
    max_align_t align;
} hdr;

static voidpf zs_alloc(voidpf opaque, uInt items, uInt size) {
    size_t n = (size_t)items * size;
    hdr *h = malloc(offsetof(hdr, align) + n);
    if (!h)
        return Z_NULL;
    h->n = n;
    *(size_t *)opaque += n;
    return &h->align;
}

static void zs_free(voidpf opaque, voidpf p) {
    if (!p)
        return;
    hdr *h = (hdr *)((char *)p - offsetof(hdr, align));
    *(size_t *)opaque -= h->n;
    free(h);
}

static zs *zs_calloc(void) {
    zs *z = calloc(1, sizeof *z);
    if (z) {
        z->s.zalloc = zs_alloc;
        z->s.zfree = zs_free;
        z->s.opaque = &z->bytes;
    }
    return z;
}

/* zlib refuses a raw deflate window of 8 (its 256-byte window has a bug)
 * and uses 9. That stays within a peer's 8: deflate never reaches back
 * further than the window less MIN_LOOKAHEAD (512 - 262 = 250 bytes). */
static int deflate_bits(int bits) {
    return bits < 9 ? 9 : bits;
}

static zs *deflater_new(int bits, int level, int mem) {
    zs *z = zs_calloc();
    if (!z)
        return NULL;
    if (deflateInit2(&z->s, level, Z_DEFLATED, -deflate_bits(bits), mem, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        free(z);
        return NULL;
    }
    z->bits = bits;
    z->level = level;
    z->mem = mem;
    return z;
}

/* zlib's raw inflate takes windowBits 8..15 (8 included). */
static zs *inflater_new(int bits) {
    zs *z = zs_calloc();
    if (!z)
        return NULL;
    if (inflateInit2(&z->s, -bits) != Z_OK) {
        free(z);
        return NULL;
    }
    z->bits = bits;
    return z;
}

static void deflater_free(zs *z) {
    if (z) {
        deflateEnd(&z->s);
        free(z);
    }
}

static void inflater_free(zs *z) {
    if (z) {
        inflateEnd(&z->s);
        free(z);
    }
}

/* ---- the per-thread streams ----------------------------------------------- */

typedef struct pool {
    zs *def;
    zs *inf[POOL_MAX];
    unsigned ninf;
} pool;

static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_key_err;
static _Thread_local pool *tl_pool;

static void pool_destroy(void *arg) {
    pool *p = arg;
    tl_pool = NULL; /* a later destructor that deflates makes a new one */
    deflater_free(p->def);
    for (unsigned i = 0; i < p->ninf; i++)
        inflater_free(p->inf[i]);
    free(p);
}

static void pool_key_init(void) {
    pool_key_err = pthread_key_create(&pool_key, pool_destroy);
}

/* This thread's pool; freed when the thread exits. */
static pool *pool_get(void) {
    if (tl_pool)
        return tl_pool;
    pthread_once(&pool_once, pool_key_init);
    if (pool_key_err)
        return NULL;
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_setspecific(pool_key, p) != 0) {
        free(p);
        return NULL;
    }
    tl_pool = p;
    return p;
}

/* The thread's deflater, reset, with these settings. */
static zs *pool_deflater(int bits, int level, int mem) {
    pool *p = pool_get();
    if (!p)
        return NULL;
    zs *z = p->def;
    if (z && z->bits == bits && z->level == level && z->mem == mem) {
        deflateReset(&z->s);
        return z;
    }
    /* Other settings than the last message's: made anew (one thread's
     * connections usually share one em_ws_opts). */
    deflater_free(z);
    p->def = deflater_new(bits, level, mem);
    return p->def;
}

/* A reset inflater for one message, from the pool or new. */
static zs *pool_inflater(int bits) {
    pool *p = pool_get();
    if (!p)
        return NULL;
    if (!p->ninf)
        return inflater_new(bits);
    zs *z = p->inf[--p->ninf];
    /* A window of other bits is freed here and made anew when used. */
    if (inflateReset2(&z->s, -bits) != Z_OK) {
        inflater_free(z);
        return NULL;
    }
    z->bits = bits;
    return z;
}

static void pool_put_inflater(zs *z) {
    pool *p = pool_get();
    if (p && p->ninf < POOL_MAX)
        p->inf[p->ninf++] = z;
    else
        inflater_free(z);
}

/* ---- one connection ------------------------------------------------------- */

/* Connections of the process that keep a context (em_ws_deflate_opts.
 * max_takeover caps them). */
static _Atomic unsigned takeover_conns;

unsigned em__ws_pmd_takeovers(void) {
    return atomic_load(&takeover_conns);
}

struct em__ws_pmd {
    bool counted; /* in takeover_conns */
    zs *tx; /* own deflater (context takeover), made at the first message */
    zs *rx; /* own inflater (takeover), or one borrowed for the message */
    uint8_t tx_bits, rx_bits;
    bool tx_reset, rx_reset; /* no context takeover in that direction */
    bool rx_ended;           /* the message's deflate stream ended (BFINAL) */
    bool rx_fed;             /* the message had compressed bytes */
    int level, mem;
    int rx_err;        /* sticky: the receiving direction failed */
    uint64_t rx_total; /* bytes inflated of this message */
};

static int clamp(int v, int lo, int hi, int dflt) {
    return v == 0 ? dflt : v < lo ? lo : v > hi ? hi : v;
}

static bool bits_ok(uint8_t b) {
    return b >= 8 && b <= 15;
}

em__ws_pmd *em__ws_pmd_new(em_loop *loop, em_ws_role role, const em__ws_pmd_params *p,
                           const em_ws_deflate_opts *o) {
    (void)loop; /* the shared streams are per thread, not per loop */
    em__ws_pmd *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    bool server = role == EM_WS_ROLE_SERVER;
    uint8_t sb = bits_ok(p->server_max_window_bits) ? p->server_max_window_bits : 15;
    uint8_t cb = bits_ok(p->client_max_window_bits) ? p->client_max_window_bits : 15;
    z->tx_bits = server ? sb : cb;
    z->rx_bits = server ? cb : sb;
    z->tx_reset = server ? p->server_no_context_takeover : p->client_no_context_takeover;
    z->rx_reset = server ? p->client_no_context_takeover : p->server_no_context_takeover;
    z->level = clamp(o ? o->level : 0, 1, 9, 1);
    z->mem = clamp(o ? (int)(o->mem_level > 9 ? 9 : o->mem_level) : 0, 1, 9, 8);
    z->counted = !z->tx_reset || !z->rx_reset;
    if (z->counted)
        atomic_fetch_add(&takeover_conns, 1);
    return z;
}

static void rx_release(em__ws_pmd *z) {
    if (z->rx && z->rx_reset) {
        pool_put_inflater(z->rx);
        z->rx = NULL;
    }
}

void em__ws_pmd_free(em__ws_pmd *z) {
    if (!z)
        return;
    if (z->counted)
        atomic_fetch_sub(&takeover_conns, 1);
    deflater_free(z->tx);
    if (z->rx_reset)
        rx_release(z);
    else
        inflater_free(z->rx);
    free(z);
}

size_t em__ws_pmd_memory(const em__ws_pmd *z) {
    size_t n = sizeof *z;
    if (z->tx)
        n += sizeof *z->tx + z->tx->bytes;
    if (z->rx)
        n += sizeof *z->rx + z->rx->bytes;
    return n;
}

/* ---- compress ------------------------------------------------------------- */

/* Room for keep + *step bytes at out's write end, or if out's max forbids
 * that, for keep + whatever it still allows (at least 1); *step is set to
 * the bytes usable past keep (at most the *step asked). */
static int reserve_some(em_buf *out, size_t keep, size_t *step) {
    int err = em_buf_reserve(out, keep + *step);
    if (err == EM_ENOBUFS)
        err = em_buf_reserve(out, keep + 1);
    if (err)
        return err;
    size_t avail = em_buf_avail(out) - keep;
    if (avail < *step)
        *step = avail;
    return 0;
}

int em__ws_pmd_compress(em__ws_pmd *z, em_slice msg, em_buf *out) {
    if (msg.len == 0) {
        /* §7.2.3.6: an empty stored block, its LEN/NLEN removed. Made by
         * hand: zlib has nothing to flush after a previous sync flush. */
        static const char empty = 0;
        return em_buf_append(out, &empty, 1);
    }
    zs *d;
    if (z->tx_reset) {
        d = pool_deflater(z->tx_bits, z->level, z->mem);
    } else {
        if (!z->tx)
            z->tx = deflater_new(z->tx_bits, z->level, z->mem);
        d = z->tx;
    }
    if (!d)
        return EM_ENOMEM;
    z_stream *s = &d->s;
    s->next_in = (Bytef *)(uintptr_t)msg.ptr;
    s->avail_in = 0;
    /* uInt may be narrower than size_t: feed in slices. */
    size_t left = msg.len;
    /* §7.2.1: the output of a sync flush ends in 00 00 ff ff, which is
     * removed; the last (up to) 4 bytes written are held back uncommitted
     * and saved across reserves, which may move uncommitted bytes. */
    unsigned char held[4];
    size_t nheld = 0;
    int err = 0;
    for (;;) {
        if (s->avail_in == 0 && left) {
            s->avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
            left -= s->avail_in;
        }
        uLong bound = deflateBound(s, s->avail_in) + 16;
        size_t step = bound < OUT_STEP ? (size_t)bound : OUT_STEP;
        err = reserve_some(out, nheld, &step);
        if (err)
            break;
        unsigned char *w = (unsigned char *)em_buf_wptr(out);
        memcpy(w, held, nheld);
        s->next_out = w + nheld;
        s->avail_out = (uInt)step;
        int zr = deflate(s, left ? Z_NO_FLUSH : Z_SYNC_FLUSH);
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            err = zr == Z_MEM_ERROR ? EM_ENOMEM : EM_EINVAL;
            break;
        }
        size_t n = (size_t)(s->next_out - w);
        if (zr == Z_BUF_ERROR && n == nheld && s->avail_in == 0 && !left)
            break; /* nothing more to flush */
        nheld = n < 4 ? n : 4;
        em_buf_commit(out, n - nheld);
        memcpy(held, w + n - nheld, nheld);
        if (!left && s->avail_in == 0 && s->avail_out != 0)
            break;
    }
    static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
    if (!err && (nheld != 4 || memcmp(held, tail, 4) != 0))
        err = EM_EINVAL; /* cannot happen with zlib's sync flush */
    s->next_in = s->next_out = Z_NULL;
    s->avail_in = s->avail_out = 0;
    /* A failed message left bytes in the window the peer never saw. */
    if (err)
        deflateReset(s);
    return err;
}

void em__ws_pmd_unsent(em__ws_pmd *z) {
    /* zlib cannot take one message back out of its window; an empty one
     * is safe, since the peer's window is a superset of it. */
    if (z->tx)
        deflateReset(&z->tx->s);
}

/* ---- inflate -------------------------------------------------------------- */

static const unsigned char TAIL[4] = {0, 0, 0xff, 0xff};

/* Inflate p[0, n) into out in bounded steps; tail: these are the 4 bytes
 * appended at the message end. */
static int feed(em__ws_pmd *z, const unsigned char *p, size_t n, bool tail, uint64_t limit,
                em_buf *out) {
    z_stream *s = &z->rx->s;
    if (z->rx_ended)
        /* §7.2.3.4: a block with BFINAL set ends the message's data; what
         * follows is ignored, as zlib does (the RFC's own example has a
         * 00 after it). */
        return 0;
    s->next_in = (Bytef *)(uintptr_t)p;
    s->avail_in = 0;
    size_t left = n;
    int err = 0;
    for (;;) {
        if (s->avail_in == 0 && left) {
            s->avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
            left -= s->avail_in;
        }
        uint64_t room = limit - z->rx_total;
        size_t step = room < STEP ? (size_t)room + 1 : STEP;
        err = reserve_some(out, 0, &step);
        if (err)
            break;
        unsigned char *w = (unsigned char *)em_buf_wptr(out);
        s->next_out = w;
        s->avail_out = (uInt)step;
        int zr = inflate(s, Z_SYNC_FLUSH);
        size_t got = step - s->avail_out;
        if (got > room) {
            em_buf_commit(out, (size_t)room);
            z->rx_total = limit;
            err = EM_EMSGSIZE;
            break;
        }
        em_buf_commit(out, got);
        z->rx_total += got;
        if (zr == Z_STREAM_END) {
            z->rx_ended = true;
            /* The next message starts a new stream; with context takeover
             * it may still refer to this one's window. */
            if (!z->rx_reset && inflateResetKeep(s) != Z_OK)
                err = EM_EPARSE;
            break;
        }
        if (zr == Z_MEM_ERROR) {
            err = EM_ENOMEM;
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            err = EM_EPARSE; /* Z_DATA_ERROR: corrupt, or reaching past the window */
            break;
        }
        /* Done when all input is in and the output step was not filled. */
        if (s->avail_in == 0 && !left && s->avail_out != 0)
            break;
    }
    s->next_in = s->next_out = Z_NULL;
    s->avail_in = s->avail_out = 0;
    return err;
}

int em__ws_pmd_inflate(em__ws_pmd *z, em_slice in, bool last, uint64_t limit, em_buf *out) {
    if (z->rx_err)
        return z->rx_err;
    int err = 0;
    if (!z->rx) {
        z->rx = z->rx_reset ? pool_inflater(z->rx_bits) : inflater_new(z->rx_bits);
        if (!z->rx)
            return z->rx_err = EM_ENOMEM;
    }
    if (z->rx_total > limit)
        err = EM_EMSGSIZE;
    if (!err && in.len) {
        z->rx_fed = true;
        err = feed(z, (const unsigned char *)in.ptr, in.len, false, limit, out);
    }
    if (!err && last) {
        /* An empty payload is an empty message: nothing to inflate, and a
         * tail on its own would leave a stored block half read. */
        if (z->rx_fed)
            err = feed(z, TAIL, sizeof TAIL, true, limit, out);
        /* The message must end where a block ends (the tail completes the
         * empty stored block of the sender's flush): else it was cut. */
        if (!err && z->rx_fed && !z->rx_ended && !(z->rx->s.data_type & 128))
            err = EM_EPARSE;
        z->rx_total = 0;
        z->rx_ended = false;
        z->rx_fed = false;
        if (!err)
            rx_release(z);
    }
    if (err) {
        z->rx_err = err;
        if (z->rx_reset)
            rx_release(z);
        else {
            inflater_free(z->rx);
            z->rx = NULL;
        }
    }
    return err;
}
