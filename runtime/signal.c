/* Signals through signalfd: the watched signals are blocked in the calling
 * thread and read from an fd on the loop, so handlers run as ordinary
 * callbacks with no async-signal-safety rules. */
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "runtime_internal.h"

static void on_signalfd(em_io *w, unsigned events) {
    em_signal *s = EM_CONTAINER_OF(w, em_signal, _io);
    struct signalfd_siginfo si[8];
    for (;;) {
        ssize_t n = read(w->fd, si, sizeof si);
        if (n <= 0)
            return; /* EAGAIN: drained */
        for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
            s->_cb(s, (int)si[i].ssi_signo);
            if (s->_io.fd < 0)
                return; /* the callback stopped the watcher */
        }
    }
}

void em_signal_init(em_loop *loop, em_signal *s, em_signal_cb cb) {
    s->_cb = cb;
    s->_mask = 0;
    em_io_init(loop, &s->_io, -1, on_signalfd);
}

static void mask_to_set(uint64_t mask, sigset_t *set) {
    sigemptyset(set);
    for (int n = 1; n <= 64; n++)
        if (mask & (1ull << (n - 1)))
            sigaddset(set, n);
}

int em_signal_start(em_signal *s, int signum) {
    if (signum < 1 || signum > 64 || signum == SIGKILL || signum == SIGSTOP)
        return EM_EINVAL;
    uint64_t mask = s->_mask | (1ull << (signum - 1));
    sigset_t set;
    mask_to_set(mask, &set);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0)
        return em_err_from_errno(rc);
    int fd = signalfd(s->_io.fd, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return em_err_from_errno(errno);
    s->_mask = mask;
    if (s->_io.fd < 0) {
        s->_io.fd = fd;
        rc = em_io_start(&s->_io, EM_IO_READ);
        if (rc < 0) {
            close(fd);
            s->_io.fd = -1;
            s->_mask = 0;
            return rc;
        }
    }
    return 0;
}

void em_signal_stop(em_signal *s) {
    if (s->_io.fd < 0)
        return;
    em_io_stop(&s->_io);
    close(s->_io.fd);
    s->_io.fd = -1;
    sigset_t set;
    mask_to_set(s->_mask, &set);
    /* Signals that arrived meanwhile stay pending and are delivered on
     * unblock with their default action; that is the caller's intent. */
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    s->_mask = 0;
}
