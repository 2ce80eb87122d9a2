/* The xor test transport: see xor_transport.h. */
#include "xor_transport.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define XT_KEY 0x5A
#define XT_BIG (1u << 20)

typedef struct xt_state {
    xt_dec dec;
    int rerr;                 /* sticky read error behind returned bytes */
    size_t rpos, rlen;
    char rbuf[1009];          /* raw input: an odd size splits records */
    size_t tpos, tlen;
    char tbuf[XT_HELD_MAX];   /* encoded output not yet on the socket */
} xt_state;

bool xt_enabled(void) {
    const char *v = getenv("EMBER_TEST_TRANSPORT");
    return v && strcmp(v, "xor") == 0;
}

size_t xt_slack(void) {
    return xt_enabled() ? XT_HELD_MAX : 0;
}

size_t xt_encoded_len(size_t len) {
    return len + 4 * ((len + XT_RECORD_MAX - 1) / XT_RECORD_MAX);
}

size_t xt_encode(const char *in, size_t len, char *out) {
    size_t o = 0;
    while (len > 0) {
        size_t k = len < XT_RECORD_MAX ? len : XT_RECORD_MAX;
        out[o++] = (char)(k >> 24);
        out[o++] = (char)(k >> 16);
        out[o++] = (char)(k >> 8);
        out[o++] = (char)k;
        for (size_t i = 0; i < k; i++)
            out[o++] = (char)(in[i] ^ XT_KEY);
        in += k;
        len -= k;
    }
    return o;
}

bool xt_dec_idle(const xt_dec *d) {
    return d->hdr_len == 0 && d->left == 0;
}

ssize_t xt_decode(xt_dec *d, const char *in, size_t *in_len, char *out, size_t out_len) {
    size_t i = 0, o = 0, n = *in_len;
    while (i < n && o < out_len) {
        if (d->left == 0) {
            d->hdr[d->hdr_len++] = (unsigned char)in[i++];
            if (d->hdr_len == 4) {
                d->left = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
                          (uint32_t)d->hdr[2] << 8 | d->hdr[3];
                d->hdr_len = 0;
                if (d->left > XT_BIG)
                    return EM_EPROTO;
            }
            continue;
        }
        size_t k = d->left;
        if (k > n - i)
            k = n - i;
        if (k > out_len - o)
            k = out_len - o;
        for (size_t j = 0; j < k; j++)
            out[o + j] = (char)(in[i + j] ^ XT_KEY);
        i += k;
        o += k;
        d->left -= (uint32_t)k;
    }
    *in_len = i;
    return (ssize_t)o;
}

/* ---- the transport ------------------------------------------------------ */

