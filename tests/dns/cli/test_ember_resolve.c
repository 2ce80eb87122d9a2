/* examples/ember-resolve, the command, against the scripted DNS server:
 * every case runs the real binary (argv[1]) with --server pointed at
 * tests/dns/fake_dns.c and checks its stdout lines, stderr and exit code.
 * Its own directory, so the dns suites do not link it as a helper. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_dns.h"

#define RUN_LIMIT_MS 30000

static const char *binary;
static fake_dns *fake;

static const fake_dns_rule rules[] = {
    { .name = "a-only.test", .a = "192.0.2.2" },
    { .name = "aaaa-only.test", .aaaa = "2001:db8::2" },
    { .name = "both.test", .a = "192.0.2.1", .aaaa = "2001:db8::1" },
    { .name = "two.test", .a = "192.0.2.3,192.0.2.4" },
    { .name = "fam4.test", .a = "192.0.2.5", .aaaa = "2001:db8::5" },
    { .name = "fam6.test", .a = "192.0.2.6", .aaaa = "2001:db8::6" },
    { .name = "alias.test", .cname = "a-only.test" },
    { .name = "nx.test", .rcode = 3 },
    { .name = "silent.test", .silent = true },
};

typedef struct outcome {
    int code; /* exit status, or -1 */
    char out[4096];
    char err[4096];
    unsigned ms;
} outcome;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run ember-resolve --server FAKE args... (NULL-terminated), collecting
 * its stdout and stderr; killed after RUN_LIMIT_MS. */
static void run(outcome *o, ...) {
    const char *argv[32] = { binary, "--server", fake_dns_servers(fake) };
    int argc = 3;
    va_list ap;
    va_start(ap, o);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(argc < 31);
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;

    memset(o, 0, sizeof *o);
    int outp[2], errp[2];
    assert_int_equal(pipe(outp), 0);
    assert_int_equal(pipe(errp), 0);
    uint64_t start = now_ms();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(outp[1], 1);
        dup2(errp[1], 2);
        close(outp[0]);
        close(errp[0]);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);
    struct pollfd fds[2] = { { .fd = outp[0], .events = POLLIN },
                             { .fd = errp[0], .events = POLLIN } };
    char *bufs[2] = { o->out, o->err };
    size_t lens[2] = { 0, 0 };
    int open_fds = 2;
    while (open_fds > 0) {
        int left = (int)(RUN_LIMIT_MS - (now_ms() - start));
        if (left <= 0 || poll(fds, 2, left) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("ember-resolve ran past %d ms", RUN_LIMIT_MS);
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char spill[256]; /* past the buffer: read and dropped */
            size_t room = sizeof o->out - 1 - lens[i];
            ssize_t n = room ? read(fds[i].fd, bufs[i] + lens[i], room)
                             : read(fds[i].fd, spill, sizeof spill);
            if (n > 0) {
                lens[i] += room ? (size_t)n : 0;
            } else if (n == 0 || (n < 0 && errno != EINTR)) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    o->ms = (unsigned)(now_ms() - start);
    o->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (o->code == -1 || o->code > 2)
        fprintf(stderr, "ember-resolve status %d, stderr:\n%s", status, o->err);
}

static void expect(const outcome *o, int code, const char *out, const char *err) {
    if (o->code != code || strcmp(o->out, out) || strcmp(o->err, err))
        fail_msg("exit %d (want %d)\n--- stdout\n%s--- want\n%s--- stderr\n%s--- want\n%s",
                 o->code, code, o->out, out, o->err, err);
}

static void test_one_family(void **state) {
    outcome o;
    run(&o, "a-only.test", NULL); /* AAAA NODATA is no failure */
    expect(&o, 0, "a-only.test 192.0.2.2\n", "");
    run(&o, "aaaa-only.test", NULL);
    expect(&o, 0, "aaaa-only.test 2001:db8::2\n", "");
    run(&o, "two.test", NULL);
    if (strcmp(o.out, "two.test 192.0.2.3\ntwo.test 192.0.2.4\n") &&
        strcmp(o.out, "two.test 192.0.2.4\ntwo.test 192.0.2.3\n"))
        fail_msg("two.test: %s", o.out);
    assert_int_equal(o.code, 0);
    run(&o, "alias.test", NULL); /* through the CNAME, printed under the asked name */
    expect(&o, 0, "alias.test 192.0.2.2\n", "");
}

static void test_both_families(void **state) {
    outcome o;
    run(&o, "both.test", NULL);
    /* Which family comes first depends on the host's IPv6 route (RFC 6724). */
    if (strcmp(o.out, "both.test 192.0.2.1\nboth.test 2001:db8::1\n") &&
        strcmp(o.out, "both.test 2001:db8::1\nboth.test 192.0.2.1\n"))
        fail_msg("both.test: %s", o.out);
    assert_int_equal(o.code, 0);
    assert_string_equal(o.err, "");
}

static void test_family_option(void **state) {
    outcome o;
    run(&o, "--family", "4", "fam4.test", NULL);
    expect(&o, 0, "fam4.test 192.0.2.5\n", "");
    assert_int_equal(fake_dns_queries(fake, "fam4.test", 28), 0); /* AAAA never asked */
    assert_true(fake_dns_queries(fake, "fam4.test", 1) >= 1);
    run(&o, "--family", "6", "fam6.test", NULL);
    expect(&o, 0, "fam6.test 2001:db8::6\n", "");
    assert_int_equal(fake_dns_queries(fake, "fam6.test", 1), 0);
    assert_true(fake_dns_queries(fake, "fam6.test", 28) >= 1);

    run(&o, "--family", "4", "aaaa-only.test", NULL); /* NODATA for the one family asked */
    expect(&o, 1, "", "ember-resolve: aaaa-only.test: not found\n");
    run(&o, "--family", "6", "a-only.test", NULL);
    expect(&o, 1, "", "ember-resolve: a-only.test: not found\n");
    run(&o, "--family", "any", "a-only.test", NULL);
    expect(&o, 0, "a-only.test 192.0.2.2\n", "");
}

static void test_nxdomain(void **state) {
    unsigned before = fake_dns_queries(fake, "nx.test", 0);
    outcome o;
    run(&o, "nx.test", NULL);
    expect(&o, 1, "", "ember-resolve: nx.test: not found\n");
    /* The answer came from the fake server, not from somewhere else. */
    assert_true(fake_dns_queries(fake, "nx.test", 0) > before);
}

static void test_several_names(void **state) {
    outcome o;
    /* Asked at once, printed in the order given; one failure makes it 1. */
    run(&o, "aaaa-only.test", "nx.test", "a-only.test", "192.0.2.77", NULL);
    expect(&o, 1, "aaaa-only.test 2001:db8::2\na-only.test 192.0.2.2\n192.0.2.77 192.0.2.77\n",
           "ember-resolve: nx.test: not found\n");
}

static void test_timeout(void **state) {
    outcome o;
    run(&o, "--timeout", "300", "silent.test", NULL);
    expect(&o, 1, "", "ember-resolve: silent.test: operation timed out\n");
    /* --timeout, not c-ares' first-try timeout (5 s), ended it. */
    assert_true(o.ms >= 250);
    assert_true(o.ms < 4500);
    assert_true(fake_dns_queries(fake, "silent.test", 0) >= 1);

    run(&o, "--timeout", "300", "silent.test", "a-only.test", NULL); /* the others still answer */
    expect(&o, 1, "a-only.test 192.0.2.2\n", "ember-resolve: silent.test: operation timed out\n");
}

static void test_usage(void **state) {
    outcome o;
    run(&o, NULL); /* no name */
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.err, "usage: ember-resolve"));
    run(&o, "--family", "5", "a-only.test", NULL);
    expect(&o, 2, "", "ember-resolve: --family wants 4, 6 or any, got '5' (see --help)\n");
    run(&o, "--timeout", "soon", "a-only.test", NULL);
    expect(&o, 2, "", "ember-resolve: --timeout wants milliseconds, got 'soon' (see --help)\n");
    run(&o, "bad name", NULL); /* refused before any query */
    expect(&o, 1, "", "ember-resolve: bad name: invalid argument\n");
}

