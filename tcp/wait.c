/* The one wait of the blocking calls (connect, accept, a read or write a
 * signal cut short): poll until ready or a deadline, which a signal does
 * not move. */
#include <poll.h>

#include "tcp_internal.h"

int em__tcp_poll_until(int fd, short events, uint64_t deadline) {
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int wait = -1;
        if (deadline) {
            uint64_t now = em__tcp_now_ms();
            if (now >= deadline)
                return EM_ETIMEDOUT;
            wait = (int)(deadline - now);
        }
        int r = poll(&p, 1, wait);
        if (r > 0)
            return 0;
        if (r == 0)
            return EM_ETIMEDOUT;
        if (errno != EINTR)
            return em__tcp_errno();
    }
}
