/* Tests for io/buf.c. */
#include "em_test.h"

#include <stdio.h>
#include <string.h>

#include "ember/io.h"

/* Let the ENOMEM test ask for an absurd allocation under ASan too. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
    return "allocator_may_return_null=1";
}

static void test_init_empty(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 0);
    assert_int_equal(em_buf_len(&b), 0);
    assert_int_equal(em_buf_avail(&b), 0);
    assert_int_equal(em_buf_cap(&b), 0);
    assert_null(b._data); /* nothing allocated until the first write */
    assert_non_null(em_buf_data(&b));
    em_slice s = em_buf_slice(&b);
    assert_int_equal(s.len, 0);
    assert_non_null(s.ptr);
    assert_true(b._max == SIZE_MAX);
    em_buf_consume(&b, 0);
    em_buf_clear(&b);
    em_buf_free(&b);
    em_buf_free(&b); /* idempotent */
    assert_int_equal(em_buf_len(&b), 0);
}

static void test_append_consume(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 0);
    assert_int_equal(em_buf_append(&b, "hello ", 6), 0);
    assert_int_equal(em_buf_append_slice(&b, EM_SLICE_LIT("world")), 0);
    assert_int_equal(em_buf_append(&b, NULL, 0), 0);
    assert_int_equal(em_buf_len(&b), 11);
    assert_memory_equal(em_buf_data(&b), "hello world", 11);
    em_buf_consume(&b, 6);
    assert_int_equal(em_buf_len(&b), 5);
    assert_true(em_slice_eq(em_buf_slice(&b), EM_SLICE_LIT("world")));
    em_buf_consume(&b, 5);
    assert_int_equal(em_buf_len(&b), 0);
    /* Emptied: the cursors restart at the front without copying. */
    assert_int_equal(b._rpos, 0);
    assert_int_equal(b._wpos, 0);
    assert_int_equal(em_buf_append(&b, "x", 1), 0);
    em_buf_clear(&b);
    assert_int_equal(em_buf_len(&b), 0);
    assert_true(em_buf_avail(&b) > 0); /* allocation kept */
    em_buf_free(&b);
}

static void test_reserve_commit(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 0);
    assert_int_equal(em_buf_reserve(&b, 0), 0);
    assert_int_equal(em_buf_reserve(&b, 1000), 0);
    assert_true(em_buf_avail(&b) >= 1000);
    memset(em_buf_wptr(&b), 'a', 1000);
    em_buf_commit(&b, 1000);
    assert_int_equal(em_buf_len(&b), 1000);
    em_buf_commit(&b, 0);
    size_t cap = b._cap;
    assert_int_equal(em_buf_cap(&b), cap);
    assert_int_equal(em_buf_cap(&b), em_buf_avail(&b) + 1000);
    assert_int_equal(em_buf_reserve(&b, em_buf_avail(&b)), 0);
    assert_int_equal(b._cap, cap); /* enough room: no change */
    assert_int_equal(em_buf_reserve(&b, cap), 0);
    assert_true(b._cap >= 1000 + cap);
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal(em_buf_data(&b)[i], 'a');
    em_buf_free(&b);
}

static void test_growth_doubles(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 0);
    size_t last = 0, grows = 0;
    for (int i = 0; i < 100000; i++) {
        assert_int_equal(em_buf_append(&b, "0123456789", 10), 0);
        if (b._cap != last) {
            assert_true(last == 0 || b._cap >= 2 * last);
            last = b._cap;
            grows++;
        }
    }
    assert_true(grows < 20); /* geometric: log2(1e6 / 64) ~ 14 */
    em_buf_free(&b);
}

