/* The client undoing a response's Content-Encoding (http/client_conn.c over
 * encoding*.c): a coding list split over several fields is one list (RFC
 * 9110 §5.3, §8.4), and a coded body whose end is the connection's close
 * must end its coding too, or it was cut short. */
#include "client_test_util.h"
#include "encoding_test_util.h"

static char text[20000];

static void fill_text(void) {
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + (i * 7 + i / 13) % 26);
}

/* head + body as one script step; the buffer is the caller's to free. */
static em_buf answer(const char *head, em_slice body) {
    em_buf a;
    em_buf_init(&a, 0);
    assert_int_equal(em_buf_append(&a, head, strlen(head)), 0);
    assert_int_equal(em_buf_append(&a, body.ptr, body.len), 0);
    return a;
}

static void run_answer(const em_buf *a, bool close_after, rec *r) {
    const char *script[] = {em_buf_data(a)};
    size_t lens[] = {em_buf_len(a)};
    fixture f;
    fixture_setup(&f, script, 1, &(em_http_client_opts){.decompress = 1});
    f.rs.script_len = lens;
    f.rs.close_after_each = close_after;
    fixture_run(&f, r, &(em_http_req){.url = raw_url(&f.rs, "/")});
    fixture_teardown(&f, NULL);
}

/* Content-Encoding: gzip twice is "gzip, gzip": both layers come off. */
static void test_coding_list_over_fields(void **state) {
    (void)state;
    fill_text();
    em_buf once, twice;
    em_buf_init(&once, 0);
    em_buf_init(&twice, 0);
    ref_deflate(&once, text, sizeof text, 31, 6);
    ref_deflate(&twice, em_buf_data(&once), em_buf_len(&once), 31, 6);
    char head[200];
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n"
             "Content-Encoding: gzip\r\n\r\n",
             em_buf_len(&twice));
    em_buf a = answer(head, em_buf_slice(&twice));
    rec r = {.want_hdr = "content-encoding"};
    run_answer(&a, false, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.body_len, sizeof text);
    assert_memory_equal(r.body, text, sizeof text);
    assert_string_equal(r.hdr, ""); /* undone: the fields are gone */
    em_buf_free(&a);
    /* an empty field first is an empty list element (RFC 9110 §5.6.1) */
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\nContent-Encoding:\r\nContent-Encoding: gzip\r\n"
             "Content-Length: %zu\r\n\r\n",
             em_buf_len(&once));
    a = answer(head, em_buf_slice(&once));
    rec e = {0};
    run_answer(&a, false, &e);
    assert_int_equal(e.err, 0);
    assert_int_equal(e.body_len, sizeof text);
    em_buf_free(&a);
    /* "br" then "gzip": br cannot be undone here, so nothing is: the body
     * and both fields come as they are, never the gzip layer alone. */
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Encoding: gzip\r\n"
             "Content-Length: %zu\r\n\r\n",
             em_buf_len(&once));
    a = answer(head, em_buf_slice(&once));
    rec b = {.want_hdr = "content-encoding"};
    run_answer(&a, false, &b);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.body_len, em_buf_len(&once));
    assert_memory_equal(b.body, em_buf_data(&once), em_buf_len(&once));
    assert_string_equal(b.hdr, "gzip");
    em_buf_free(&a);
    em_buf_free(&once);
    em_buf_free(&twice);
}

/* No length, no chunks: the close ends the body, and a gzip or deflate
 * stream that has not ended by then was cut short (RFC 9112 §6.3 item 8;
 * RFC 1952 §2.3.1). A whole stream so delimited is fine. */
static void test_close_delimited_coding_cut_short(void **state) {
    (void)state;
    fill_text();
    static const struct {
        const char *name;
        int bits;
    } codings[] = {{"gzip", 31}, {"deflate", 15}};
    for (size_t k = 0; k < 2; k++) {
        em_buf z;
        em_buf_init(&z, 0);
        ref_deflate(&z, text, sizeof text, codings[k].bits, 6);
        char head[160];
        snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n\r\n",
                 codings[k].name);
        em_buf a = answer(head, em_buf_slice(&z));
        rec whole = {0};
        run_answer(&a, true, &whole);
        assert_int_equal(whole.err, 0);
        assert_int_equal(whole.body_len, sizeof text);
        em_buf_free(&a);
        a = answer(head, em_slice_make(em_buf_data(&z), em_buf_len(&z) / 2));
        rec cut = {0};
        run_answer(&a, true, &cut);
        assert_int_equal(cut.err, EM_EPARTIAL);
        assert_true(cut.body_len < sizeof text);
        em_buf_free(&a);
        em_buf_free(&z);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coding_list_over_fields),
        cmocka_unit_test(test_close_delimited_coding_cut_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
