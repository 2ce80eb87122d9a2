/* http/cookie_parse.c: RFC 6265 §5.1.1's cookie dates and §5.2's
 * Set-Cookie parser. */
#include <stdio.h>
#include <string.h>

#include "cookie_internal.h"
#include "em_test.h"

static int64_t date_or(const char *s, int64_t fail) {
    int64_t t;
    return em_cookie_date_parse(em_slice_from_cstr(s), &t) == 0 ? t : fail;
}

#define DATE_OK(s, want)                                                                           \
    do {                                                                                           \
        int64_t got_ = date_or(s, -999999);                                                        \
        if (got_ != (int64_t)(want))                                                               \
            fail_msg("date '%s': got %lld, want %lld", s, (long long)got_, (long long)(want));     \
    } while (0)
#define DATE_BAD(s)                                                                                \
    do {                                                                                           \
        int64_t t_;                                                                                \
        if (em_cookie_date_parse(em_slice_from_cstr(s), &t_) != EM_EINVAL)                         \
            fail_msg("date '%s' accepted as %lld", s, (long long)t_);                              \
    } while (0)

/* 1994-11-06 08:49:37 UTC, RFC 9110's example instant. */
#define T1994 784111777

static void test_date_forms(void **state) {
    (void)state;
    DATE_OK("Sun, 06 Nov 1994 08:49:37 GMT", T1994);  /* IMF-fixdate */
    DATE_OK("Sunday, 06-Nov-94 08:49:37 GMT", T1994); /* RFC 850 */
    DATE_OK("Sun Nov  6 08:49:37 1994", T1994);       /* asctime */
    DATE_OK("Sun Nov 6 08:49:37 1994 GMT", T1994);
    DATE_OK("06 Nov 1994 08:49:37", T1994); /* no weekday */
    DATE_OK("Nov 06 1994 08:49:37", T1994);
    DATE_OK("1994 Nov 06 08:49:37", T1994); /* year first: 4 digits no day */
    DATE_OK("08:49:37 06 Nov 1994", T1994); /* time first */
    DATE_OK("Sun, 06-Nov-1994 08:49:37 GMT", T1994);
    DATE_OK("Sun,06/Nov/1994/08:49:37", T1994);           /* any delimiters */
    DATE_OK("sUn, 06 NOVEMBER 1994 08:49:37 gmt", T1994); /* case, long month */
    DATE_OK("Sun, 6 Nov 1994 8:49:37 GMT", T1994);        /* one-digit fields */
    DATE_OK("Sun, 06 Nov 1994 08:49:37 +0000", T1994);    /* zone ignored */
    DATE_OK("Sun, 06 Nov 1994 08:49:37 PST", T1994);      /* any zone is ignored */
    DATE_OK("  ,,Sun, 06 Nov 1994 08:49:37 GMT;;  ", T1994);
    DATE_OK("06th Nov 1994 08:49:37", T1994); /* non-digit tail */
    DATE_OK("Sun, 06 Nov 1994AD 08:49:37 GMT", T1994);
    DATE_OK("Sun, 06 Nov 1994 08:49:37xyz GMT", T1994);
    DATE_OK("Sun, 06 Novembre 1994 08:49:37", T1994);
    DATE_OK("Thu, 01 Jan 1970 00:00:00 GMT", 0);
    DATE_OK("Thu, 01 Jan 1970 00:00:01 GMT", 1);
    DATE_OK("Wed, 31 Dec 1969 23:59:59 GMT", -1);
    DATE_OK("Tue, 19 Jan 2038 03:14:08 GMT", 2147483648LL);
    DATE_OK("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799LL);
    DATE_OK("Mon, 01 Jan 1601 00:00:00 GMT", -11644473600LL);
    DATE_OK("29 Feb 2000 00:00:00", 951782400); /* leap (400) */
    DATE_OK("29 Feb 2024 12:00:00", 1709208000);
    /* The first of each kind wins; later ones are ignored. */
    DATE_OK("06 Nov 1994 08:49:37 07 Dec 1995 09:00:00", T1994);
    DATE_OK("Nov 06 1994 08:49:37 Dec", T1994);
}

static void test_date_two_digit_years(void **state) {
    (void)state;
    DATE_OK("01 Jan 70 00:00:00", 0);
    DATE_OK("01 Jan 99 00:00:00", 915148800);  /* 1999 */
    DATE_OK("01 Jan 00 00:00:00", 946684800);  /* 2000 */
    DATE_OK("01 Jan 69 00:00:00", 3124224000); /* 2069 */
    DATE_OK("01 Jan 38 00:00:00", 2145916800); /* 2038 */
    DATE_OK("01 Jan 0070 00:00:00", 0);        /* the value, not the width */
    DATE_OK("01 Jan 069 00:00:00", 3124224000);
    DATE_OK("Sunday, 06-Nov-94 08:49:37 GMT", T1994);
}

static void test_date_invalid(void **state) {
    (void)state;
    DATE_BAD("");
    DATE_BAD("   ");
    DATE_BAD("garbage");
    DATE_BAD("Sun, 06 Nov 1994");              /* no time */
    DATE_BAD("Sun, Nov 1994 08:49:37");        /* no day */
    DATE_BAD("Sun, 06 1994 08:49:37");         /* no month */
    DATE_BAD("Sun, 06 Nov 08:49:37");          /* no year */
    DATE_BAD("Sun, 00 Nov 1994 08:49:37 GMT"); /* day 0 */
    DATE_BAD("Sun, 32 Dec 1994 08:49:37 GMT"); /* day 32 */
    DATE_BAD("31 Apr 1994 08:49:37");          /* no such date */
    DATE_BAD("30 Feb 2000 08:49:37");
    DATE_BAD("29 Feb 1900 08:49:37"); /* 1900 is no leap year */
    DATE_BAD("29 Feb 2023 08:49:37");
    DATE_BAD("06 Nov 1600 08:49:37"); /* before 1601 */
    DATE_BAD("31 Dec 1600 23:59:59");
    DATE_BAD("06 Nov 999 08:49:37");  /* 3 digits: < 1601 */
    DATE_BAD("06 Nov 24:00:00 1994"); /* hour 24 */
    DATE_BAD("06 Nov 1994 23:60:00");
    DATE_BAD("06 Nov 1994 23:59:60");  /* no leap seconds */
    DATE_BAD("06 Nov 19945 08:49:37"); /* 5-digit year */
    DATE_BAD("06 Nov 1994 08:49:370"); /* 3-digit second */
    DATE_BAD("06 Nov 1994 008:49:37");
    DATE_BAD("06 Nov 1994 08:49");          /* hh:mm only */
    DATE_BAD("06 No 1994 08:49:37");        /* 2-letter month */
    DATE_BAD("123 Nov 1994 08:49:37");      /* 3-digit day, year taken, no year */
    DATE_BAD("Sun, 06 Nov 1 08:49:37 GMT"); /* 1-digit year */
}

static void test_date_bytes(void **state) {
    (void)state;
    /* Non-delimiters (controls, high bytes) stick to tokens. */
    DATE_OK("06\x01 Nov 1994 08:49:37", T1994); /* "06" then a non-digit */
    DATE_BAD("0\x016 Nov 1994 08:49:37");       /* day 0 */
    DATE_OK("06 Nov\x80 1994 08:49:37", T1994); /* month: 3 letters then anything */
    DATE_OK("06\tNov\t1994\t08:49:37", T1994);  /* tab is a delimiter */
    int64_t t;
    assert_int_equal(em_cookie_date_parse(em_slice_make("06 Nov 1994 08:49:37\0junk", 25), &t), 0);
    assert_int_equal(t, T1994);
}

/* ---- Set-Cookie ------------------------------------------------------------ */

static em__cookie_sc parse_ok(const char *s) {
    em__cookie_sc sc;
    int rc = em__cookie_parse_set(em_slice_from_cstr(s), &sc);
    if (rc)
        fail_msg("'%s' refused", s);
    return sc;
}

static void assert_slice(em_slice s, const char *want) {
    if (!em_slice_eq(s, em_slice_from_cstr(want)))
        fail_msg("got '%.*s', want '%s'", (int)s.len, s.ptr, want);
}

static void test_set_cookie_name_value(void **state) {
    (void)state;
    em__cookie_sc sc = parse_ok("SID=31d4d96e407aad42");
    assert_slice(sc.name, "SID");
    assert_slice(sc.value, "31d4d96e407aad42");
    assert_false(sc.has_path || sc.has_domain || sc.has_expires || sc.has_max_age);
    sc = parse_ok("  a  =  b c  ; Path=/");
    assert_slice(sc.name, "a");
    assert_slice(sc.value, "b c");
    sc = parse_ok("a==b=c");
    assert_slice(sc.name, "a");
    assert_slice(sc.value, "=b=c");
    sc = parse_ok("a=");
    assert_slice(sc.value, "");
    sc = parse_ok("a=\"quoted\"");
    assert_slice(sc.value, "\"quoted\""); /* quotes belong to the value (§5.2) */
    sc = parse_ok("\ta\t=\tv\t");
    assert_slice(sc.name, "a");
    assert_slice(sc.value, "v");
    sc = parse_ok("a=\xc3\xa9t\xc3\xa9");
    assert_slice(sc.value, "\xc3\xa9t\xc3\xa9");
    em__cookie_sc bad;
    static const char *refused[] = {"",         "novalue",   "=v",      "  =v",         ";a=b",
                                    "a\r\nb=c", "a=b\nX: y", "a=b\x7f", "a=b; Path=/\r"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (em__cookie_parse_set(em_slice_from_cstr(refused[i]), &bad) != EM_EINVAL)
            fail_msg("'%s' accepted", refused[i]);
    assert_int_equal(em__cookie_parse_set(em_slice_make("a=b\0c", 5), &bad), EM_EINVAL);
}

static void test_set_cookie_attributes(void **state) {
    (void)state;
    em__cookie_sc sc =
        parse_ok("SID=31d4d96e407aad42; Path=/; Domain=example.com; Secure; HttpOnly");
    assert_slice(sc.path, "/");
    assert_slice(sc.domain, "example.com");
    assert_true(sc.secure && sc.http_only);
    sc = parse_ok("lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT");
    assert_true(sc.has_expires);
    assert_int_equal(sc.expires, 1623233894);
    sc = parse_ok("a=b; pAtH=/x; DOMAIN=.Example.COM; sEcUrE=yes; httponly=no; max-AGE=10");
    assert_slice(sc.path, "/x");
    assert_slice(sc.domain, "Example.COM"); /* dot dropped; lowered by the jar */
    assert_true(sc.secure && sc.http_only && sc.has_max_age);
    assert_int_equal(sc.max_age, 10);
    /* The last one wins. */
    sc = parse_ok("a=b; Path=/one; Path=/two; Domain=a.com; Domain=b.com; Max-Age=1; Max-Age=2");
    assert_slice(sc.path, "/two");
    assert_slice(sc.domain, "b.com");
    assert_int_equal(sc.max_age, 2);
    sc = parse_ok("a=b; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Expires=junk");
    assert_int_equal(sc.expires, T1994); /* an unparsable one is ignored */
    /* Path that is empty or not '/'-led: the default path (a later one
     * overrides an earlier good one). */
    sc = parse_ok("a=b; Path=/good; Path=relative");
    assert_true(sc.has_path);
    assert_int_equal(sc.path.len, 0);
    sc = parse_ok("a=b; Path=");
    assert_true(sc.has_path && sc.path.len == 0);
    /* Empty Domain is ignored; "Domain=." is an empty domain (host-only). */
    sc = parse_ok("a=b; Domain=x.com; Domain=");
    assert_slice(sc.domain, "x.com");
    sc = parse_ok("a=b; Domain=x.com; Domain=.");
    assert_true(sc.has_domain && sc.domain.len == 0);
    /* Max-Age forms. */
    sc = parse_ok("a=b; Max-Age=0");
    assert_true(sc.has_max_age && sc.max_age == 0);
    sc = parse_ok("a=b; Max-Age=-5");
    assert_true(sc.has_max_age && sc.max_age == -5);
    static const char *ignored_max_age[] = {"a=b; Max-Age=",    "a=b; Max-Age=+5",
                                            "a=b; Max-Age=5s",  "a=b; Max-Age=-",
                                            "a=b; Max-Age= x5", "a=b; Max-Age=1.5"};
    for (size_t i = 0; i < sizeof ignored_max_age / sizeof *ignored_max_age; i++) {
        sc = parse_ok(ignored_max_age[i]);
        if (sc.has_max_age)
            fail_msg("'%s': Max-Age taken", ignored_max_age[i]);
    }
    sc = parse_ok("a=b; Max-Age=99999999999999999999999999");
    assert_true(sc.has_max_age && sc.max_age > 400 * 86400);
    /* Unknown attributes, empty ones, stray semicolons. */
    sc = parse_ok("a=b;;; ;Foo=bar; =x; Path=/p ;");
    assert_slice(sc.path, "/p");
    /* SameSite. */
    assert_int_equal(parse_ok("a=b; SameSite=Strict").same_site, 1);
    assert_int_equal(parse_ok("a=b; samesite=LAX").same_site, 2);
    assert_int_equal(parse_ok("a=b; SameSite=None; Secure").same_site, 3);
    assert_int_equal(parse_ok("a=b; SameSite=bogus").same_site, 0);
    /* 6265bis: an attribute value over 1024 bytes is ignored. */
    char big[1100 + 32];
    snprintf(big, sizeof big, "a=b; Path=/%01100d", 0);
    sc = parse_ok(big);
    assert_false(sc.has_path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_forms),
        cmocka_unit_test(test_date_two_digit_years),
        cmocka_unit_test(test_date_invalid),
        cmocka_unit_test(test_date_bytes),
        cmocka_unit_test(test_set_cookie_name_value),
        cmocka_unit_test(test_set_cookie_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
