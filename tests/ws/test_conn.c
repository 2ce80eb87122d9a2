/* ws/conn.c: making and starting a ws, bytes that came with the
 * handshake, on_open before any message, the unstarted paths (free, fail,
 * abort of a connecting client), accessors (em_ws_set_data too) and
 * em_ws_memory. */
#include "ws_conn_util.h"

static int order_ok = 1;

static void msg_after_open(em_ws *ws, int op, em_slice d) {
    harness *h = em_ws_data(ws);
    if (!h->opened)
        order_ok = 0;
    h_on_message(ws, op, d);
}

static void test_bytes_with_handshake(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h.cbs.on_message = msg_after_open;
        assert_int_equal(em_loop_init(&h.loop), 0);
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        h.ws = em__ws_new(&h.loop, (em_ws_role)role, &h.cbs, &h.opts, &h, NULL, "chat");
        assert_non_null(h.ws);
        assert_int_equal(em_tcp_conn_init(&h.loop, &h.ws->up.tcp, sv[0], &em__ws_tcp_cbs, NULL), 0);
        h.fd = sv[1];
        em_ws_frame_parser_init(&h.rp,
                                role == EM_WS_ROLE_SERVER ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER);
        uint8_t f[64];
        size_t n = h_frame(&h, f, 0x81, "early", 5);
        n += h_frame(&h, f + n, 0x01, "ha", 2); /* and half of a message */
        assert_int_equal(em_buf_append(&h.ws->up.tcp.in, f, n), 0);
        assert_int_equal(em__ws_start(h.ws), 0);
        assert_int_equal(h.opened, 0); /* from the loop */
        assert_int_equal(h.nmsgs, 0);
        h_until(&h, &h.nmsgs, 1, 2000);
        assert_int_equal(h.opened, 1);
        assert_true(order_ok);
        assert_string_equal(h.msgs[0].data, "early");
        /* the half message went to the cold part; the input buffer is gone */
        assert_int_equal(em_buf_cap(&h.ws->up.tcp.in), 0);
        h_send_frame(&h, 0x80, "lf", 2);
        h_until(&h, &h.nmsgs, 2, 2000);
        assert_string_equal(h.msgs[1].data, "half");
        assert_string_equal(em_ws_protocol(h.ws), "chat");
        assert_int_equal(em_ws_role_of(h.ws), role);
        assert_ptr_equal(em_ws_loop(h.ws), &h.loop);
        assert_false(em_ws_deflate_on(h.ws));
        assert_ptr_equal(em_ws_data(h.ws), &h);
        /* set_data replaces the pointer the callbacks see */
        em_ws_set_data(h.ws, &order_ok);
        assert_ptr_equal(em_ws_data(h.ws), &order_ok);
        em_ws_set_data(h.ws, &h);
        assert_ptr_equal(em_ws_data(h.ws), &h);
        h_finish(&h);
    }
}

/* Memory: an idle connection holds its em_ws and nothing else; buffers
 * come and go with the traffic. */
static void test_memory(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    h_run_ms(&h, 2);
    print_message("sizeof(struct em_ws) = %zu (em_http_upgraded %zu, em_tcp_conn %zu, "
                  "parser %zu, clock %zu)\n",
                  sizeof(struct em_ws), sizeof(em_http_upgraded), sizeof(em_tcp_conn),
                  sizeof(em_ws_frame_parser), sizeof(em__ws_clock));
    assert_int_equal(em_ws_memory(h.ws), sizeof(struct em_ws));
    static char p[40000];
    memset(p, 'm', sizeof p);
    h_send_frame(&h, 0x02, p, sizeof p); /* fragmented: assembled */
    h_run_ms(&h, 10);
    assert_true(em_ws_memory(h.ws) > sizeof(struct em_ws) + sizeof p);
    h_send_frame(&h, 0x80, p, 10);
    h_until(&h, &h.nmsgs, 1, 2000);
    h_run_ms(&h, 2);
    assert_int_equal(h.msgs[0].len, sizeof p + 10);
    /* delivered: the buffers are gone again, and the cold part that
     * held the message */
    assert_int_equal(em_ws_memory(h.ws), sizeof(struct em_ws));
    assert_null(h.ws->cold);
    /* a close sets the first deadline: only now is there a timer */
    assert_int_equal(em_ws_close(h.ws, 1000, em_slice_make("", 0)), 0);
    assert_int_equal(em_ws_memory(h.ws), sizeof(struct em_ws) + sizeof(em__ws_clock));
    h_finish(&h);
}

/* What a connection holds beyond its em_ws while idle: a timer when a
 * deadline is set (pings, idle limit), the cold part only when some rare
 * feature is in use (here a text message sent in parts). */
