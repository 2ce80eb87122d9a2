/* ember-fetch's report of a transfer, as curl gives it: the exit code for
 * how it ended, the one-line message, and -w's write-out. Included once, by
 * fetch_run.h (after struct fetch and since()). */
#ifndef EMBER_FETCH_REPORT_H
#define EMBER_FETCH_REPORT_H

#include <stdarg.h>

/* Whether why is the refusal of a proxy ember cannot speak to (curl's
 * words, from setup or from the client for a call). */
static bool refused_proxy(const char *why) {
    return !strncmp(why, "Unsupported proxy scheme", 24);
}

/* curl's exit code for an on_done error. */
static int exit_for(const fetch *f, int err) {
    switch (err) {
    case 0:
        return FX_OK;
    case EM_ENOTFOUND:
    case EM_EDNSFAIL:
        /* the client's words when the name that failed was the proxy's */
        return strstr(f->why, "connect to proxy ") ? FX_RESOLVE_PROXY : FX_RESOLVE;
    case EM_ECONNREFUSED:
    case EM_EHOSTUNREACH:
    case EM_ENETUNREACH:
    case EM_ENETDOWN:
    case EM_EADDRNOTAVAIL:
    case EM_EAFNOSUPPORT:
        return FX_CONNECT;
    case EM_ETIMEDOUT:
        return FX_TIMEOUT;
    case EM_ETLSHANDSHAKE:
        return FX_TLS;
    case EM_ECERTVERIFY:
        return FX_CERT;
    case EM_ETOOMANYREDIRECTS:
        return FX_REDIRECTS;
    case EM_EPARTIAL:
        /* curl: a close before a whole status line is an empty reply */
        return !f->got_head && strstr(f->why, "status line was cut short") ? FX_EMPTY : FX_PARTIAL;
    case EM_ENOTSUP:
        /* curl's 7 for a proxy (here one from the environment) it cannot use */
        if (refused_proxy(f->why))
            return FX_CONNECT;
        return FX_UNSUPPORTED;
    case EM_EUNSAFEREDIRECT:
        return FX_UNSUPPORTED; /* curl: a protocol --proto-redir refuses */
    case EM_EINVAL:
        return FX_URL; /* a Location that is no URL */
    case EM_ENOMEM:
        return FX_NOMEM;
    case EM_EBODYTOOLARGE:
        return FX_TOO_BIG;
    case EM_EBADCODING:
        return FX_BAD_CODING;
    case EM_ECANCELED:
        return FX_ABORTED;
    case EM_EPIPE:
        return FX_SEND;
    case EM_EPROXY:
        return FX_RECV; /* curl: "CONNECT tunnel failed, response 407" is 56 */
    case EM_ECONNRESET:
        /* the client's words for a connection closed before any answer */
        return !f->got_head && strstr(f->why, "without answering") ? FX_EMPTY : FX_RECV;
    default:
        /* a response head ember's parser refuses: curl's 1 without a status
         * line (HTTP/0.9) or with a garbled one, 8 for the rest of it */
        if (err <= EM_EPARSE && err >= EM_EBADEOL && !f->got_head)
            return strstr(f->why, "not an HTTP/1.x response") || strstr(f->why, "status line:")
                       ? FX_UNSUPPORTED
                       : FX_WEIRD_REPLY;
        return FX_RECV;
    }
}