static void test_max(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 0);
    assert_true(em_buf_max(&b) == SIZE_MAX);
    em_buf_init(&b, 100);
    assert_int_equal(em_buf_max(&b), 100);
    char src[200];
    memset(src, 'z', sizeof src);
    assert_int_equal(em_buf_append(&b, src, 101), EM_ENOBUFS);
    assert_int_equal(em_buf_len(&b), 0);
    assert_int_equal(em_buf_append(&b, src, 100), 0);
    assert_true(b._cap <= 100);
    assert_int_equal(em_buf_append(&b, src, 1), EM_ENOBUFS);
    assert_int_equal(em_buf_reserve(&b, 1), EM_ENOBUFS);
    assert_int_equal(em_buf_reserve(&b, SIZE_MAX), EM_ENOBUFS);
    /* Consuming makes room again, by compaction (the cap is at max). */
    em_buf_consume(&b, 30);
    assert_int_equal(em_buf_append(&b, src, 31), EM_ENOBUFS);
    assert_int_equal(em_buf_append(&b, "abc", 3), 0);
    assert_int_equal(em_buf_len(&b), 73);
    assert_int_equal(em_buf_reserve(&b, 27), 0);
    assert_int_equal(em_buf_avail(&b), 27);
    assert_memory_equal(em_buf_data(&b) + 70, "abc", 3);
    em_buf_free(&b);
    assert_int_equal(em_buf_max(&b), 100); /* free keeps the limit */
    assert_int_equal(em_buf_append(&b, src, 101), EM_ENOBUFS);
    em_buf_free(&b);
}

static void test_compaction_only_when_worth_it(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 0);
    char src[64];
    memset(src, 'q', sizeof src);
    assert_int_equal(em_buf_append(&b, src, 64), 0);
    assert_int_equal(b._cap, 64);
    /* 10 consumed, 54 left: moving 54 bytes to free 10 is not worth it. */
    em_buf_consume(&b, 10);
    assert_int_equal(em_buf_reserve(&b, 8), 0);
    assert_int_equal(b._cap, 128);
    em_buf_clear(&b);
    assert_int_equal(em_buf_append(&b, src, 64), 0);
    assert_int_equal(em_buf_append(&b, src, 64), 0);
    /* 100 consumed, 28 left: compacting is cheap and frees enough. */
    em_buf_consume(&b, 100);
    char *before = b._data;
    assert_int_equal(em_buf_reserve(&b, 90), 0);
    assert_ptr_equal(b._data, before);
    assert_int_equal(b._cap, 128);
    assert_int_equal(b._rpos, 0);
    assert_int_equal(em_buf_len(&b), 28);
    em_buf_free(&b);
}

static void test_enomem(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 0);
    assert_int_equal(em_buf_append(&b, "keep", 4), 0);
    assert_int_equal(em_buf_reserve(&b, SIZE_MAX / 2), EM_ENOMEM);
    assert_int_equal(em_buf_reserve(&b, SIZE_MAX - 4), EM_ENOMEM);
    assert_int_equal(em_buf_reserve(&b, SIZE_MAX), EM_ENOBUFS); /* > max - len */
    assert_true(em_slice_eq(em_buf_slice(&b), EM_SLICE_LIT("keep")));
    em_buf_free(&b);
}

