/* The write queue of an async connection: write at once when nothing is
 * queued, a ring of entries for what the transport did not take, send
 * tokens, watermarks, and the end of the write side (shutdown, end). The
 * fast path (queue empty, the kernel takes everything) allocates nothing.
 *
 * Tokens: a write's token is "taken" once the transport took its last
 * byte, and "done" (reported through on_sent) once the transport also holds
 * nothing more for the socket. The plain socket holds nothing, so there the
 * two are the same. */
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tcp_internal.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
/* Stack budget for one sendmsg: IOV_MAX iovecs is 16 KiB on x86-64. */
#define WQ_IOV IOV_MAX

/* Make room for n more entries; the ring size stays a power of two. */
static int wq_reserve(em_tcp_conn *c, unsigned n) {
    struct em__tcp_wq *q = em__tcp_wq(c);
    unsigned len = q ? q->len : 0;
    if (q && len + n <= 1u << q->log2)
        return 0;
    if (n > UINT_MAX / 4 - len)
        return EM_ENOMEM;
    unsigned log2 = q ? q->log2 : 4, cap = 1u << log2;
    while (cap < len + n)
        cap = 1u << ++log2;
    struct em__tcp_wq *r = malloc(sizeof *r + cap * sizeof r->e[0]);
    if (!r)
        return EM_ENOMEM;
    for (unsigned i = 0; i < len; i++)
        r->e[i] = *em__tcp_wq_at(q, i);
    r->head = 0;
    r->len = len;
    r->off = q ? q->off : 0;
    r->log2 = (uint8_t)log2;
    free(q);
    c->_task.data = r;
    return 0;
}

/* After wq_reserve made room. */
static void wq_push(em_tcp_conn *c, const char *p, size_t len, uint64_t token, bool owned,
                    bool last) {
    struct em__tcp_wq *q = em__tcp_wq(c);
    struct em__wq_entry *e = em__tcp_wq_at(q, q->len);
    e->ptr = p;
    e->len = len;
    e->token = token;
    e->owned = owned;
    e->last = last;
    q->len++;
    c->_queued += (uint32_t)len;
}

static ssize_t send_iov(int fd, struct iovec *iov, size_t cnt) {
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = cnt;
    for (;;) {
        /* MSG_NOSIGNAL: a reset peer must give EPIPE, not SIGPIPE. One piece
         * (the usual response) goes by send(), which skips copying in and
         * checking a msghdr and an iovec array. */
        ssize_t n = cnt == 1 ? send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT)
                             : sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return em__tcp_errno();
    }
}

static inline ssize_t tp_writev(em_tcp_conn *c, struct iovec *iov, size_t cnt) {
    const em_tcp_transport *tp = em__tcp_tp(c);
    return tp ? tp->writev(c, iov, (int)cnt) : send_iov(c->_io.fd, iov, cnt);
}

/* After the transport took bytes: does it still hold some? Tokens taken
 * with nothing held are done. */
static void note_pending(em_tcp_conn *c) {
    if (em__tcp_tp_pending(c)) {
        c->_flags |= EM__TCP_TPENDING;
    } else {
        c->_flags &= ~(unsigned)EM__TCP_TPENDING;
        c->_done_lo = c->_taken_lo;
    }
}

/* Drop n sent bytes from the front of the queue, completing tokens. */
static void wq_advance(em_tcp_conn *c, size_t n) {
    struct em__tcp_wq *q = em__tcp_wq(c);
    c->_queued -= (uint32_t)n;
    while (q->len > 0) {
        struct em__wq_entry *e = em__tcp_wq_at(q, 0);
        size_t left = e->len - q->off;
        if (n < left) {
            q->off += (uint32_t)n;
            return;
        }
        n -= left;
        if (e->owned)
            free((void *)e->ptr);
        if (e->last)
            c->_taken_lo = (uint32_t)e->token;
        q->off = 0;
        q->head = em__tcp_wq_wrap(q, q->head + 1);
        q->len--;
    }
}

/* After the queue shrank: report tokens, finish a pending shutdown or end,
 * unthrottle. */
static void after_drain(em_tcp_conn *c) {
    em__tcp_schedule_sent(c);
    if (em__tcp_wq_len(c) == 0 && !(c->_flags & (EM__TCP_TPENDING | EM__TCP_CONNECTING)) &&
        (c->_flags & EM__TCP_SHUT_PENDING)) {
        int err = em__tcp_shutdown_now(c);
        if (err == 0) {
            c->_flags = (c->_flags & ~(unsigned)EM__TCP_SHUT_PENDING) | EM__TCP_SHUT_DONE;
        } else if (err != EM_EAGAIN) {
            em__tcp_fail(c, err);
            return;
        }
    }
    if ((c->_flags & (EM__TCP_ENDING | EM__TCP_SHUT_DONE)) ==
        (EM__TCP_ENDING | EM__TCP_SHUT_DONE)) {
        em__tcp_close(c, c->_on_close);
        return;
    }
    int err = em__tcp_update_io(c);
    if (err) {
        em__tcp_fail(c, err);
        return;
    }
    if ((c->_flags & EM__TCP_THROTTLED) && c->_queued <= c->_low_wm) {
        c->_flags &= ~(unsigned)EM__TCP_THROTTLED;
        if (c->_cbs->on_unthrottled)
            c->_cbs->on_unthrottled(c);
    }
}