static void say(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

/* The message for exit code x, curl's words where it has them. */
static void message(const fetch *f, int x, char *m, size_t cap) {
    const char *why = f->why[0] ? f->why : em_strerror(f->err_code);
    em_url u = {0};
    switch (x) {
    case FX_RESOLVE_PROXY:
        say(m, cap, "Could not resolve proxy (%s)", why);
        break;
    case FX_RESOLVE:
        if (f->url && em_url_parse(&u, em_slice_from_cstr(f->url)) == 0)
            say(m, cap, "Could not resolve host: %s (%s)", u.host, why);
        else
            say(m, cap, "Could not resolve host (%s)", why);
        em_url_free(&u);
        break;
    case FX_CONNECT:
        if (refused_proxy(why))
            say(m, cap, "%s", why);
        else
            say(m, cap, "Failed to %s%s", strncmp(why, "connect to ", 11) ? "connect: " : "", why);
        break;
    case FX_TIMEOUT:
        say(m, cap, "Operation timed out after %.0f milliseconds with %llu bytes received (%s)",
            since(&f->t0) * 1000, (unsigned long long)f->size, why);
        break;
    case FX_PARTIAL:
        if (f->has_clen && f->clen > f->size)
            say(m, cap, "transfer closed with %llu bytes remaining to read (%s)",
                (unsigned long long)(f->clen - f->size), why);
        else
            say(m, cap, "transfer closed with outstanding read data remaining (%s)", why);
        break;
    case FX_HTTP:
        say(m, cap, "The requested URL returned error: %03d", f->status);
        break;
    case FX_WRITE:
        say(m, cap, "Failure writing output to destination (%s)", why);
        break;
    case FX_TLS:
        say(m, cap, "TLS connect error: %s", why);
        break;
    case FX_CERT:
        say(m, cap, "SSL certificate problem: %s", why);
        break;
    case FX_REDIRECTS:
        say(m, cap, "Maximum (%d) redirects followed", f->o->max_redirs);
        break;
    case FX_EMPTY:
        say(m, cap, "Empty reply from server");
        break;
    case FX_RECV:
        say(m, cap, "Failure when receiving data from the peer: %s", why);
        break;
    case FX_WEIRD_REPLY:
        say(m, cap, "Weird server reply: %s", why);
        break;
    case FX_UNSUPPORTED: /* curl's words for a reply it will not take */
        if (strstr(why, "not an HTTP/1.x response"))
            say(m, cap, "Received HTTP/0.9 when not allowed (%s)", why);
        else if (strstr(why, "status line: its status code"))
            say(m, cap, "Unsupported response code in HTTP response (%s)", why);
        else if (strstr(why, "status line: its HTTP version"))
            say(m, cap, "Unsupported HTTP version in response (%s)", why);
        else
            say(m, cap, "%s", why);
        break;
    default:
        say(m, cap, "%s", why);
        break;
    }
}

/* %{url_effective}: the URL with its userinfo, unless it has one already
 * (one that failed before the client took it). */
static void put_url(FILE *s, const fetch *f) {
    const char *u = f->url ? f->url : "", *auth = strstr(u, "://");
    auth = auth ? auth + 3 : NULL;
    size_t alen = auth ? strcspn(auth, "/?#") : 0;
    if (auth && f->userinfo && !memchr(auth, '@', alen))
        fprintf(s, "%.*s%s@%s", (int)(auth - u), u, f->userinfo, auth);
    else
        fputs(u, s);
}

/* -w: \n \r \t \\, %% and %{variable}. */
static void write_out(const fetch *f, const char *fmt, int x, const char *msg) {
    FILE *s = f->out;
    for (const char *p = fmt; *p; p++) {
        if (*p == '\\' && p[1] && strchr("nrt\\", p[1])) {
            p++;
            fputc(*p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : '\\', s);
        } else if (*p == '%' && p[1] == '%') {
            fputc('%', s);
            p++;
        } else if (*p == '%' && p[1] == '{' && strchr(p, '}')) {
            const char *v = p + 2, *end = strchr(p, '}');
            size_t n = (size_t)(end - v);
#define IS(name) (n == sizeof(name) - 1 && !strncmp(v, name, n))
            if (IS("http_code") || IS("response_code"))
                fprintf(s, "%03d", f->status);
            else if (IS("url_effective"))
                put_url(s, f);
            else if (IS("size_download"))
                fprintf(s, "%llu", (unsigned long long)f->size);
            else if (IS("time_total"))
                fprintf(s, "%.6f", since(&f->t0));
            else if (IS("content_type"))
                fputs(f->ctype, s);
            else if (IS("exitcode"))
                fprintf(s, "%d", x);
            else if (IS("errormsg"))
                fputs(msg, s);
            else if (IS("method"))
                fputs(f->method, s);
            else if (IS("num_connects"))
                fprintf(s, "%u", f->counted ? f->connects
                                 : f->conns_peak > f->conns0 ? f->conns_peak - f->conns0 : 0);
            else if (IS("num_redirects"))
                fprintf(s, "%u", f->counted ? f->redirects : 0);
            else if (IS("time_starttransfer"))
                fprintf(s, "%.6f", f->got_head ? f->t_head : 0.0);
            else if (IS("speed_download"))
                fprintf(s, "%.0f", (double)f->size / (since(&f->t0) > 0 ? since(&f->t0) : 1));
            else if (IS("size_header"))
                fprintf(s, "%llu", (unsigned long long)f->head_size);
            else if (IS("http_version"))
                fputs(f->got_head ? (f->version_minor ? "1.1" : "1.0") : "0", s);
            else if (IS("url"))
                fputs(f->arg, s);
            else if (IS("filename_effective"))
                fputs(f->output && strcmp(f->output, "-") ? f->output : "", s);
            else
                fprintf(f->err, "ember-fetch: unknown --write-out variable: '%.*s'\n", (int)n, v);
#undef IS
            p = end;
        } else {
            fputc(*p, s);
        }
    }
}

#endif