/* Every argument that starts with '-' is an option until "--", wherever it
 * stands: -h is --help, any other is a usage error (exit 2, one line), and
 * none of them is ever asked as a name. */
static void test_dash_arguments(void **state) {
    unsigned before = fake_dns_queries(fake, NULL, 0);
    outcome o, help;
    run(&help, "--help", NULL);
    expect(&help, 0, help.out, "");
    assert_non_null(strstr(help.out, "-h | --help"));
    run(&o, "-h", NULL);
    expect(&o, 0, help.out, "");
    run(&o, "a-only.test", "-h", NULL);
    expect(&o, 0, help.out, "");

    static const char *const bad[] = { "-x", "-4", "-", "-hx", "--bogus", "--server=x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "ember-resolve: unknown option '%s' (see --help)\n", bad[i]);
        run(&o, bad[i], "a-only.test", NULL);
        expect(&o, 2, "", want);
        run(&o, "a-only.test", bad[i], NULL); /* after a name too */
        expect(&o, 2, "", want);
    }
    run(&o, "a-only.test", "--family", NULL);
    expect(&o, 2, "", "ember-resolve: --family wants a value (see --help)\n");
    assert_int_equal(fake_dns_queries(fake, NULL, 0), before); /* nothing was asked */

    /* Options among the names apply to all of them. */
    run(&o, "fam4.test", "--family", "4", NULL);
    expect(&o, 0, "fam4.test 192.0.2.5\n", "");
    /* After "--" everything is a name, and "-x" is not a host name. */
    before = fake_dns_queries(fake, NULL, 0);
    run(&o, "--", "-x", "--help", NULL);
    expect(&o, 1, "", "ember-resolve: -x: invalid argument\nember-resolve: --help: invalid argument\n");
    assert_int_equal(fake_dns_queries(fake, NULL, 0), before);
}

static int setup(void **state) {
    fake = fake_dns_start(rules, sizeof rules / sizeof rules[0]);
    return fake ? 0 : -1;
}

static int teardown(void **state) {
    fake_dns_stop(fake);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/TO/ember-resolve\n", argv[0]);
        return 2;
    }
    binary = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_family),   cmocka_unit_test(test_both_families),
        cmocka_unit_test(test_family_option), cmocka_unit_test(test_nxdomain),
        cmocka_unit_test(test_several_names), cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_usage),        cmocka_unit_test(test_dash_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
