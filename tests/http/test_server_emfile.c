/* Admission control when the process runs out of file descriptors: the
 * accept that fails with EMFILE is answered 503 (through the listener's
 * reserve fd), and once fds free up the server serves again. */
#include <fcntl.h>
#include <sys/resource.h>

#include "http_server_util.h"

static void h_ok(em_http_ctx *cx, const em_http_handler *h) { em_http_respond_text(cx, 200, "ok"); }
static const em_http_handler handler = { h_ok, NULL, NULL };

static void test_emfile_503(void **state) {
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    test_server ts;
    em_http_server_opts o = { .handler = &handler };
    ts_start(&ts, &o);
    int fd = ts_connect(&ts); /* the client's socket exists before the squeeze */

    struct rlimit tiny = { 64, old.rlim_max };
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &tiny), 0);
    int hogs[64], nhogs = 0;
    for (int h; nhogs < 64 && (h = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
        hogs[nhogs++] = h;
    assert_true(nhogs > 0);

    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 503 ", 13);
    assert_true(ts.srv.tcp.overloaded >= 1);
    close(fd);

    for (int i = 0; i < nhogs; i++)
        close(hogs[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    /* Let the listener's back-off timer re-arm it. */
    memset(&in, 0, sizeof in);
    fd = ts_connect(&ts);
    TS_SEND(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "\r\n\r\nok"));
    close(fd);
    ts_stop(&ts);
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_emfile_503) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