static void test_memory_deadlines_and_cold(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h.opts.ping_interval_ms = 60000;
    h_start(&h);
    h_run_ms(&h, 2);
    assert_null(h.ws->cold);
    assert_int_equal(em_ws_memory(h.ws), sizeof(struct em_ws) + sizeof(em__ws_clock));
    uint64_t tok;
    /* a text message sent in parts, a code point split between them: the
     * open message's validator lives in the cold part */
    assert_int_equal(em_ws_send_part(h.ws, EM_WS_OP_TEXT, em_slice_make("caf\xc3", 4), false, &tok),
                     0);
    assert_non_null(h.ws->cold);
    assert_int_equal(em_ws_send_part(h.ws, EM_WS_OP_CONT, em_slice_make("\xa9", 1), true, &tok), 0);
    assert_int_equal(em_ws_memory(h.ws),
                     sizeof(struct em_ws) + sizeof(em__ws_clock) + sizeof(*h.ws->cold));
    h_finish(&h);
}

/* Leaving every topic leaves nothing in the cold part: the next
 * assembled message frees it, as for a connection that never subscribed. */
static void test_memory_after_topics(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    h_run_ms(&h, 2);
    em_ws_hub *hub;
    assert_int_equal(em_ws_hub_new(&hub), 0);
    assert_int_equal(em_ws_subscribe(hub, h.ws, "news"), 0);
    assert_int_equal(em_ws_subscribe(hub, h.ws, "sport"), 0);
    assert_non_null(h.ws->cold);
    assert_int_equal(em_ws_unsubscribe(hub, h.ws, "news"), 0);
    h_send_frame(&h, 0x01, "frag", 4); /* assembled: the trim looks */
    h_send_frame(&h, 0x80, "ment", 4);
    h_until(&h, &h.nmsgs, 1, 2000);
    assert_non_null(h.ws->cold); /* still in "sport" */
    assert_int_equal(em_ws_unsubscribe(hub, h.ws, "sport"), 0);
    h_send_frame(&h, 0x01, "frag", 4);
    h_send_frame(&h, 0x80, "ment", 4);
    h_until(&h, &h.nmsgs, 2, 2000);
    assert_null(h.ws->cold);
    assert_int_equal(em_ws_memory(h.ws), sizeof(struct em_ws));
    h_finish(&h);
    em_ws_hub_free(hub);
}

static int cancels;

static void count_cancel(em_ws *ws) {
    (void)ws;
    cancels++;
}

static void test_unstarted(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_CLIENT);
    assert_int_equal(em_loop_init(&h.loop), 0);
    /* never started, freed without a callback */
    em_ws *ws = em__ws_new(&h.loop, EM_WS_ROLE_CLIENT, &h.cbs, NULL, &h, NULL, NULL);
    assert_non_null(ws);
    em__ws_set_handshake_result(ws, 403, "refused");
    em__ws_free_unstarted(ws);
    /* failed while connecting: on_close(1006, err) from the loop */
    ws = em__ws_new(&h.loop, EM_WS_ROLE_CLIENT, &h.cbs, NULL, &h, NULL, NULL);
    em__ws_set_handshake_result(ws, 302, "redirected");
    assert_int_equal(em_ws_http_status(ws), 302);
    assert_string_equal(em_ws_error(ws), "redirected");
    assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("x"), NULL), EM_ECLOSED);
    assert_int_equal(em_ws_close(ws, 1000, EM_SLICE_LIT("")), EM_ECLOSED);
    em__ws_fail_unstarted(ws, EM_EHANDSHAKE);
    em__ws_fail_unstarted(ws, EM_EHANDSHAKE); /* once */
    assert_int_equal(h.closed, 0);
    h_until(&h, &h.closed, 1, 1000);
    assert_int_equal(h.closed, 1);
    assert_int_equal(h.close_code, 1006);
    assert_int_equal(h.close_err, EM_EHANDSHAKE);
    /* aborted while connecting: the client's cancel runs first */
    h.closed = 0;
    ws = em__ws_new(&h.loop, EM_WS_ROLE_CLIENT, &h.cbs, NULL, &h, NULL, NULL);
    assert_non_null(em__ws_cold_get(ws));
    ws->cold->client_cancel = count_cancel;
    em_ws_abort(ws);
    assert_int_equal(cancels, 1);
    h_until(&h, &h.closed, 1, 1000);
    assert_int_equal(h.close_err, EM_ECANCELED);
    assert_int_equal(em_loop_close(&h.loop), 0);
}

static void test_bad_new(void **state) {
    (void)state;
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_ws_cbs none = {0};
    assert_null(em__ws_new(&loop, EM_WS_ROLE_SERVER, &none, NULL, NULL, NULL, NULL));
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_with_handshake),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_memory_deadlines_and_cold),
        cmocka_unit_test(test_memory_after_topics),
        cmocka_unit_test(test_unstarted),
        cmocka_unit_test(test_bad_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
