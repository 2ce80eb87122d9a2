/* The HTTP connection core (conn.c): one client connection over a TCP (or
 * TLS) connection, with its one timer, reading paused and resumed, the
 * shared burst buffer, flushing and the lingering close. It knows nothing
 * of requests: it calls the layer above only through em__http_conn_up.
 * Shared by the files of the http module; not installed. */
#ifndef EMBER_HTTP_CONN_INTERNAL_H
#define EMBER_HTTP_CONN_INTERNAL_H

#include "http_internal.h"

/* Which timeout the connection's one timer stands for. */
enum {
    TMO_NONE = 0,
    TMO_IDLE,
    TMO_HEADER,
    TMO_BODY,
    TMO_WRITE,
    TMO_LINGER,
    TMO_CONNECT, /* client: DNS + TCP + TLS */
    TMO_EXPECT,  /* client: waiting for a 100 before sending the body */
    TMO_KINDS
};

/* Responses made while one connection's input is processed leave in one
 * write. One per loop, shared by its connections: only one builds at a
 * time, and claiming it flushes the previous owner's. */
struct em__http_burst {
    em_buf buf;
    em_http_conn *owner;
};

struct em__http_conn_up;
/* What the connections of one server (or client) share. */
struct em__http_env {
    const struct em__http_conn_up *up;
    unsigned tmo_ms[TMO_KINDS]; /* durations by TMO_* kind */
    struct em__http_burst burst;
};

/* The layer above (the server's request pipeline, or the client). */
typedef struct em__http_conn_up {
    void (*on_input)(em_http_conn *c); /* bytes were appended to c->tcp.in */
    void (*on_eof)(em_http_conn *c);   /* the peer ended its side (not while lingering) */
    void (*on_sent)(em_http_conn *c, uint64_t token);
    void (*on_throttle)(em_http_conn *c, bool on); /* the queue crossed a watermark; on is
                                                      reported from inside writes: act, call
                                                      nothing of the user's */
    void (*on_timeout)(em_http_conn *c, int kind); /* not for TMO_LINGER (the core closes) */
    void (*on_resume)(em_http_conn *c);            /* asked for with em__http_conn_resume_later */
    void (*on_close)(em_http_conn *c, int err);    /* closing now, once: let go of c */
    void (*on_free)(em_http_conn *c);              /* closed: c's memory may go */
} em__http_conn_up;

/* em_http_conn.flags */
enum {
    CONN_CLOSE_AFTER = 0x1, /* no more requests: close once the answer is out */
    CONN_PEER_EOF = 0x2,    /* the client half-closed */
    CONN_CLOSED = 0x4,      /* em__http_conn_close ran */
    CONN_PAUSED = 0x8,      /* reading stopped by us */
    CONN_IN_PROCESS = 0x10, /* the layer above is processing input */
    CONN_RESUME_QUEUED = 0x20,
    CONN_SENT_100 = 0x40,
    CONN_LINGER = 0x80, /* half-closed, waiting for the peer's FIN */
    CONN_MOVED = 0x100  /* the TCP connection was taken over (upgrade) */
};

struct em_http_conn {
    em_tcp_conn tcp;
    em_timer timer;
    em_task resume;
    struct em__http_env *env;     /* shared: the layer above, timeouts, burst */
    void *owner;                  /* the server */
    void *data;                   /* the user's */
    struct em__http_exchange *ex; /* the request in progress */
    em_http_conn *prev, *next;    /* the owner's list */
    em_sockaddr peer;
    uint32_t nrequests;
    uint16_t flags;
    uint8_t tmo;
};

/* Set up c over the connected fd (reading not started). Returns 0 or
 * em_err; on error fd is still the caller's. */
int em__http_conn_init(em_http_conn *c, em_loop *loop, int fd, const em_tcp_conn_opts *o,
                       struct em__http_env *env);
/* Client side: set up c's timer, task and env before its TCP connection
 * exists (the connect runs into c->tcp and is timed with TMO_CONNECT). */
void em__http_conn_prepare(em_http_conn *c, em_loop *loop, struct em__http_env *env);
/* Client side: c->tcp is connected (and its TLS handshake done): give it
 * the core's callbacks. Reading stays off until em__http_conn_reading. */
void em__http_conn_adopt(em_http_conn *c);
/* Arm the one timer as kind (TMO_*); TMO_NONE disarms. A header timeout
 * already running is kept (a deadline from the first byte). */
void em__http_conn_set_timeout(em_http_conn *c, uint8_t kind);
/* Read from the client or not. */
void em__http_conn_reading(em_http_conn *c, bool on);
/* The burst buffer, claimed for c (another connection's burst is flushed). */
em_buf *em__http_conn_claim_burst(em_http_conn *c);
static inline em_buf *em__http_conn_burst(em_http_conn *c) {
    /* Called for every response: the usual case, c owns it, stays inline. */
    return c->env->burst.owner == c ? &c->env->burst.buf : em__http_conn_claim_burst(c);
}
/* Send what c's burst holds. Returns 0 or em_err (then c is closed). */
int em__http_conn_flush(em_http_conn *c);
/* Flush the burst, then write slices (em_tcp_conn_write semantics). A
 * failure other than EM_ENOBUFS closes c. Arms the write timeout while
 * bytes wait. */
int em__http_conn_write(em_http_conn *c, const em_slice *s, unsigned n, unsigned flags,
                        uint64_t *token);
/* No more requests: half-close once the queue drains, then wait for the
 * client's FIN (so unread input cannot turn the close into a reset that
 * destroys the response) or the linger timeout. */
void em__http_conn_linger(em_http_conn *c);
/* Close now: up->on_close(c, err) runs inside, up->on_free later. */
void em__http_conn_close(em_http_conn *c, int err);
/* The TCP connection was moved out of c (an upgrade): c is closed as far
 * as HTTP goes (up->on_close runs inside) without touching the socket, and
 * up->on_free follows from loop (the connection's: read it before the
 * move). */
void em__http_conn_moved(em_http_conn *c, em_loop *loop);
/* c was closed (em__http_conn_close) after its TCP connection had been
 * moved out, so no TCP close callback will come to free it: up->on_free
 * runs from loop instead. */
void em__http_conn_free_later(em_http_conn *c, em_loop *loop);
/* Call up->on_resume from the loop, once however often asked. */
void em__http_conn_resume_later(em_http_conn *c);
/* Bytes waiting to be sent. */
static inline size_t em__http_conn_queued(const em_http_conn *c) {
    return em_tcp_conn_queued(&c->tcp);
}

#endif
