/* Shared between the files of the tcp module; not installed. */
#ifndef EMBER_TCP_INTERNAL_H
#define EMBER_TCP_INTERNAL_H

#include "ember/tcp.h"

/* One queued write piece. A write is one or more entries; only its last
 * entry carries `last`, so finishing it completes the write's token. */
struct em__wq_entry {
    const char *ptr;
    size_t len;
    uint64_t token;
    bool owned; /* ptr is our malloc'd copy */
    bool last;
};

/* em_tcp_conn._flags */
enum {
    EM__TCP_OPEN = 0x1,          /* between init and close */
    EM__TCP_READING = 0x2,       /* the user wants reads */
    EM__TCP_EOF = 0x4,           /* read side ended; reading never restarts */
    EM__TCP_CONNECTING = 0x8,    /* async connect in flight */
    EM__TCP_SHUT_PENDING = 0x10, /* SHUT_WR once the queue drains */
    EM__TCP_SHUT_DONE = 0x20,
    EM__TCP_THROTTLED = 0x40,
    EM__TCP_SENT_QUEUED = 0x80, /* _sent_task is on the loop's defer list */
    EM__TCP_CLOSE_WAIT = 0x100, /* closed while _sent_task was queued */
    EM__TCP_IO_R = 0x200,       /* interest registered with the loop */
    EM__TCP_IO_W = 0x400
};

/* Bring the loop interest in line with the reading/queue/connect state.
 * Returns 0 or em_err. */
int em__tcp_conn_update_io(em_tcp_conn *c);
/* Send queued bytes until EAGAIN or empty (called on writable). */
void em__tcp_wq_flush(em_tcp_conn *c);
/* Drop every queued entry, freeing copies. */
void em__tcp_wq_free(em_tcp_conn *c);
/* Queue delivery of on_sent if a token completed since the last report. */
void em__tcp_conn_schedule_sent(em_tcp_conn *c);
/* The loop watcher callback that dispatches reads, writes and connects. */
void em__tcp_conn_on_io(em_io *w, unsigned events);
/* Finish an async connect after the socket turned writable. */
void em__tcp_conn_connect_done(em_tcp_conn *c);
/* Deliver a write error to on_error (or on_read). */
void em__tcp_conn_write_failed(em_tcp_conn *c, int err);

/* Map the errno of a failed syscall; EAGAIN stays EM_EAGAIN. */
static inline int em__tcp_errno(void) {
    return em_err_from_errno(errno);
}

#endif