static ssize_t xt_read(em_tcp_conn *c, char *buf, size_t len) {
    xt_state *s = em_tcp_conn_transport_state(c);
    size_t out = 0;
    for (;;) {
        size_t in = s->rlen - s->rpos;
        ssize_t k = xt_decode(&s->dec, s->rbuf + s->rpos, &in, buf + out, len - out);
        if (k < 0)
            return out ? (ssize_t)out : k;
        s->rpos += in;
        out += (size_t)k;
        if (out == len)
            return (ssize_t)out;
        if (s->rerr)
            return out ? (ssize_t)out : s->rerr;
        s->rpos = s->rlen = 0; /* everything raw was decoded */
        ssize_t n = recv(em_tcp_conn_fd(c), s->rbuf, sizeof s->rbuf, 0);
        if (n > 0) {
            s->rlen = (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        int err = n == 0 ? (xt_dec_idle(&s->dec) ? EM_EOF : EM_EPROTO)
                         : (errno == EAGAIN || errno == EWOULDBLOCK ? EM_EAGAIN : -errno);
        if (out) { /* the error comes back on the next call */
            if (err != EM_EAGAIN && err != EM_EOF)
                s->rerr = err;
            return (ssize_t)out;
        }
        return err == EM_EOF ? 0 : err;
    }
}

static int xt_flush(em_tcp_conn *c) {
    xt_state *s = em_tcp_conn_transport_state(c);
    while (s->tpos < s->tlen) {
        ssize_t n = send(em_tcp_conn_fd(c), s->tbuf + s->tpos, s->tlen - s->tpos,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? EM_EAGAIN : -errno;
        }
        s->tpos += (size_t)n;
    }
    s->tpos = s->tlen = 0;
    return 0;
}

static ssize_t xt_writev(em_tcp_conn *c, const struct iovec *iov, int cnt) {
    xt_state *s = em_tcp_conn_transport_state(c);
    int err = xt_flush(c);
    if (err)
        return err;
    /* Gather up to XT_TAKE_MAX plaintext, then encode it. */
    char plain[XT_TAKE_MAX];
    size_t took = 0;
    for (int i = 0; i < cnt && took < sizeof plain; i++) {
        size_t k = iov[i].iov_len;
        if (k > sizeof plain - took)
            k = sizeof plain - took;
        memcpy(plain + took, iov[i].iov_base, k);
        took += k;
    }
    s->tlen = xt_encode(plain, took, s->tbuf);
    err = xt_flush(c);
    if (err && err != EM_EAGAIN)
        return err;
    return (ssize_t)took;
}

static int xt_shutdown(em_tcp_conn *c) {
    int err = xt_flush(c);
    if (err)
        return err;
    return shutdown(em_tcp_conn_fd(c), SHUT_WR) == 0 || errno == ENOTCONN ? 0 : -errno;
}

static void xt_close(em_tcp_conn *c) {
    free(em_tcp_conn_transport_state(c));
}

static size_t xt_pending(const em_tcp_conn *c) {
    const xt_state *s = em_tcp_conn_transport_state(c);
    return s->tlen - s->tpos;
}

/* Plaintext decodable from raw bytes already read. */
static size_t xt_readable(const em_tcp_conn *c) {
    const xt_state *s = em_tcp_conn_transport_state(c);
    xt_dec d = s->dec;
    char sink[256];
    size_t at = s->rpos;
    while (at < s->rlen) {
        size_t in = s->rlen - at;
        ssize_t k = xt_decode(&d, s->rbuf + at, &in, sink, sizeof sink);
        if (k != 0)
            return k > 0 ? (size_t)k : 1; /* an error is news for the reader too */
        at += in;
    }
    return 0;
}

const em_tcp_transport xt_transport = {
    .name = "xor",
    .read = xt_read,
    .writev = xt_writev,
    .flush = xt_flush,
    .shutdown = xt_shutdown,
    .close = xt_close,
    .pending = xt_pending,
    .readable = xt_readable,
};

int xt_attach(em_tcp_conn *c) {
    xt_state *s = calloc(1, sizeof *s);
    if (!s)
        return EM_ENOMEM;
    int err = em_tcp_conn_set_transport(c, &xt_transport, s);
    if (err)
        free(s);
    return err;
}

int xt_maybe_attach(em_tcp_conn *c) {
    return xt_enabled() ? xt_attach(c) : 0;
}

/* ---- the peer helper ------------------------------------------------------ */

void xt_peer_init(xt_peer *p, int fd) {
    memset(p, 0, sizeof *p);
    p->fd = fd;
    p->on = xt_enabled();
}

static int wait_fd(int fd, short ev) {
    struct pollfd pfd = {.fd = fd, .events = ev};
    return poll(&pfd, 1, 10000) == 1 ? 0 : -1;
}

ssize_t xt_peer_write(xt_peer *p, const void *buf, size_t len) {
    char *enc = NULL;
    const char *src = buf;
    size_t n = len;
    if (p->on) {
        enc = malloc(xt_encoded_len(len) + 1);
        if (!enc)
            return -1;
        n = xt_encode(buf, len, enc);
        src = enc;
    }
    size_t at = 0;
    while (at < n) {
        ssize_t w = send(p->fd, src + at, n - at, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || ((errno == EAGAIN || errno == EWOULDBLOCK) &&
                                   wait_fd(p->fd, POLLOUT) == 0))
                continue;
            free(enc);
            return -1;
        }
        at += (size_t)w;
    }
    free(enc);
    return (ssize_t)len;
}

ssize_t xt_peer_read(xt_peer *p, void *buf, size_t len) {
    if (!p->on) {
        ssize_t n;
        do
            n = read(p->fd, buf, len);
        while (n < 0 && errno == EINTR);
        return n;
    }
    for (;;) {
        size_t in = p->raw_len - p->raw_pos;
        ssize_t k = xt_decode(&p->dec, p->raw + p->raw_pos, &in, buf, len);
        if (k < 0) {
            errno = EPROTO;
            return -1;
        }
        p->raw_pos += in;
        if (k > 0 || len == 0)
            return k;
        p->raw_pos = p->raw_len = 0;
        ssize_t n = read(p->fd, p->raw, sizeof p->raw);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            if (xt_dec_idle(&p->dec))
                return 0;
            errno = EPROTO;
            return -1;
        }
        p->raw_len = (size_t)n;
    }
}
