/* ember-fetch [options] URL...: a curl-like command on ember's HTTP client.
 *
 * The body goes to stdout (or -o FILE) as it arrives, from the client on a
 * loop, so a download of any size takes bounded memory. Several URLs share
 * one client (its connections are reused), one after the other or, with
 * -Z, at once. Options, -w
 * variables and exit codes are curl's where ember-fetch has them (see
 * man/ember-fetch.1 and --help). --selftest serves a few pages from an
 * ember server on 127.0.0.1 in this process, on the same loop, and checks
 * what ember-fetch makes of them (no network beyond loopback).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"

#define FETCH_VERSION "0.1.0"
#define MAX_HEADERS   64
#define MAX_RESOLVE   64

/* The synopsis, as in the man page's SYNOPSIS and OPTIONS. */
static const char usage[] =
    "Usage: ember-fetch [options] URL...\n"
    " -X, --request METHOD      request method (default GET, POST with data)\n"
    " -H, --header 'NAME: VALUE'  extra request field (repeatable; 'NAME:' drops one)\n"
    " -d, --data DATA           POST DATA as application/x-www-form-urlencoded (@FILE)\n"
    "     --data-binary DATA    POST DATA as it is (@FILE: the file's bytes)\n"
    "     --data-raw DATA       like -d, but @ is not special\n"
    " -o, --output FILE         write the body to FILE instead of stdout (one per URL)\n"
    " -O, --remote-name         write the body to a file named as the URL's last part\n"
    " -Z, --parallel            fetch the URLs at once, not one after the other\n"
    "     --parallel-max N      at most N transfers at once with -Z (default 50)\n"
    " -D, --dump-header FILE    write the response head to FILE\n"
    " -i, --include             write the response head before the body\n"
    " -I, --head                HEAD request; write the response head\n"
    " -L, --location            follow redirects (at most --max-redirs, default 50)\n"
    "     --max-redirs N        redirects to follow with -L (-1: no limit)\n"
    " -f, --fail                exit 22 without the body on a status of 400 or more\n"
    "                           (or outside 100..599)\n"
    "     --fail-with-body      exit 22 on such a status, after the body\n"
    " -s, --silent              no progress meter, no error messages\n"
    " -#, --progress-bar        a progress bar instead of the meter\n"
    "     --no-progress-meter   no progress meter (error messages still)\n"
    " -S, --show-error          error messages even with -s\n"
    " -v, --verbose             request and response heads on stderr\n"
    " -u, --user USER:PASSWORD  Basic authentication\n"
    "     --oauth2-bearer TOKEN Bearer authentication\n"
    " -A, --user-agent NAME     User-Agent (default ember-fetch/" FETCH_VERSION ")\n"
    "     --cacert FILE         trust the CA certificates in FILE (PEM)\n"
    "     --capath DIR          trust the CA certificates in DIR (hashed)\n"
    " -k, --insecure            no certificate verification at all\n"
    "     --compressed          ask for gzip/deflate and decode the body\n"
    " -x, --proxy URL           use this HTTP proxy (default: $http_proxy, $https_proxy,\n"
    "                           $all_proxy; no port: 1080)\n"
    "     --noproxy LIST        hosts reached directly (default: $no_proxy)\n"
    " -b, --cookie FILE|DATA    send cookies from a cookies.txt FILE, or DATA as 'n=v; n2=v2'\n"
    " -c, --cookie-jar FILE     write every cookie to FILE (cookies.txt) afterwards\n"
    " -m, --max-time SECONDS    limit for the whole transfer\n"
    "     --connect-timeout SECONDS  limit for DNS, TCP and TLS (default 30)\n"
    " -4, --ipv4                IPv4 addresses only\n"
    " -6, --ipv6                IPv6 addresses only\n"
    "     --dns-servers ADDRS   ask these DNS servers (ADDR[:PORT],...)\n"
    "     --resolve HOST:PORT:ADDR[,ADDR]...  connect to ADDR for HOST (repeatable)\n"
    " -w, --write-out FORMAT    print FORMAT after the transfer (@FILE: from FILE)\n"
    " -h, --help                this text\n"
    " -V, --version             the version\n"
    "     --selftest            check ember-fetch against a server in this process\n";