void em__tcp_wq_flush(em_tcp_conn *c) {
    c->_flags &= ~(unsigned)EM__TCP_WR_WANTS_R;
    if (c->_flags & EM__TCP_TPENDING) {
        int err = em__tcp_tp(c)->flush(c);
        if (err && err != EM_EAGAIN) {
            em__tcp_fail(c, err);
            return;
        }
        note_pending(c);
    }
    struct iovec iov[WQ_IOV];
    while (em__tcp_wq_len(c) > 0 && !(c->_flags & EM__TCP_TPENDING)) {
        struct em__tcp_wq *q = em__tcp_wq(c);
        size_t cnt = 0, want = 0;
        for (unsigned i = 0; i < q->len && cnt < WQ_IOV; i++) {
            struct em__wq_entry *e = em__tcp_wq_at(q, i);
            size_t off = i == 0 ? q->off : 0;
            if (e->len == off)
                continue; /* empty write: completes when reached */
            iov[cnt].iov_base = (void *)(e->ptr + off);
            iov[cnt].iov_len = e->len - off;
            want += iov[cnt].iov_len;
            cnt++;
        }
        ssize_t n = cnt ? tp_writev(c, iov, cnt) : 0;
        if (n == EM_EAGAIN)
            break;
        if (n < 0) {
            em__tcp_fail(c, (int)n);
            return;
        }
        wq_advance(c, (size_t)n);
        if (em__tcp_tp(c)) {
            /* A transport may take less with room left in the socket: only
             * bytes held inside say the socket is full. */
            note_pending(c);
            continue;
        }
        c->_done_lo = c->_taken_lo;
        if ((size_t)n < want)
            break; /* the kernel is full */
    }
    after_drain(c);
}

/* Queue slices [i..n) with the first `off` bytes of slice i already sent. */
static int wq_queue(em_tcp_conn *c, const em_slice *s, unsigned i, unsigned n, size_t off,
                    size_t rest, unsigned flags, uint64_t token) {
    if (flags & EM_TCP_WRITE_COPY) {
        char *copy = NULL;
        if (rest > 0) {
            copy = malloc(rest);
            if (!copy)
                return EM_ENOMEM;
            size_t at = 0;
            for (; i < n; i++, off = 0) {
                /* An empty slice may carry a NULL ptr (io.h): no memcpy. */
                if (s[i].len == off)
                    continue;
                memcpy(copy + at, s[i].ptr + off, s[i].len - off);
                at += s[i].len - off;
            }
        }
        wq_push(c, copy, rest, token, copy != NULL, true);
        return 0;
    }
    if (i == n) { /* only empty slices left: still needs an entry for the token */
        wq_push(c, NULL, 0, token, false, true);
        return 0;
    }
    for (; i < n; i++, off = 0) /* NULL + 0 is undefined: keep an empty slice's ptr */
        wq_push(c, s[i].len == off ? s[i].ptr : s[i].ptr + off, s[i].len - off, token, false,
                i + 1 == n);
    return 0;
}