static void test_printf(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 0);
    assert_int_equal(em_buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_true(em_slice_eq(em_buf_slice(&b), EM_SLICE_LIT("42-x")));
    assert_int_equal(em_buf_printf(&b, "%s", ""), 0);
    assert_int_equal(em_buf_len(&b), 4);
    /* Longer than the free space: reserve and format again. */
    char big[5000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(em_buf_printf(&b, "[%s]", big), 0);
    assert_int_equal(em_buf_len(&b), 4 + 2 + 4999);
    assert_int_equal(em_buf_data(&b)[4], '[');
    assert_int_equal(em_buf_data(&b)[4 + 5000], ']');
    /* No NUL is kept: appending continues right after. */
    assert_int_equal(em_buf_append(&b, "!", 1), 0);
    assert_int_equal(em_buf_data(&b)[4 + 5001], '!');
    em_buf_free(&b);
}

static void test_printf_at_max(void **state) {
    (void)state;
    em_buf b;
    em_buf_init(&b, 10);
    /* Exactly max bytes: no room for vsnprintf's NUL, still succeeds. */
    assert_int_equal(em_buf_printf(&b, "%s", "0123456789"), 0);
    assert_true(em_slice_eq(em_buf_slice(&b), EM_SLICE_LIT("0123456789")));
    assert_int_equal(em_buf_printf(&b, "%s", "x"), EM_ENOBUFS);
    assert_int_equal(em_buf_len(&b), 10);
    em_buf_consume(&b, 5);
    assert_int_equal(em_buf_printf(&b, "%05d", 7), 0);
    assert_true(em_slice_eq(em_buf_slice(&b), EM_SLICE_LIT("5678900007")));
    em_buf_clear(&b);
    assert_int_equal(em_buf_printf(&b, "%s", "01234567890"), EM_ENOBUFS);
    assert_int_equal(em_buf_len(&b), 0);
    em_buf_free(&b);
    /* Fits in the current allocation exactly, with the NUL. */
    em_buf_init(&b, 0);
    assert_int_equal(em_buf_reserve(&b, 10), 0);
    size_t avail = em_buf_avail(&b);
    char s[256];
    memset(s, 'c', avail);
    s[avail] = '\0';
    assert_int_equal(em_buf_printf(&b, "%s", s), 0); /* avail chars: one retry */
    assert_int_equal(em_buf_len(&b), avail);
    em_buf_free(&b);
}

/* Deterministic stream content so the consumer can check every byte. */
static unsigned char byte_at(uint64_t pos) {
    return (unsigned char)((pos * 2654435761u) >> 13);
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Pushes `total` bytes through b in odd sizes (producer chunks up to
 * max_put, consumer takes up to max_take), checking every byte's value.
 * Returns the bytes moved by compaction or growth, seen via the cursors. */
static uint64_t pump(em_buf *b, uint64_t total, size_t max_put, size_t max_take) {
    uint64_t produced = 0, consumed = 0, moved = 0, rng = 0x9e3779b97f4a7c15u;
    while (consumed < total) {
        size_t want = 1 + (size_t)(rng_next(&rng) % max_put);
        if (want > total - produced)
            want = (size_t)(total - produced);
        if (want > 0) {
            size_t len = em_buf_len(b), rpos = b->_rpos;
            char *data = b->_data;
            int err = em_buf_reserve(b, want);
            if (err == 0) {
                if (b->_data != data || (b->_rpos == 0 && rpos != 0))
                    moved += len;
                unsigned char *w = (unsigned char *)em_buf_wptr(b);
                for (size_t i = 0; i < want; i++)
                    w[i] = byte_at(produced + i);
                em_buf_commit(b, want);
                produced += want;
            } else {
                assert_int_equal(err, EM_ENOBUFS);
            }
        }
        size_t take = (size_t)(rng_next(&rng) % max_take) | 1;
        if (take > em_buf_len(b))
            take = em_buf_len(b);
        const unsigned char *p = (const unsigned char *)em_buf_data(b);
        for (size_t i = 0; i < take; i += 61)
            if (p[i] != byte_at(consumed + i))
                fail_msg("corrupt byte at %llu", (unsigned long long)(consumed + i));
        if (take)
            assert_int_equal(p[take - 1], byte_at(consumed + take - 1));
        em_buf_consume(b, take);
        consumed += take;
    }
    assert_true(produced == total);
    assert_int_equal(em_buf_len(b), 0);
    return moved;
}

/* 100 MB through a buffer capped at 64 KiB, the producer faster than the
 * consumer so the buffer sits at its cap. There compaction is the only way
 * to honour a reserve that fits under max, so it may move more than was
 * consumed; the cost stays a small constant factor for chunked I/O. */
static void test_stream_100mb_capped(void **state) {
    (void)state;
    const uint64_t total = 100u * 1000 * 1000;
    em_buf b;
    em_buf_init(&b, 64 * 1024);
    uint64_t moved = pump(&b, total, 9001, 7919);
    assert_true(b._cap <= 64 * 1024);
    print_message("capped: %.2f bytes moved per byte\n", (double)moved / (double)total);
    assert_true(moved <= 8 * total);
    em_buf_free(&b);
}

/* Below the cap every move is paid for by bytes consumed since the last
 * one, plus geometric growth: total copying <= traffic + 2 x final cap. */
static void test_stream_100mb_linear(void **state) {
    (void)state;
    const uint64_t total = 100u * 1000 * 1000;
    em_buf b;
    em_buf_init(&b, 0);
    uint64_t moved = pump(&b, total, 8191, 8191);
    print_message("uncapped: %.2f bytes moved per byte, cap %zu\n", (double)moved / (double)total,
                  b._cap);
    assert_true(moved <= total + 2 * (uint64_t)b._cap);
    em_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_append_consume),
        cmocka_unit_test(test_reserve_commit),
        cmocka_unit_test(test_growth_doubles),
        cmocka_unit_test(test_max),
        cmocka_unit_test(test_compaction_only_when_worth_it),
        cmocka_unit_test(test_enomem),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_at_max),
        cmocka_unit_test(test_stream_100mb_capped),
        cmocka_unit_test(test_stream_100mb_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
