/* runtime/io_watch.c: fd watchers on pipes and socketpairs. */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/runtime.h"

typedef struct watch {
    em_io io;
    int calls;
    unsigned last;
    struct watch *victim; /* stopped by this watcher's callback */
    bool read_it;
} watch;

static void on_watch(em_io *w, unsigned events) {
    watch *x = EM_CONTAINER_OF(w, watch, io);
    x->calls++;
    x->last = events;
    if (x->read_it && (events & EM_IO_READ)) {
        char buf[64];
        ssize_t n = read(w->fd, buf, sizeof buf);
        (void)n;
    }
    if (x->victim)
        em_io_stop(&x->victim->io);
}

static void make_pipe(int p[2]) {
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void test_readable(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int p[2];
    make_pipe(p);
    watch w = { .read_it = true };
    em_io_init(&loop, &w.io, p[0], on_watch);
    assert_ptr_equal(em_io_loop(&w.io), &loop);
    assert_false(em_io_active(&w.io));
    assert_int_equal(em_io_events(&w.io), 0);
    assert_int_equal(em_io_start(&w.io, EM_IO_READ), 0);
    assert_true(em_io_active(&w.io));
    assert_int_equal(em_io_events(&w.io), EM_IO_READ);
    assert_int_equal(em_io_start(&w.io, EM_IO_READ | EM_IO_WRITE | EM_IO_EDGE), 0);
    assert_int_equal(em_io_events(&w.io), EM_IO_READ | EM_IO_WRITE | EM_IO_EDGE);
    assert_int_equal(em_io_start(&w.io, EM_IO_READ), 0);
    assert_int_equal(em_loop_active(&loop), 1);
    assert_int_equal(em_loop_run(&loop, EM_RUN_NOWAIT), 1);
    assert_int_equal(w.calls, 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    em_loop_run(&loop, EM_RUN_ONCE);
    assert_int_equal(w.calls, 1);
    assert_true(w.last & EM_IO_READ);
    em_io_stop(&w.io);
    em_io_stop(&w.io); /* idempotent */
    assert_int_equal(em_io_events(&w.io), 0);
    assert_int_equal(em_loop_active(&loop), 0);
    /* Started again after a stop: added to the epoll set anew. */
    assert_int_equal(em_io_start(&w.io, EM_IO_READ), 0);
    assert_int_equal(em_loop_active(&loop), 1);
    assert_int_equal(write(p[1], "y", 1), 1);
    em_loop_run(&loop, EM_RUN_ONCE);
    assert_int_equal(w.calls, 2);
    em_io_stop(&w.io);
    assert_int_equal(em_loop_active(&loop), 0);
    close(p[0]);
    close(p[1]);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* Level-triggered: unread data is reported again every turn. Edge-triggered:
 * once per arrival. */
static void test_level_vs_edge(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    watch lvl = {0}, edge = {0};
    em_io_init(&loop, &lvl.io, a[0], on_watch);
    em_io_init(&loop, &edge.io, b[0], on_watch);
    assert_int_equal(em_io_start(&lvl.io, EM_IO_READ), 0);
    assert_int_equal(em_io_start(&edge.io, EM_IO_READ | EM_IO_EDGE), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    for (int i = 0; i < 3; i++)
        em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(lvl.calls, 3);
    assert_int_equal(edge.calls, 1);
    assert_int_equal(write(b[1], "y", 1), 1);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(edge.calls, 2);
    em_io_stop(&lvl.io);
    em_io_stop(&edge.io);
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_writable_and_modify(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    watch w = {0};
    em_io_init(&loop, &w.io, sv[0], on_watch);
    assert_int_equal(em_io_start(&w.io, EM_IO_WRITE), 0);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(w.calls, 1);
    assert_true(w.last & EM_IO_WRITE);
    /* Switch to read interest: no more writable reports. */
    assert_int_equal(em_io_start(&w.io, EM_IO_READ), 0);
    assert_int_equal(em_loop_active(&loop), 1);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(w.calls, 1);
    /* Interest with neither READ nor WRITE is a stop. */
    assert_int_equal(em_io_start(&w.io, 0), 0);
    assert_false(em_io_active(&w.io));
    assert_int_equal(em_loop_active(&loop), 0);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A watcher stopped by an earlier callback of the same batch is not called,
 * even though epoll reported it. */
static void test_stop_other_in_callback(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    watch wa = {0}, wb = {0};
    wa.victim = &wb;
    wb.victim = &wa;
    em_io_init(&loop, &wa.io, a[0], on_watch);
    em_io_init(&loop, &wb.io, b[0], on_watch);
    assert_int_equal(em_io_start(&wa.io, EM_IO_READ), 0);
    assert_int_equal(em_io_start(&wb.io, EM_IO_READ), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    em_loop_run(&loop, EM_RUN_ONCE);
    /* Whichever ran first stopped the other. */
    assert_int_equal(wa.calls + wb.calls, 1);
    assert_int_equal(em_loop_active(&loop), 1);
    em_io_stop(&wa.io);
    em_io_stop(&wb.io);
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_hup_reported(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int p[2];
    make_pipe(p);
    watch w = {0};
    em_io_init(&loop, &w.io, p[0], on_watch);
    assert_int_equal(em_io_start(&w.io, EM_IO_READ), 0);
    close(p[1]);
    em_loop_run(&loop, EM_RUN_ONCE);
    assert_int_equal(w.calls, 1);
    assert_true(w.last & EM_IO_HUP);
    em_io_stop(&w.io);
    close(p[0]);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_bad_fd(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_io w;
    em_io_init(&loop, &w, 12345, NULL);
    assert_int_equal(em_io_start(&w, EM_IO_READ), EM_EBADF);
    assert_false(em_io_active(&w));
    assert_int_equal(em_loop_active(&loop), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readable),
        cmocka_unit_test(test_level_vs_edge),
        cmocka_unit_test(test_writable_and_modify),
        cmocka_unit_test(test_stop_other_in_callback),
        cmocka_unit_test(test_hup_reported),
        cmocka_unit_test(test_bad_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