/* curl's exit codes, those ember-fetch can give. */
enum {
    FX_OK = 0,
    FX_UNSUPPORTED = 1,
    FX_USAGE = 2,
    FX_URL = 3,
    FX_RESOLVE_PROXY = 5,
    FX_RESOLVE = 6,
    FX_CONNECT = 7,
    FX_WEIRD_REPLY = 8,
    FX_PARTIAL = 18,
    FX_HTTP = 22,
    FX_WRITE = 23,
    FX_READ = 26,
    FX_NOMEM = 27,
    FX_OPTION_SYNTAX = 49,
    FX_BAD_CODING = 61,
    FX_TIMEOUT = 28,
    FX_TLS = 35,
    FX_ABORTED = 42,
    FX_REDIRECTS = 47,
    FX_EMPTY = 52,
    FX_SEND = 55,
    FX_RECV = 56,
    FX_CERT = 60,
    FX_TOO_BIG = 63,
    FX_CAFILE = 77,
};

typedef struct fopts {
    const char **urls; /* in order (room for argc: each argument adds one at most) */
    size_t nurls;
    const char **outs; /* -o FILE, or NULL for -O: paired with urls in order */
    size_t nouts;
    const char *resolve[MAX_RESOLVE]; /* --resolve entries, checked */
    size_t nresolve;
    bool parallel, no_meter, bar;
    unsigned parallel_max;
    const char *method, *dump_header, *writeout;
    const char *user, *bearer, *agent, *cacert, *capath, *dns_servers;
    const char *proxy, *noproxy, *cookie, *cookie_jar;
    bool compressed;
    em_http_header hdr[MAX_HEADERS];
    size_t nhdr;
    bool drop_accept, has_ctype, drop_auth;
    char *data; /* the request body, malloc'd; has_data even when empty */
    size_t data_len;
    bool has_data;
    bool include, head, location, silent, show_error, verbose, fail, fail_body, insecure;
    int max_redirs;
    double max_time, connect_timeout;
    em_dns_family family;
    char *wfile; /* -w @FILE's text */
} fopts;

static void fopts_free(fopts *o) {
    free(o->data);
    free(o->wfile);
    free(o->urls);
    free(o->outs);
    o->data = NULL;
    o->wfile = NULL;
    o->urls = o->outs = NULL;
}

/* ---- arguments ------------------------------------------------------------ */

/* The whole of path ("-": stdin), NUL-terminated, or NULL with errno. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *q = realloc(p, cap *= 2);
        if (!q)
            free(p);
        p = q;
    }
    bool bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!p || bad) {
        free(p);
        errno = p ? EIO : ENOMEM;
        return NULL;
    }
    p[n] = 0;
    *len = n;
    return p;
}

/* -d, --data-binary, --data-raw: several join with '&' (curl does). */
static int add_data(fopts *o, const char *v, bool at_file, bool strip, const char **why) {
    char *file = NULL;
    size_t len = strlen(v);
    if (at_file && v[0] == '@') {
        if (!(file = slurp(v + 1, &len))) {
            *why = strerror(errno);
            return FX_READ;
        }
        v = file;
        if (strip) { /* -d @file drops CR and LF */
            size_t k = 0;
            for (size_t i = 0; i < len; i++)
                if (file[i] != '\r' && file[i] != '\n')
                    file[k++] = file[i];
            len = k;
        }
    }
    size_t sep = o->has_data ? 1 : 0;
    char *d = realloc(o->data, o->data_len + sep + len + 1);
    if (!d) {
        free(file);
        return FX_NOMEM;
    }
    if (sep)
        d[o->data_len] = '&';
    memcpy(d + o->data_len + sep, v, len);
    o->data = d;
    o->data_len += sep + len;
    o->has_data = true;
    free(file);
    return FX_OK;
}

static bool seconds(const char *v, double *out) {
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= 0) || d > 4e6)
        return false;
    *out = d;
    return true;
}

/* -H "Name: value", "Name:" (drop a field ember-fetch or the client adds:
 * Host too) or "Name;" (send it empty; not Host). */
