/* Raw socket helpers: thin wrappers that turn -1/errno into em_err. */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ember/net.h"

static int sys_err(void) {
    return em_err_from_errno(errno);
}

EM_API int em_sock_open(int family, int type, bool nonblock) {
    int fd = socket(family, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    return fd >= 0 ? fd : sys_err();
}

EM_API int em_sock_set_nonblock(int fd, bool on) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return sys_err();
    int nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    if (nfl != fl && fcntl(fd, F_SETFL, nfl) < 0)
        return sys_err();
    return 0;
}

static int set_int(int fd, int level, int opt, int v) {
    return setsockopt(fd, level, opt, &v, sizeof v) == 0 ? 0 : sys_err();
}

EM_API int em_sock_set_nodelay(int fd, bool on) {
    return set_int(fd, IPPROTO_TCP, TCP_NODELAY, on);
}

EM_API int em_sock_set_keepalive(int fd, bool on, int idle_s) {
    int err = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, on);
    if (err == 0 && on && idle_s > 0)
        err = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s);
    return err;
}

EM_API int em_sock_set_reuseaddr(int fd, bool on) {
    return set_int(fd, SOL_SOCKET, SO_REUSEADDR, on);
}

EM_API int em_sock_set_reuseport(int fd, bool on) {
    return set_int(fd, SOL_SOCKET, SO_REUSEPORT, on);
}

EM_API int em_sock_set_v6only(int fd, bool on) {
    return set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, on);
}

EM_API int em_sock_error(int fd) {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len) != 0)
        return sys_err();
    return em_err_from_errno(v);
}

/* A flag rather than a function pointer: with _GNU_SOURCE glibc declares
 * getsockname/getpeername with a transparent-union argument. */
static int get_name(int fd, em_sockaddr *out, bool peer) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                 : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (r != 0)
        return sys_err();
    return em_sockaddr_from_sys(out, (struct sockaddr *)&ss, len);
}

EM_API int em_sock_local_addr(int fd, em_sockaddr *out) {
    return get_name(fd, out, false);
}

EM_API int em_sock_peer_addr(int fd, em_sockaddr *out) {
    return get_name(fd, out, true);
}
