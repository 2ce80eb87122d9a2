/* http/response.c: response heads as the client sees them, and the checks
 * on what handlers pass in. */
#include <locale.h>

#include "http_server_util.h"

static em_http_prebuilt p204, p200, p205;
static int mode;

static void h(em_http_ctx *cx, const em_http_handler *hd) {
    switch (mode) {
    case 0: /* header validation, then double answer */
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Bad Name"), EM_SLICE_LIT("v")), EM_EINVAL);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT(""), EM_SLICE_LIT("v")), EM_EINVAL);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-A"), EM_SLICE_LIT("a\r\nX-Evil: 1")),
                         EM_EINVAL);
        /* ember frames the body: a second Content-Length or a
         * Transfer-Encoding from the handler would contradict it (RFC 9110
         * §8.6, RFC 9112 §6.3) */
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Content-Length"), EM_SLICE_LIT("99")),
                         EM_EINVAL);
        assert_int_equal(
            em_http_header_add(cx, EM_SLICE_LIT("transfer-encoding"), EM_SLICE_LIT("chunked")),
            EM_EINVAL);
        /* RFC 9110 §5.5: no control byte but HTAB in a field value */
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-C"), EM_SLICE_LIT("a\x01b")),
                         EM_EINVAL);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-C"), EM_SLICE_LIT("a\x1b[0m")),
                         EM_EINVAL);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-C"), EM_SLICE_LIT("a\x7f")),
                         EM_EINVAL);
        assert_int_equal(em_http_respond(cx, 200, EM_SLICE_LIT("text/plain\x0b"), EM_SLICE_LIT("x")),
                         EM_EINVAL);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-T"), EM_SLICE_LIT("a\tb \xc3\xa9")), 0);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-A"), EM_SLICE_LIT("a")), 0);
        assert_int_equal(em_http_respond(cx, 201, EM_SLICE_LIT("text/x"), EM_SLICE_LIT("made")), 0);
        assert_int_equal(em_http_respond_text(cx, 200, "again"), EM_EALREADY);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-B"), EM_SLICE_LIT("b")), EM_EALREADY);
        break;
    case 1: /* 204 carries neither body nor length */
        em_http_respond(cx, 204, EM_SLICE_LIT(""), EM_SLICE_LIT("ignored"));
        break;
    case 2:
        em_http_respond_prebuilt(cx, &p204);
        break;
    case 3: /* nonsense status: a 500, not a malformed line */
        em_http_respond_text(cx, 42, "x");
        break;
    case 5: /* RFC 9110 §15.3.6: a 205 carries no content */
        assert_int_equal(
            em_http_stream_start(cx, 205, EM_SLICE_LIT(""), EM_HTTP_LENGTH_UNKNOWN, NULL),
            EM_EINVAL);
        assert_int_equal(em_http_stream_start(cx, 205, EM_SLICE_LIT(""), 7, NULL), EM_EINVAL);
        em_http_respond(cx, 205, EM_SLICE_LIT("text/plain"), EM_SLICE_LIT("ignored"));
        break;
    case 6:
        em_http_respond_prebuilt(cx, &p205);
        break;
    default:
        em_http_respond_prebuilt(cx, &p200);
        break;
    }
}
static const em_http_handler handler = { h, NULL, NULL };