EM_API int em_tcp_conn_write(em_tcp_conn *c, const em_slice *slices, unsigned n, unsigned flags,
                             uint64_t *token) {
    if (!(c->_flags & EM__TCP_OPEN) || (c->_flags & (EM__TCP_SHUT_PENDING | EM__TCP_SHUT_DONE)))
        return EM_ECLOSED;
    if (c->_werr)
        return c->_werr;
    if (n > 0 && !slices)
        return EM_EINVAL;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        if (slices[i].len > SIZE_MAX - total)
            return EM_ENOBUFS;
        total += slices[i].len;
    }
    if (total > c->_max_queue || c->_queued > c->_max_queue - total)
        return EM_ENOBUFS;
    unsigned slots = (flags & EM_TCP_WRITE_COPY) ? 1 : (n ? n : 1);
    uint64_t tok = c->_next_token + 1;
    unsigned i = 0;
    size_t off = 0, rest = total;
    int err;
    if (em__tcp_wq_len(c) > 0 || (c->_flags & (EM__TCP_CONNECTING | EM__TCP_TPENDING))) {
        /* Everything gets queued: fail before anything is accepted. */
        if ((err = wq_reserve(c, slots)) != 0)
            return err;
    } else {
        struct iovec iov[WQ_IOV];
        while (rest > 0) {
            size_t cnt = 0, want = 0;
            for (unsigned j = i; j < n && cnt < WQ_IOV; j++) {
                size_t o = j == i ? off : 0;
                if (slices[j].len == o)
                    continue;
                iov[cnt].iov_base = (void *)(slices[j].ptr + o);
                iov[cnt].iov_len = slices[j].len - o;
                want += iov[cnt].iov_len;
                cnt++;
            }
            ssize_t w = tp_writev(c, iov, cnt);
            if (w == EM_EAGAIN)
                break;
            if (w < 0) {
                /* Sent in part or not at all, the stream is broken: the
                 * error sticks, as one a later flush finds does, so every
                 * write after this one fails the same way. */
                c->_werr = (int16_t)w;
                return (int)w;
            }
            rest -= (size_t)w;
            size_t adv = (size_t)w + off;
            while (i < n && adv >= slices[i].len) {
                adv -= slices[i].len;
                i++;
            }
            off = adv;
            if (em__tcp_tp(c) ? em__tcp_tp_pending(c) : (size_t)w < want)
                break; /* the socket is full */
        }
        if (em__tcp_tp_pending(c))
            c->_flags |= EM__TCP_TPENDING;
    }
    if (rest == 0 && em__tcp_wq_len(c) == 0 && !(c->_flags & EM__TCP_CONNECTING)) {
        c->_next_token = tok;
        c->_taken_lo = (uint32_t)tok;
        if (token)
            *token = tok;
        if (!(c->_flags & EM__TCP_TPENDING)) {
            c->_done_lo = (uint32_t)tok;
            em__tcp_schedule_sent(c);
            return 0;
        }
        /* All taken, some held inside the transport: done once it is out. */
        if ((err = em__tcp_update_io(c)) != 0)
            c->_werr = (int16_t)err;
        return err;
    }
    /* The ring is allocated only once a connection first has to queue,
     * so connections whose writes always go straight out never allocate. */
    err = wq_reserve(c, slots);
    if (!err)
        err = wq_queue(c, slices, i, n, off, rest, flags, tok);
    if (err) {
        if (rest != total)
            c->_werr = (int16_t)err; /* part went out: the byte stream is broken */
        return err;
    }
    c->_next_token = tok;
    if (token)
        *token = tok;
    err = em__tcp_update_io(c);
    if (err) {
        c->_werr = (int16_t)err;
        return err;
    }
    if (!(c->_flags & EM__TCP_THROTTLED) && c->_queued >= c->_high_wm) {
        c->_flags |= EM__TCP_THROTTLED;
        if (c->_cbs->on_throttled)
            c->_cbs->on_throttled(c);
    }
    return 0;
}

EM_API int em_tcp_conn_shutdown(em_tcp_conn *c) {
    if (!(c->_flags & EM__TCP_OPEN) || (c->_flags & (EM__TCP_SHUT_PENDING | EM__TCP_SHUT_DONE)))
        return EM_ECLOSED;
    if (em__tcp_wq_len(c) > 0 || (c->_flags & (EM__TCP_CONNECTING | EM__TCP_TPENDING))) {
        c->_flags |= EM__TCP_SHUT_PENDING;
        return 0;
    }
    int err = em__tcp_shutdown_now(c);
    if (err == EM_EAGAIN) { /* the transport goes on when writable */
        c->_flags |= EM__TCP_SHUT_PENDING;
        return em__tcp_update_io(c);
    }
    c->_flags |= EM__TCP_SHUT_DONE;
    return err;
}

EM_API void em_tcp_conn_end(em_tcp_conn *c, em_tcp_close_cb cb) {
    if (!(c->_flags & EM__TCP_OPEN)) {
        em__tcp_close(c, cb); /* a connect by name in flight: cancel it */
        return;
    }
    if (c->_flags & EM__TCP_ENDING)
        return;
    c->_on_close = cb;
    c->_flags = (c->_flags & ~(unsigned)EM__TCP_READING) | EM__TCP_ENDING;
    if (c->_werr) { /* the stream broke already: nothing can drain */
        em__tcp_close(c, cb);
        return;
    }
    if (!(c->_flags & EM__TCP_SHUT_DONE))
        c->_flags |= EM__TCP_SHUT_PENDING;
    if (em__tcp_wq_len(c) == 0 && !(c->_flags & (EM__TCP_CONNECTING | EM__TCP_TPENDING))) {
        int err = (c->_flags & EM__TCP_SHUT_DONE) ? 0 : em__tcp_shutdown_now(c);
        if (err != EM_EAGAIN) { /* done, or failed: close either way */
            em__tcp_close(c, cb);
            return;
        }
    }
    /* Waits for writable; a reset shows there too and closes early. */
    if (em__tcp_update_io(c) != 0)
        em__tcp_close(c, cb);
}
