/* Cookies without a network: a client jar fed the Set-Cookie headers a
 * server would send, the Cookie headers it would answer with, a cookies.txt
 * file curl and wget can read, and the server side (reading a Cookie
 * header, writing Set-Cookie values).
 *   cookies [--selftest]   runs the tour and checks each result (exit 0)
 *   cookies FILE           loads FILE (cookies.txt) and prints it back */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ember.h"

static int failures;

static void expect(const char *what, const char *got, const char *want) {
    printf("%-34s %s\n", what, got);
    if (strcmp(got, want)) {
        fprintf(stderr, "cookies: %s: got '%s', want '%s'\n", what, got, want);
        failures++;
    }
}

static void set(em_cookie_jar *jar, const char *url, const char *set_cookie, int64_t now) {
    em_url u;
    if (em_url_parse(&u, em_slice_from_cstr(url)) != 0)
        exit(1);
    int rc = em_cookie_jar_set(jar, &u, em_slice_from_cstr(set_cookie), now);
    printf("Set-Cookie from %-22s %-48s %s\n", url, set_cookie, rc ? em_strerror(rc) : "stored");
    em_url_free(&u);
}

static void cookie_for(em_cookie_jar *jar, const char *url, int64_t now, const char *want) {
    em_url u;
    if (em_url_parse(&u, em_slice_from_cstr(url)) != 0)
        exit(1);
    em_buf b;
    em_buf_init(&b, 0);
    if (em_cookie_jar_header(jar, &u, now, &b) < 0)
        failures++;
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)em_buf_len(&b), em_buf_data(&b));
    char what[128];
    snprintf(what, sizeof what, "Cookie for %s", url);
    expect(what, line, want);
    em_buf_free(&b);
    em_url_free(&u);
}

static int tour(void) {
    const int64_t now = 1700000000; /* a fixed clock: the output never changes */
    em_cookie_jar *jar;
    if (em_cookie_jar_new(&jar, NULL) != 0)
        return 1;

    puts("== the client jar");
    set(jar, "https://www.example.com/", "SID=31d4d96e407aad42; Path=/; Secure; HttpOnly", now);
    set(jar, "https://www.example.com/", "lang=en-US; Path=/; Domain=example.com", now);
    set(jar, "https://www.example.com/docs/", "page=3; Max-Age=60", now);
    set(jar, "https://www.example.co.uk/", "evil=1; Domain=co.uk", now);     /* a public suffix */
    set(jar, "http://www.example.com/", "SID=stolen", now);                  /* shadows Secure */
    set(jar, "http://www.example.com/", "__Host-id=1; Secure; Path=/", now); /* http */
    cookie_for(jar, "https://www.example.com/docs/x", now,
               "page=3; SID=31d4d96e407aad42; lang=en-US");
    cookie_for(jar, "http://www.example.com/", now, "lang=en-US");
    cookie_for(jar, "https://shop.example.com/", now, "lang=en-US");

    puts("== cookies.txt (curl -b/-c, wget --load-cookies)");
    char path[] = "/tmp/ember-cookies-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    if (em_cookie_jar_save(jar, path, now) != 0 || em_cookie_jar_save(jar, "-", now) != 0)
        failures++;
    em_cookie_jar *again;
    if (em_cookie_jar_new(&again, NULL) != 0 || em_cookie_jar_load(again, path, now) != 0)
        failures++;
    char n[16];
    snprintf(n, sizeof n, "%zu", em_cookie_jar_count(again));
    expect("cookies loaded back", n, "3");
    cookie_for(again, "https://www.example.com/docs/", now,
               "page=3; SID=31d4d96e407aad42; lang=en-US");
    cookie_for(again, "https://www.example.com/docs/x", now + 60,
               "SID=31d4d96e407aad42; lang=en-US");
    unlink(path);
    em_cookie_jar_free(again);
    em_cookie_jar_free(jar);

    puts("== the server side");
    em_cookie c[8];
    size_t k =
        em_cookie_parse_header(EM_SLICE_LIT("SID=31d4; lang=\"en-US\"; bad pair; x=1"), c, 8);
    char got[256] = "";
    for (size_t i = 0; i < k; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%.*s=%.*s", i ? " | " : "",
                 (int)c[i].name.len, c[i].name.ptr, (int)c[i].value.len, c[i].value.ptr);
    expect("Cookie header read", got, "SID=31d4 | lang=en-US | x=1");
    em_set_cookie sc = {.name = EM_SLICE_LIT("__Host-session"),
                        .value = EM_SLICE_LIT("abc123"),
                        .expires = now + 3600,
                        .max_age = 3600,
                        .path = EM_SLICE_LIT("/"),
                        .secure = true,
                        .http_only = true,
                        .same_site = "Lax"};
    em_buf b;
    em_buf_init(&b, 0);
    if (em_set_cookie_format(&sc, &b) != 0)
        failures++;
    snprintf(got, sizeof got, "%.*s", (int)em_buf_len(&b), em_buf_data(&b));
    expect("Set-Cookie written", got,
           "__Host-session=abc123; Expires=Tue, 14 Nov 2023 23:13:20 GMT; Max-Age=3600; Path=/; "
           "Secure; HttpOnly; SameSite=Lax");
    em_buf_clear(&b);
    sc.value = EM_SLICE_LIT("x\r\nSet-Cookie: admin=1");
    int rc = em_set_cookie_format(&sc, &b);
    expect("a value with CR LF", rc == EM_EINVAL ? "refused (EM_EINVAL)" : "accepted!",
           "refused (EM_EINVAL)");
    em_buf_free(&b);
    return failures ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--selftest"))
        return tour();
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        puts("usage: cookies [--selftest] | cookies FILE (a cookies.txt to load and print)");
        return 0;
    }
    em_cookie_jar *jar;
    if (em_cookie_jar_new(&jar, NULL) != 0)
        return 1;
    int64_t now = (int64_t)time(NULL);
    int rc = em_cookie_jar_load(jar, argv[1], now);
    if (rc == 0)
        rc = em_cookie_jar_save(jar, "-", now);
    if (rc)
        fprintf(stderr, "cookies: %s: %s\n", argv[1], em_strerror(rc));
    em_cookie_jar_free(jar);
    return rc ? 1 : 0;
}