static void ask(test_server *ts, int m, ts_in *in) {
    mode = m;
    memset(in, 0, sizeof *in);
    int fd = ts_connect(ts);
    TS_SEND(fd, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    ts_pump(ts, fd, in, ts_pred_eof, NULL, 3000);
    close(fd);
}

static void test_heads(void **state) {
    assert_int_equal(em_http_prebuilt_init(&p204, 204, EM_SLICE_LIT(""), EM_SLICE_LIT("nope")), 0);
    assert_int_equal(em_http_prebuilt_init(&p205, 205, EM_SLICE_LIT(""), EM_SLICE_LIT("nope")), 0);
    assert_int_equal(em_http_prebuilt_init(&p200, 200, EM_SLICE_LIT("text/plain"), EM_SLICE_LIT("pre")), 0);
    test_server ts;
    em_http_server_opts o = { .handler = &handler };
    ts_start(&ts, &o);
    static ts_in in;

    ask(&ts, 0, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 201 Created\r\n", 22);
    assert_non_null(strstr(in.buf, "\r\nX-A: a\r\n"));
    assert_non_null(strstr(in.buf, "\r\nX-T: a\tb \xc3\xa9\r\n"));
    assert_null(strstr(in.buf, "X-C"));
    assert_null(strstr(in.buf, "X-Evil"));
    assert_null(strstr(in.buf, "again"));
    assert_non_null(strstr(in.buf, "Content-Type: text/x\r\nContent-Length: 4\r\n"));

    ask(&ts, 1, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 204 No Content\r\n", 25);
    assert_null(strstr(in.buf, "Content-Length"));
    assert_null(strstr(in.buf, "ignored"));

    ask(&ts, 2, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 204 No Content\r\n", 25);
    assert_null(strstr(in.buf, "Content-Length"));
    assert_null(strstr(in.buf, "nope"));

    ask(&ts, 3, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 500 ", 13);

    ask(&ts, 5, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 205 Reset Content\r\n", 27);
    assert_non_null(strstr(in.buf, "Content-Length: 0\r\n"));
    assert_null(strstr(in.buf, "ignored"));

    ask(&ts, 6, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 205 Reset Content\r\n", 27);
    assert_non_null(strstr(in.buf, "Content-Length: 0\r\n"));
    assert_null(strstr(in.buf, "nope"));

    ask(&ts, 7, &in);
    /* Every head: Server, a fresh Date, the length, the close asked for. */
    assert_non_null(strstr(in.buf, "\r\nServer: ember\r\n"));
    assert_non_null(strstr(in.buf, "\r\nDate: "));
    assert_non_null(strstr(in.buf, " GMT\r\n"));
    assert_non_null(strstr(in.buf, "Content-Length: 3\r\n"));
    assert_non_null(strstr(in.buf, "Connection: close\r\n\r\npre"));

    ts_stop(&ts);
    em_http_prebuilt_free(&p204);
    em_http_prebuilt_free(&p200);
    em_http_prebuilt_free(&p205);
}

/* RFC 9110 §5.6.7: the Date is an IMF-fixdate, English day and month
 * names, whatever locale the application set (setlocale(LC_ALL, "") in a
 * German environment made strftime write "Di, 14 Nov"). Skipped where no
 * such locale is installed (LOCPATH can point at one made by localedef). */
static void test_date_locale(void **state) {
    static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                          "fr_FR.utf8", "es_ES.UTF-8", "es_ES.utf8"};
    const char *set = NULL;
    for (size_t i = 0; i < sizeof locales / sizeof locales[0] && !set; i++)
        set = setlocale(LC_ALL, locales[i]);
    if (!set)
        skip();
    assert_int_equal(em_http_prebuilt_init(&p200, 200, EM_SLICE_LIT("text/plain"), EM_SLICE_LIT("pre")), 0);
    test_server ts;
    em_http_server_opts o = { .handler = &handler };
    ts_start(&ts, &o);
    static ts_in in;
    ask(&ts, 99, &in);
    ts_stop(&ts);
    em_http_prebuilt_free(&p200);
    setlocale(LC_ALL, "C");
    const char *d = strstr(in.buf, "\r\nDate: ");
    assert_non_null(d);
    d += 8;
    static const char days[] = "Mon,Tue,Wed,Thu,Fri,Sat,Sun,";
    static const char months[] = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec ";
    char day[5] = {0}, mon[5] = {0};
    memcpy(day, d, 4);
    memcpy(mon, d + 8, 4);
    if (!strstr(days, day) || !strstr(months, mon) || d[3] != ',' || d[4] != ' ' ||
        memcmp(d + 25, " GMT\r\n", 6) != 0)
        fail_msg("not an IMF-fixdate under %s: %.40s", set, d);
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_heads),
                                        cmocka_unit_test(test_date_locale) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
