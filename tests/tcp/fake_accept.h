/* Include in one test file of a binary: its accept4 takes the place of
 * libc's in that binary, ember's static library included. It counts the
 * calls and fails the next ones with the errnos a test scripts (accept
 * errors a test cannot make the kernel produce), else it is the real
 * call. */
#ifndef TCP_FAKE_ACCEPT_H
#define TCP_FAKE_ACCEPT_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "em_test.h"

static int accept_script[8];
static unsigned accept_scripted, accept_script_at, naccept4;

#if defined(__USE_GNU) && !defined(__cplusplus)
#define SOCKADDR_PTR(a) ((a).__sockaddr__) /* glibc's transparent union */
#else
#define SOCKADDR_PTR(a) (a)
#endif

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags) {
    naccept4++;
    if (accept_script_at < accept_scripted) {
        errno = accept_script[accept_script_at++];
        return -1;
    }
    return (int)syscall(SYS_accept4, fd, SOCKADDR_PTR(addr), len, flags);
}

/* The next n accept4 calls fail with errs[0..n); the count restarts. */
static inline void script_accept_errors(const int *errs, unsigned n) {
    assert_true(n <= 8);
    memcpy(accept_script, errs, n * sizeof *errs);
    accept_scripted = n;
    accept_script_at = 0;
    naccept4 = 0;
}

#endif
