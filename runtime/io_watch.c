/* fd watchers: thin wrappers over epoll_ctl. Level-triggered by default
 * (EM_IO_EDGE asks for EPOLLET); EPOLLERR and EPOLLHUP are always reported.
 * The epoll data is the watcher pointer, so a watcher stopped (and perhaps
 * freed) during dispatch has its pending events cleared from the batch. */
#include <sys/epoll.h>

#include "runtime_internal.h"

void em_io_init(em_loop *loop, em_io *w, int fd, em_io_cb cb) {
    w->fd = fd;
    w->_cb = cb;
    w->_loop = loop;
    w->_events = 0;
}

static uint32_t to_epoll(unsigned events) {
    uint32_t e = 0;
    if (events & EM_IO_READ)
        e |= EPOLLIN | EPOLLRDHUP; /* a half-close shows as EM_IO_HUP */
    if (events & EM_IO_WRITE)
        e |= EPOLLOUT;
    if (events & EM_IO_EDGE)
        e |= EPOLLET;
    return e;
}

static int io_set(em_io *w, unsigned events) {
    struct epoll_event ev = { .events = to_epoll(events), .data.ptr = w };
    /* Interest is never 0 while the fd is in the set (em_io_start stops
     * the watcher instead), so _events says which call this is. */
    int op = w->_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(w->_loop->_epfd, op, w->fd, &ev) < 0)
        return em_err_from_errno(errno);
    w->_events = events;
    return 0;
}

int em__io_start_internal(em_io *w, unsigned events) { return io_set(w, events); }

int em_io_start(em_io *w, unsigned events) {
    if (!(events & (EM_IO_READ | EM_IO_WRITE))) {
        em_io_stop(w);
        return 0;
    }
    bool was_active = w->_events != 0;
    int rc = io_set(w, events);
    if (rc == 0 && !was_active)
        w->_loop->_active++;
    return rc;
}

void em_io_stop(em_io *w) {
    em_loop *loop = w->_loop;
    if (!w->_events)
        return;
    /* EBADF/ENOENT mean the fd is already gone: nothing left to remove. */
    (void)epoll_ctl(loop->_epfd, EPOLL_CTL_DEL, w->fd, NULL);
    loop->_active--;
    w->_events = 0;
    /* Discard events of this turn not yet dispatched to w. */
    struct epoll_event *evs = loop->_events;
    for (int i = loop->_cur + 1; i < loop->_nevents; i++)
        if (evs[i].data.ptr == w)
            evs[i].data.ptr = NULL;
}

bool em_io_active(const em_io *w) { return w->_events != 0; }

unsigned em_io_events(const em_io *w) { return w->_events; }

em_loop *em_io_loop(const em_io *w) { return w->_loop; }

unsigned em__loop_dispatch(em_loop *loop, int n) {
    unsigned calls = 0;
    struct epoll_event *evs = loop->_events;
    loop->_nevents = n;
    for (loop->_cur = 0; loop->_cur < n; loop->_cur++) {
        em_io *w = evs[loop->_cur].data.ptr;
        if (!w)
            continue;
        uint32_t e = evs[loop->_cur].events;
        /* Report only what is still wanted: an earlier callback in this
         * batch may have changed w's interest. */
        unsigned got = 0;
        if ((e & EPOLLIN) && (w->_events & EM_IO_READ))
            got |= EM_IO_READ;
        if ((e & EPOLLOUT) && (w->_events & EM_IO_WRITE))
            got |= EM_IO_WRITE;
        if (e & EPOLLERR)
            got |= EM_IO_ERROR;
        if (e & (EPOLLHUP | EPOLLRDHUP))
            got |= EM_IO_HUP;
        if (got) {
            w->_cb(w, got);
            calls++;
        }
    }
    loop->_nevents = 0;
    loop->_cur = 0;
    return calls;
}