static int add_header(fopts *o, char *v) {
    char *colon = strchr(v, ':'), *semi = strchr(v, ';');
    bool empty = false;
    if (!colon && semi && !semi[strspn(semi + 1, " \t") + 1]) {
        colon = semi;
        empty = true;
    }
    if (!colon || colon == v)
        return FX_USAGE;
    em_slice name = em_slice_make(v, (size_t)(colon - v));
    const char *val = colon + 1;
    val += strspn(val, " \t");
    size_t vlen = strlen(val);
    while (vlen && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
        vlen--;
    bool ua = em_slice_eq_nocase(name, EM_SLICE_LIT("User-Agent"));
    bool host = em_slice_eq_nocase(name, EM_SLICE_LIT("Host"));
    if (host && empty)
        return FX_USAGE; /* the client sends no empty Host line (curl does) */
    if (!vlen && !empty && !host) {
        if (ua)
            o->agent = "";
        if (em_slice_eq_nocase(name, EM_SLICE_LIT("Accept")))
            o->drop_accept = true;
        /* that of -u, --oauth2-bearer and the URL's user:password */
        if (em_slice_eq_nocase(name, EM_SLICE_LIT("Authorization")))
            o->drop_auth = true;
        return FX_OK; /* other fields ember-fetch does not add anyway */
    }
    if (ua) {
        ((char *)val)[vlen] = 0; /* val points into v, which is ours */
        o->agent = val;
        return FX_OK;
    }
    if (o->nhdr == MAX_HEADERS)
        return FX_USAGE;
    o->drop_accept |= em_slice_eq_nocase(name, EM_SLICE_LIT("Accept"));
    o->has_ctype |= em_slice_eq_nocase(name, EM_SLICE_LIT("Content-Type"));
    /* an empty Host: the client leaves the line out, as curl's -H 'Host:' */
    o->hdr[o->nhdr++] = (em_http_header){name, em_slice_make(val, vlen), 0};
    return FX_OK;
}

#include "fetch_resolve.h"

/* clang-format off */
enum {
    O_REQUEST = 1, O_HEADER, O_DATA, O_DATA_BINARY, O_DATA_RAW, O_OUTPUT, O_DUMP, O_INCLUDE,
    O_HEAD, O_LOCATION, O_MAXREDIRS, O_FAIL, O_FAILBODY, O_SILENT, O_SHOWERR, O_VERBOSE, O_USER,
    O_BEARER, O_AGENT, O_CACERT, O_CAPATH, O_INSECURE, O_MAXTIME, O_CONNTIME, O_IPV4, O_IPV6,
    O_DNS, O_WRITEOUT, O_HELP, O_VERSION, O_SELFTEST, O_COMPRESSED, O_PROXY, O_NOPROXY,
    O_COOKIE, O_COOKIEJAR, O_REMOTENAME, O_PARALLEL, O_PARALLELMAX, O_BAR, O_NOMETER, O_RESOLVE
};

static const struct {
    char s;
    const char *l;
    bool arg;
    int id;
} options[] = {
    {'X', "request", 1, O_REQUEST},       {'H', "header", 1, O_HEADER},
    {'d', "data", 1, O_DATA},             {0, "data-binary", 1, O_DATA_BINARY},
    {0, "data-raw", 1, O_DATA_RAW},       {'o', "output", 1, O_OUTPUT},
    {'D', "dump-header", 1, O_DUMP},      {'i', "include", 0, O_INCLUDE},
    {'I', "head", 0, O_HEAD},             {'L', "location", 0, O_LOCATION},
    {0, "max-redirs", 1, O_MAXREDIRS},    {'f', "fail", 0, O_FAIL},
    {0, "fail-with-body", 0, O_FAILBODY}, {'s', "silent", 0, O_SILENT},
    {'S', "show-error", 0, O_SHOWERR},    {'v', "verbose", 0, O_VERBOSE},
    {'u', "user", 1, O_USER},             {0, "oauth2-bearer", 1, O_BEARER},
    {'A', "user-agent", 1, O_AGENT},      {0, "cacert", 1, O_CACERT},
    {0, "capath", 1, O_CAPATH},           {'k', "insecure", 0, O_INSECURE},
    {'m', "max-time", 1, O_MAXTIME},      {0, "connect-timeout", 1, O_CONNTIME},
    {'4', "ipv4", 0, O_IPV4},             {'6', "ipv6", 0, O_IPV6},
    {0, "dns-servers", 1, O_DNS},         {'w', "write-out", 1, O_WRITEOUT},
    {'h', "help", 0, O_HELP},             {'V', "version", 0, O_VERSION},
    {0, "selftest", 0, O_SELFTEST},       {0, "compressed", 0, O_COMPRESSED},
    {'x', "proxy", 1, O_PROXY},           {0, "noproxy", 1, O_NOPROXY},
    {'b', "cookie", 1, O_COOKIE},         {'c', "cookie-jar", 1, O_COOKIEJAR},
    {'O', "remote-name", 0, O_REMOTENAME}, {'Z', "parallel", 0, O_PARALLEL},
    {0, "parallel-max", 1, O_PARALLELMAX}, {'#', "progress-bar", 0, O_BAR},
    {0, "no-progress-meter", 0, O_NOMETER}, {0, "resolve", 1, O_RESOLVE},
};
/* clang-format on */

/* Apply one option; FX_OK, or an exit code with *why set. */
static int apply(fopts *o, int id, char *v, const char **why) {
    char *end;
    switch (id) {
    case O_REQUEST:
        o->method = v;
        break;
    case O_HEADER:
        *why = "wants 'Name: value' (at most 64 of them)";
        return add_header(o, v);
    case O_DATA:
        return add_data(o, v, true, true, why);
    case O_DATA_RAW:
        return add_data(o, v, false, false, why);
    case O_DATA_BINARY:
        return add_data(o, v, true, false, why);
    case O_OUTPUT:
    case O_REMOTENAME:
        o->outs[o->nouts++] = id == O_OUTPUT ? v : NULL;
        break;
    case O_PARALLEL:
        o->parallel = true;
        break;
    case O_PARALLELMAX: {
        long n = strtol(v, &end, 10);
        if (end == v || *end || n < 1 || n > 300)
            n = 50; /* curl's answer to nonsense, and to more than 300 */
        o->parallel_max = (unsigned)n;
        break;
    }
    case O_BAR:
        o->bar = true;
        break;
    case O_NOMETER:
        o->no_meter = true;
        break;
    case O_RESOLVE:
        *why = "wants HOST:PORT:ADDR[,ADDR]... (at most 64 of them)";
        if (o->nresolve == MAX_RESOLVE || !resolve_entry(v, NULL, 0, NULL, NULL))
            return FX_OPTION_SYNTAX;
        o->resolve[o->nresolve++] = v;
        break;
    case O_DUMP:
        o->dump_header = v;
        break;
    case O_INCLUDE:
        o->include = true;
        break;
    case O_HEAD:
        o->head = true;
        break;
    case O_LOCATION:
        o->location = true;
        break;
    case O_MAXREDIRS: {
        long n = strtol(v, &end, 10);
        *why = "wants a number, -1 for no limit";
        if (end == v || *end || n < -1 || n > 100000)
            return FX_USAGE;
        o->max_redirs = n < 0 ? 1000000 : (int)n;
        break;
    }
    case O_FAIL:
        o->fail = true;
        break;
    case O_FAILBODY:
        o->fail_body = true;
        break;
    case O_SILENT:
        o->silent = true;
        break;
    case O_SHOWERR:
        o->show_error = true;
        break;
    case O_VERBOSE:
        o->verbose = true;
        break;
    case O_USER:
        o->user = v;
        break;
    case O_BEARER:
        o->bearer = v;
        break;
    case O_AGENT:
        o->agent = v;
        break;
    case O_CACERT:
        o->cacert = v;
        break;
    case O_CAPATH:
        o->capath = v;
        break;
    case O_INSECURE:
        o->insecure = true;
        break;
    case O_COMPRESSED:
        o->compressed = true;
        break;
    case O_PROXY:
        o->proxy = v;
        break;
    case O_NOPROXY:
        o->noproxy = v;
        break;
    case O_COOKIE:
        o->cookie = v;
        break;
    case O_COOKIEJAR:
        o->cookie_jar = v;
        break;
    case O_MAXTIME:
        *why = "wants seconds";
        return seconds(v, &o->max_time) ? FX_OK : FX_USAGE;
    case O_CONNTIME:
        *why = "wants seconds";
        return seconds(v, &o->connect_timeout) ? FX_OK : FX_USAGE;
    case O_IPV4:
        o->family = EM_DNS_V4;
        break;
    case O_IPV6:
        o->family = EM_DNS_V6;
        break;
    case O_DNS:
        o->dns_servers = v;
        break;
    case O_WRITEOUT:
        if (v[0] == '@') {
            size_t n;
            free(o->wfile);
            if (!(o->wfile = slurp(v + 1, &n))) {
                *why = strerror(errno);
                return FX_READ;
            }
            v = o->wfile;
        }
        o->writeout = v;
        break;
    }
    return FX_OK;
}

/* Parse argv into o. Returns FX_OK, an exit code (with a message on err), or
 * -1 for --help/--version (printed) and -2 for --selftest. */
static int parse_args(fopts *o, int argc, char **argv, FILE *out, FILE *err) {
    memset(o, 0, sizeof *o);
    o->max_redirs = 50;
    o->parallel_max = 50;
    /* any number of URLs (and -o/-O): no argument adds more than one */
    o->urls = calloc((size_t)argc + 1, sizeof *o->urls);
    o->outs = calloc((size_t)argc + 1, sizeof *o->outs);
    if (!o->urls || !o->outs) {
        fprintf(err, "ember-fetch: (27) out of memory\n");
        return FX_NOMEM; /* the caller frees o */
    }
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (opts_done || a[0] != '-' || !a[1]) {
            o->urls[o->nurls++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            opts_done = true;
            continue;
        }
        for (int j = 1; a[j]; j++) {
            size_t k = 0, n = sizeof options / sizeof options[0];
            bool lng = a[1] == '-';
            while (k < n && (lng ? strcmp(options[k].l, a + 2) : options[k].s != a[j]))
                k++;
            if (k == n) {
                fprintf(err, "ember-fetch: (2) option %s: is unknown\n%s", a, usage);
                return FX_USAGE;
            }
            char *v = NULL;
            if (options[k].arg) {
                v = !lng && a[j + 1] ? a + j + 1 : i + 1 < argc ? argv[++i] : NULL;
                if (!v) {
                    fprintf(err, "ember-fetch: (2) option %s: needs a value\n", a);
                    return FX_USAGE;
                }
            }
            const char *why = "";
            int rc;
            switch (options[k].id) {
            case O_HELP:
                fputs(usage, out);
                return -1;
            case O_VERSION:
                fprintf(out, "ember-fetch " FETCH_VERSION " (ember; http, https)\n");
                return -1;
            case O_SELFTEST:
                return -2;
            default:
                if ((rc = apply(o, options[k].id, v, &why))) {
                    fprintf(err, "ember-fetch: (%d) option %s %s: %s\n", rc, a, v ? v : "", why);
                    return rc;
                }
            }
            if (lng || v)
                break;
        }
    }
    if (!o->nurls) {
        fprintf(err, "ember-fetch: (2) no URL given\n%s", usage);
        return FX_USAGE;
    }
    if (o->head && o->has_data) {
        fprintf(err, "ember-fetch: (2) -I and a request body exclude each other\n");
        return FX_USAGE;
    }
    return FX_OK;
}

#include "fetch_meter.h"
#include "fetch_run.h"
#include "fetch_selftest.h"

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is exit 23, as in curl */
    fopts o;
    int rc = parse_args(&o, argc, argv, stdout, stderr);
    if (rc == -2) {
        fopts_free(&o);
        return selftest();
    }
    if (rc) {
        fopts_free(&o);
        return rc < 0 ? 0 : rc;
    }
    em_loop loop;
    if (em_loop_init(&loop) != 0) {
        fopts_free(&o);
        return FX_NOMEM;
    }
    rc = fetch_run(&o, &loop, NULL, stdout, stderr);
    if (em_loop_close(&loop) != 0 && !rc)
        rc = FX_NOMEM;
    fopts_free(&o);
    return rc;
}
