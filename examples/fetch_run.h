/* ember-fetch's transfer: one request on an em_http_client on the caller's
 * loop, the body written as it arrives; curl's exit codes and messages are
 * fetch_report.h's.
 * Included once, by ember-fetch.c (after fopts). */
#ifndef EMBER_FETCH_RUN_H
#define EMBER_FETCH_RUN_H

typedef struct frun frun;

/* One URL's transfer. */
typedef struct fetch {
    frun *run;
    const fopts *o;
    FILE *out, *err;    /* stdout and stderr (memory streams in the selftest) */
    FILE *file;         /* -o or -O file once open */
    const char *arg;    /* the URL as given */
    const char *output; /* -o FILE ("-": stdout), the -O name, or NULL: stdout */
    char *oname;        /* the -O name, malloc'd */
    bool remote_name;   /* -O */
    em_http_call *call;
    bool started, done, ended, got_head, closed;
    int err_code; /* on_done's */
    int exit;     /* set by a callback that ended the call: 22, 23, 47 */
    int status, version_minor;
    char ctype[256];
    uint64_t size, clen, head_size;
    bool has_clen;
    unsigned conns0, conns_peak; /* the client's connections at the start, and since */
    unsigned redirects, connects; /* the client's own count, at the end */
    bool counted;                 /* redirects and connects are set */
    char *url;                   /* the effective URL */
    /* its userinfo as written (NULL: none), which the client's URL leaves
     * out and %{url_effective} shows as curl's does; a followed redirect's
     * in next_userinfo until the call's URL moves there (moved) */
    char *userinfo, *next_userinfo;
    bool moved;
    char why[256];               /* em_http_call_error, or ember-fetch's own reason */
    const char *method;
    struct timespec t0;
    double t_head; /* seconds to the response head */
    double t_tick; /* the meter: the last update's time and size */
    uint64_t tick_size;
} fetch;

/* The whole run: one client for every URL. */
struct frun {
    const fopts *o;
    FILE *out, *err;
    em_loop *loop;
    em_http_client *cl;
    em_tls_ctx *tls;
    em_cookie_jar *jar; /* -b FILE / -c FILE */
    FILE *dump;         /* -D, once open */
    char *user;         /* -u, split at its colon */
    const char *password;
    int setup_x; /* a setup failure every transfer reports */
    char setup_why[256];
    fetch *f;
    size_t n, next, running, ended;
    size_t scan; /* every transfer before it has ended */
    bool meter, closed;
    em_timer tick;
    unsigned ticks;
    struct timespec t0;
    int exit;
};

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static unsigned ms(double s) { /* seconds (up to 4e6) to milliseconds, rounded up */
    double v = s * 1000;
    unsigned r = (unsigned)v;
    r += r < v;
    return r < 1 ? 1 : r;
}

static void set_url(fetch *f, const char *url) {
    if (f->moved && f->url && strcmp(f->url, url)) {
        free(f->userinfo);
        f->userinfo = f->next_userinfo;
        f->next_userinfo = NULL;
        f->moved = false;
    }
    char *u = strdup(url);
    if (u) {
        free(f->url);
        f->url = u;
    }
}

/* -O: the last part of the URL's path, as curl takes it (no query, no
 * decoding); NULL when there is none. */
static char *remote_name(const char *url) {
    em_url u;
    char *name = NULL;
    if (em_url_parse(&u, em_slice_from_cstr(url)) == 0) {
        const char *slash = strrchr(u.path, '/');
        const char *base = slash ? slash + 1 : u.path;
        if (*base)
            name = strdup(base);
        em_url_free(&u);
    }
    return name;
}

/* The output file, opened at the first byte of output (so -f leaves no
 * file); stdout without -o/-O. */
static FILE *sink(fetch *f) {
    const char *path = f->output;
    if (!path || !strcmp(path, "-"))
        return f->out;
    if (!f->file && !(f->file = fopen(path, "wb")))
        snprintf(f->why, sizeof f->why, "%s: %s", path, strerror(errno));
    return f->file;
}

static bool put_head(FILE *s, const char *pre, const char *eol, const em_http_response *r) {
    fprintf(s, "%sHTTP/1.%d %03d%s%.*s%s", pre, r->version_minor, r->status,
            r->reason.len ? " " : "", (int)r->reason.len, r->reason.ptr, eol);
    for (size_t i = 0; i < r->num_headers; i++)
        fprintf(s, "%s%.*s: %.*s%s", pre, (int)r->headers[i].name.len, r->headers[i].name.ptr,
                (int)r->headers[i].value.len, r->headers[i].value.ptr, eol);
    fprintf(s, "%s%s", *pre ? "<" : "", eol);
    return !ferror(s);
}

/* The head as -i writes it, counted for %{size_header}. */
static uint64_t head_bytes(const em_http_response *r) {
    uint64_t n = 12 + (r->reason.len ? 1 + r->reason.len : 0) + 2 + 2;
    for (size_t i = 0; i < r->num_headers; i++)
        n += r->headers[i].name.len + 2 + r->headers[i].value.len + 2;
    return n;
}

/* The transfer is over: em_loop_run returns at once. (Without the stop,
 * EM_RUN_ONCE may run the task that ends the call first and then still
 * block in epoll until the next timer: up to a minute.) */
static void finished(fetch *f) {
    f->done = true;
    em_loop_stop(f->run->loop);
}

/* End the call from inside one of its callbacks with exit code x. */
static void stop(fetch *f, em_http_call *call, int x) {
    f->exit = x;
    finished(f);
    (void)em_http_call_cancel(call); /* freed when the callback returns */
}

/* %{num_connects}: the growth of the client's connections while this
 * transfer runs (see fetch_done). */
static void count_conns(fetch *f) {
    unsigned n = em_http_client_conns(f->run->cl);
    if (n > f->conns_peak)
        f->conns_peak = n;
}

/* -f and --fail-with-body: 4xx, 5xx, and a status outside 100..599, which
 * a client takes as a 5xx (RFC 9110 §15) */
static bool failed_status(int status) {
    return status >= 400 || status < 100;
}

/* -v and -D: every head, a followed redirect's too. False: the call was
 * stopped. */
static bool log_head(fetch *f, em_http_call *call, const em_http_response *r) {
    const fopts *o = f->o;
    if (o->verbose)
        put_head(f->err, "< ", "\n", r);
    if (o->dump_header) {
        frun *run = f->run;
        if (!run->dump)
            run->dump = strcmp(o->dump_header, "-") ? fopen(o->dump_header, "wb") : f->out;
        if (!run->dump || !put_head(run->dump, "", "\r\n", r)) {
            snprintf(f->why, sizeof f->why, "%s: %s", o->dump_header, strerror(errno));
            stop(f, call, FX_WRITE);
            return false;
        }
    }
    return true;
}

/* The userinfo the URL of a redirect's Location has: the Location's when
 * it has an authority, else the current one (RFC 3986 §5.2.2), as curl
 * keeps it for %{url_effective}. */
static void note_redirect(fetch *f, em_http_call *call, const em_http_response *r) {
    set_url(f, em_http_call_url(call)); /* an earlier redirect's URL, now the call's */
    em_slice loc = {0};
    for (size_t i = 0; i < r->num_headers; i++)
        if (em_slice_eq_nocase(r->headers[i].name, EM_SLICE_LIT("Location")))
            loc = em_slice_trim(r->headers[i].value);
    em_url base, to;
    if (!loc.len || em_url_parse(&base, em_slice_from_cstr(f->url)))
        return;
    base.userinfo = f->userinfo;
    if (em_url_resolve(&to, &base, loc) == 0) {
        free(f->next_userinfo);
        f->next_userinfo = to.userinfo ? strdup(to.userinfo) : NULL;
        f->moved = true;
        em_url_free(&to);
    }
    em_url_free(&base);
}

/* As curl, -v, -D, -i and -I show every head before the final one: a
 * followed redirect's (-L; never its body) and an interim 1xx. */
static void on_extra_head(em_http_call *call, const em_http_response *r) {
    fetch *f = em_http_call_data(call);
    const fopts *o = f->o;
    if (r->status >= 300)
        note_redirect(f, call, r);
    if (!log_head(f, call, r))
        return;
    FILE *s = o->include || o->head ? sink(f) : NULL;
    if ((o->include || o->head) && (!s || !put_head(s, "", "\r\n", r)))
        stop(f, call, FX_WRITE);
}

static void on_head(em_http_call *call, const em_http_response *r) {
    fetch *f = em_http_call_data(call);
    const fopts *o = f->o;
    count_conns(f);
    f->got_head = true;
    f->t_head = since(&f->t0);
    f->status = r->status;
    f->version_minor = r->version_minor;
    f->head_size = head_bytes(r);
    f->has_clen = r->flags & EM_HTTP_F_CONTENT_LENGTH;
    f->clen = r->content_length;
    bool location = false;
    em_slice coding = {0};
    for (size_t i = 0; i < r->num_headers; i++) {
        em_slice n = r->headers[i].name, v = r->headers[i].value;
        if (em_slice_eq_nocase(n, EM_SLICE_LIT("Content-Type")))
            snprintf(f->ctype, sizeof f->ctype, "%.*s", (int)v.len, v.ptr);
        location |= em_slice_eq_nocase(n, EM_SLICE_LIT("Location"));
        if (em_slice_eq_nocase(n, EM_SLICE_LIT("Content-Encoding")) && em_slice_trim(v).len)
            coding = em_slice_trim(v);
    }
    if (o->verbose && f->url && strcmp(f->url, em_http_call_url(call)))
        fprintf(f->err, "* Followed redirects to %s\n", em_http_call_url(call));
    set_url(f, em_http_call_url(call));
    if (!log_head(f, call, r))
        return;
    FILE *s = o->include || o->head ? sink(f) : NULL;
    if ((o->include || o->head) && (!s || !put_head(s, "", "\r\n", r))) {
        stop(f, call, FX_WRITE);
        return;
    }
    /* -f: no body; -i and -I wrote the head first, as curl 7.75 and later */
    if (o->fail && failed_status(r->status)) {
        stop(f, call, FX_HTTP);
        return;
    }
    /* curl's -L --max-redirs 0 fails at the first redirect,
     * after -i or -I wrote its head */
    if (o->location && !o->max_redirs && location &&
        (r->status == 301 || r->status == 302 || r->status == 303 || r->status == 307 ||
         r->status == 308)) {
        stop(f, call, FX_REDIRECTS);
        return;
    }
    /* --compressed: the client takes Content-Encoding away from a body it
     * decodes, so one left is a coding it cannot (br, zstd): curl's 61 */
    bool body = r->body != EM_HTTP_BODY_NONE &&
                !(r->body == EM_HTTP_BODY_LENGTH && !r->content_length);
    if (o->compressed && coding.len && body) {
        snprintf(f->why, sizeof f->why,
                 "Unrecognized content encoding type: %.*s (ember-fetch decodes gzip and deflate)",
                 (int)(coding.len < 64 ? coding.len : 64), coding.ptr);
        stop(f, call, FX_BAD_CODING);
    }
}

static void on_body(em_http_call *call, em_slice piece) {
    fetch *f = em_http_call_data(call);
    f->size += piece.len;
    FILE *s = sink(f);
    if (!s || fwrite(piece.ptr, 1, piece.len, s) != piece.len) {
        if (s)
            snprintf(f->why, sizeof f->why, "%s", strerror(errno));
        stop(f, call, FX_WRITE);
    }
}

static void on_done(em_http_call *call, int err) {
    fetch *f = em_http_call_data(call);
    count_conns(f);
    f->redirects = em_http_call_redirects(call);
    f->connects = em_http_call_connects(call);
    f->counted = true;
    /* curl's %{method} and %{http_code}: the latest request's method (a
     * 303 makes a POST a GET) and the latest status, a redirect's too. */
    f->method = em_http_call_method(call);
    if (em_http_call_status(call))
        f->status = em_http_call_status(call);
    f->err_code = err;
    finished(f);
    snprintf(f->why, sizeof f->why, "%s", em_http_call_error(call));
    set_url(f, em_http_call_url(call));
}

static const em_http_client_cbs fetch_cbs = {.on_head = on_head,
                                             .on_body = on_body,
                                             .on_done = on_done,
                                             .on_redirect = on_extra_head,
                                             .on_info = on_extra_head};

static bool named(em_slice name, const char *want) {
    return em_slice_eq_nocase(name, em_slice_from_cstr(want));
}

/* A credential -v shows: its scheme word ("Basic", "Bearer"), if it has
 * one, and <hidden> for the rest. */
static void show_hidden(FILE *e, em_slice name, em_slice v, bool scheme) {
    size_t w = 0;
    while (scheme && w < v.len && v.ptr[w] != ' ')
        w++;
    if (w == v.len)
        w = 0; /* one word: no scheme, all secret */
    fprintf(e, "> %.*s: %.*s%s<hidden>\n", (int)name.len, name.ptr, (int)w, v.ptr,
            w ? " " : "");
}

/* What -v shows of the request: the fields as the client writes them
 * (the caller's Authorization replaces the one from credentials, and the
 * Cookie fields go as one), credentials as <hidden>. */
static void show_request(const fetch *f, const em_url *u, const em_http_req *req,
                         const char *agent) {
    FILE *e = f->err;
    char host[300], target[EM_URL_MAX_LEN + 1];
    ssize_t hl = em_url_host_header(u, host, sizeof host);
    ssize_t tl = em_url_target(u, target, sizeof target);
    fprintf(e, "* %s to %s port %u\n", em_url_is_tls(u) ? "HTTPS" : "HTTP", u->host,
            (unsigned)u->port);
    const em_http_header *own = NULL; /* -H Host: in the one Host line; empty: none */
    for (size_t i = 0; i < req->num_headers && !own; i++)
        if (named(req->headers[i].name, "Host"))
            own = &req->headers[i];
    fprintf(e, "> %s %.*s HTTP/1.1\n", req->method, tl > 0 ? (int)tl : 0, target);
    if (own && own->value.len)
        fprintf(e, "> Host: %.*s\n", (int)own->value.len, own->value.ptr);
    else if (!own)
        fprintf(e, "> Host: %.*s\n", hl > 0 ? (int)hl : 0, host);
    if (*agent)
        fprintf(e, "> User-Agent: %s\n", agent);
    bool own_auth = false, cookie_shown = false;
    for (size_t i = 0; i < req->num_headers; i++)
        own_auth |= named(req->headers[i].name, "Authorization");
    if ((req->user || req->bearer || u->userinfo) && !own_auth)
        fprintf(e, "> Authorization: %s <hidden>\n", req->bearer ? "Bearer" : "Basic");
    for (size_t i = 0; i < req->num_headers; i++) {
        em_slice n = req->headers[i].name, v = req->headers[i].value;
        if (named(n, "Authorization") || named(n, "Proxy-Authorization"))
            show_hidden(e, n, v, true);
        else if (named(n, "Cookie") && !cookie_shown)
            show_hidden(e, n, v, false);
        else if (!named(n, "Cookie") && !named(n, "Host"))
            fprintf(e, "> %.*s: %.*s\n", (int)n.len, n.ptr, (int)v.len, v.ptr);
        cookie_shown |= named(n, "Cookie");
    }
    if (req->content_type)
        fprintf(e, "> Content-Type: %s\n", req->content_type);
    if (f->o->has_data)
        fprintf(e, "> Content-Length: %zu\n", req->body.len);
    fprintf(e, ">\n");
}

static void client_closed(void *arg) {
    frun *run = arg;
    run->closed = true;
    em_loop_stop(run->loop);
}

static int fail_early(fetch *f, int x, const char *fmt, const char *arg) {
    snprintf(f->why, sizeof f->why, fmt, arg);
    return x;
}

/* The URL as given to an absolute http(s) URL in *out (malloc'd): no
 * scheme means http://, as curl guesses. FX_OK, or an exit code with why. */
static int guess_url(const char *arg, char **out, char *why, size_t cap) {
    const char *sep = strstr(arg, "://");
    if (!sep) {
        size_t n = strlen(arg) + 8;
        if (!(*out = malloc(n)))
            return FX_NOMEM;
        snprintf(*out, n, "http://%s", arg); /* curl's guess */
    } else if (!((sep - arg == 4 && !strncasecmp(arg, "http", 4)) ||
                 (sep - arg == 5 && !strncasecmp(arg, "https", 5)))) {
        snprintf(why, cap, "Protocol \"%.*s\" not supported", (int)(sep - arg), arg);
        return FX_UNSUPPORTED;
    } else if (!(*out = strdup(arg))) {
        return FX_NOMEM;
    }
    return FX_OK;
}

/* Once per run: TLS, the cookie jar, --resolve and the client. FX_OK, or
 * an exit code with run->setup_why set (every transfer then ends with it). */
static int setup(frun *run, const em_dns_resolver_opts *ro) {
    const fopts *o = run->o;
    char *why = run->setup_why;
    size_t cap = sizeof run->setup_why;
    if (o->cacert || o->capath || o->insecure) {
        em_tls_ctx_opts to = {
            .ca_file = o->cacert, .ca_dir = o->capath, .insecure = o->insecure, .alpn = "http/1.1"};
        if (em_tls_ctx_new(&run->tls, EM_TLS_CLIENT, &to)) {
            char e[160];
            snprintf(why, cap, "error setting certificate file: %s (%s)",
                     o->cacert   ? o->cacert
                     : o->capath ? o->capath
                                 : "-",
                     em_tls_last_error(e, sizeof e));
            return FX_CAFILE;
        }
    }
    /* -b with '=' is cookie data; else a cookies.txt file (a missing one
     * is an empty jar, as in curl) */
    bool cookie_file = o->cookie && !strchr(o->cookie, '=');
    if (cookie_file || o->cookie_jar) {
        if (em_cookie_jar_new(&run->jar, NULL) != 0) {
            snprintf(why, cap, "cannot make a cookie jar");
            return FX_NOMEM;
        }
        if (cookie_file)
            (void)em_cookie_jar_load(run->jar, o->cookie, (int64_t)time(NULL));
    }
    em_dns_resolver_opts dro = ro ? *ro : (em_dns_resolver_opts){0};
    if (o->dns_servers)
        dro.servers = o->dns_servers;
    char hosts[512];
    int hrc = 1;
    if (o->nresolve) {
        unsigned *ports = calloc(o->nurls + 1, sizeof *ports);
        size_t np = 0;
        if (!ports)
            return FX_NOMEM;
        for (size_t i = 0; i < o->nurls; i++) {
            char *u = NULL, w[8];
            em_url pu;
            if (guess_url(o->urls[i], &u, w, sizeof w) == FX_OK &&
                em_url_parse(&pu, em_slice_from_cstr(u)) == 0) {
                ports[np++] = pu.port;
                em_url_free(&pu);
            }
            free(u);
        }
        hrc = resolve_hosts(o, ports, np, dro.hosts_file, hosts, sizeof hosts);
        free(ports);
        if (hrc < 0) {
            snprintf(why, cap, "cannot write the --resolve hosts file: %s", strerror(errno));
            return FX_WRITE;
        }
        if (hrc == 0)
            dro.hosts_file = hosts;
    }
    em_http_client_opts co = {.resolver_opts = &dro,
                              .tls = run->tls,
                              .family = o->family,
                              .user_agent = o->agent ? o->agent : "ember-fetch/" FETCH_VERSION,
                              .decompress = o->compressed ? 1 : -1,
                              /* -x '': no proxy, not the environment's (curl) */
                              .proxy = o->proxy && *o->proxy ? o->proxy : NULL,
                              .no_proxy = o->noproxy,
                              .proxy_from_env = !o->proxy || *o->proxy,
                              .cookie_jar = run->jar};
    if (o->connect_timeout > 0)
        co.connect_timeout_ms = ms(o->connect_timeout);
    if (o->max_time > 60) /* the per-read limits (60 s) must not cut it shorter */
        co.head_timeout_ms = co.read_timeout_ms = co.write_timeout_ms = ms(o->max_time);
    int rc = em_http_client_new(&run->cl, run->loop, &co);
    if (hrc == 0)
        unlink(hosts); /* the resolver has read it */
    if (rc == EM_ENOTSUP) { /* curl's words and code for a proxy it cannot use */
        run->cl = NULL;
        /* only -x's can be: the client refuses one from the environment
         * per call, in these words too (refused_proxy) */
        snprintf(why, cap,
                 "Unsupported proxy scheme for '%s' (ember-fetch speaks to http:// proxies only)",
                 co.proxy ? co.proxy : "?");
        return FX_CONNECT;
    }
    if (rc) {
        run->cl = NULL;
        snprintf(why, cap, "cannot make a client: %s",
                 rc == EM_EINVAL ? "bad --dns-servers or --proxy" : em_strerror(rc));
        return rc == EM_EINVAL ? FX_USAGE : FX_NOMEM;
    }
    if (o->user && !(run->user = strdup(o->user))) {
        snprintf(why, cap, "%s", em_strerror(EM_ENOMEM));
        return FX_NOMEM;
    }
    char *colon = run->user ? strchr(run->user, ':') : NULL;
    if (colon) { /* -u user:password; no colon: an empty password */
        *colon = 0;
        run->password = colon + 1;
    }
    return FX_OK;
}

/* Start one transfer: the URL, the request. FX_OK with the call started,
 * or an exit code with f->why set. */
static int launch(fetch *f) {
    frun *run = f->run;
    const fopts *o = f->o;
    f->method = o->head ? "HEAD" : o->method ? o->method : o->has_data ? "POST" : "GET";
    clock_gettime(CLOCK_MONOTONIC, &f->t0);
    f->started = true;
    if (run->setup_x)
        return fail_early(f, run->setup_x, "%s", run->setup_why);
    int x = guess_url(f->arg, &f->url, f->why, sizeof f->why);
    if (x)
        return x;
    em_url u;
    if (em_url_parse(&u, em_slice_from_cstr(f->url)))
        return fail_early(f, FX_URL, "URL rejected: malformed URL '%s'", f->arg);
    if (u.userinfo && !(f->userinfo = strdup(u.userinfo))) {
        em_url_free(&u);
        return fail_early(f, FX_NOMEM, "%s", em_strerror(EM_ENOMEM));
    }
    if (o->drop_auth && u.userinfo) { /* -H 'Authorization:': not the URL's either */
        char *bare = malloc(EM_URL_MAX_LEN + 1);
        u.userinfo = NULL;
        if (!bare || em_url_format(&u, false, bare, EM_URL_MAX_LEN + 1) < 0) {
            free(bare);
            em_url_free(&u);
            return fail_early(f, FX_NOMEM, "%s", em_strerror(EM_ENOMEM));
        }
        free(f->url);
        f->url = bare;
    }
    if (f->remote_name && !(f->output = f->oname = remote_name(f->url))) {
        em_url_free(&u);
        return fail_early(f, FX_WRITE, "%s", "Remote file name has no length");
    }
    em_http_header h[MAX_HEADERS + 2]; /* + Accept, + -b data */
    size_t nh = o->nhdr;
    memcpy(h, o->hdr, nh * sizeof *h);
    if (!o->drop_accept)
        h[nh++] = (em_http_header){EM_SLICE_LIT("Accept"), EM_SLICE_LIT("*/*"), 0};
    /* -b data: the client sends it in one Cookie field with -H's and the jar's */
    if (o->cookie && strchr(o->cookie, '='))
        h[nh++] = (em_http_header){EM_SLICE_LIT("Cookie"), em_slice_from_cstr(o->cookie), 0};
    em_http_req req = {.method = f->method,
                       .url = f->url,
                       .headers = h,
                       .num_headers = nh,
                       .user = o->drop_auth ? NULL : run->user,
                       .password = run->password,
                       .bearer = o->drop_auth ? NULL : o->bearer,
                       .max_redirects = o->location ? o->max_redirs : 0};
    if (o->has_data) {
        req.body = em_slice_make(o->data, o->data_len);
        if (!o->has_ctype)
            req.content_type = "application/x-www-form-urlencoded";
    }
    if (o->max_time > 0)
        req.timeout_ms = ms(o->max_time);
    if (o->verbose)
        show_request(f, &u, &req, o->agent ? o->agent : "ember-fetch/" FETCH_VERSION);
    em_url_free(&u);
    /* %{num_connects}: let the client see idle connections the server has
     * closed meanwhile first, or their replacement would count as none */
    if (!o->parallel)
        em_loop_run(run->loop, EM_RUN_NOWAIT);
    f->conns0 = f->conns_peak = em_http_client_conns(run->cl);
    int rc = em_http_client_do(run->cl, &req, &fetch_cbs, f, &f->call);
    if (rc == EM_EINVAL)
        return fail_early(f, FX_USAGE, "%s",
                          "a request field or method the client refuses "
                          "(Content-Length, Transfer-Encoding, Connection, "
                          "Upgrade, TE, Trailer and Keep-Alive are its own; "
                          "one Host, a host[:port])");
    if (rc)
        return fail_early(f, rc == EM_ENOTSUP ? FX_UNSUPPORTED : FX_NOMEM, "%s", em_strerror(rc));
    set_url(f, em_http_call_url(f->call));
    run->running++;
    return FX_OK;
}

/* ---- the meter ----------------------------------------------------------- */

static void meter_show(frun *run, bool last) {
    FILE *e = run->err;
    double now = since(&run->t0);
    if (run->o->parallel) {
        uint64_t got = 0, total = 0, cur = 0;
        bool known = run->next == run->n; /* every size known, or every transfer over */
        for (size_t i = 0; i < run->n; i++) {
            fetch *f = &run->f[i];
            got += f->size;
            total += f->ended ? f->size : f->clen;
            known &= f->ended || f->has_clen;
            double dt = now - f->t_tick;
            if (f->started && !f->ended && dt > 0)
                cur += (uint64_t)((double)(f->size - f->tick_size) / dt);
            f->t_tick = now;
            f->tick_size = f->size;
        }
        parallel_line(e, got, known ? total : 0, run->n, run->running, now, (double)cur);
    } else {
        fetch *f = &run->f[run->next - 1];
        double spent = since(&f->t0), dt = spent - f->t_tick;
        double cur = dt > 0 ? (double)(f->size - f->tick_size) / dt : 0;
        if (run->o->bar)
            bar_line(e, f->size, f->has_clen ? f->clen : 0, run->ticks);
        else
            meter_line(e, f->size, f->has_clen ? f->clen : 0, spent, cur);
        f->t_tick = spent;
        f->tick_size = f->size;
    }
    if (last)
        fputc('\n', e);
    fflush(e);
}

static void on_tick(em_timer *t) {
    frun *run = EM_CONTAINER_OF(t, frun, tick);
    run->ticks++;
    meter_show(run, false);
}

#include "fetch_report.h" /* curl's exit codes, messages, -w */

/* ---- a transfer's end ------------------------------------------------------ */

/* Close what f opened, write -w, say why it failed. Returns its exit code. */
static int fetch_end(fetch *f, int x) {
    const fopts *o = f->o;
    frun *run = f->run;
    f->ended = true;
    if (!x)
        x = f->exit ? f->exit : exit_for(f, f->err_code);
    if (!x && o->fail_body && f->got_head && failed_status(f->status))
        x = FX_HTTP;
    if (!x && f->output && !sink(f))
        x = FX_WRITE; /* an empty body still makes the file, as in curl */
    if (f->file && fclose(f->file) && !x) {
        snprintf(f->why, sizeof f->why, "%s: %s", f->output, strerror(errno));
        x = FX_WRITE;
    }
    f->file = NULL;
    if (run->meter && !o->parallel)
        meter_show(run, true);
    char msg[512] = "";
    if (x)
        message(f, x, msg, sizeof msg);
    if (o->writeout)
        write_out(f, o->writeout, x, msg);
    if (fflush(f->out) && !x) {
        snprintf(f->why, sizeof f->why, "%s", strerror(errno));
        message(f, x = FX_WRITE, msg, sizeof msg);
    }
    if (o->verbose)
        fprintf(f->err, "* %s: %llu bytes of body in %.3f s\n", x ? "Failed" : "Done",
                (unsigned long long)f->size, since(&f->t0));
    if (x && (!o->silent || o->show_error))
        fprintf(f->err, "ember-fetch: (%d) %s\n", x, msg);
    free(f->url);
    free(f->oname);
    free(f->userinfo);
    free(f->next_userinfo);
    f->url = f->oname = f->userinfo = f->next_userinfo = NULL;
    run->ended++;
    /* curl's exit code: the last transfer's, or with -Z the last failure's */
    if (!o->parallel || x)
        run->exit = x;
    return x;
}

/* Fetch o's URLs on loop (which may serve other things too), in order on
 * one client or, with -Z, up to --parallel-max at once; messages go to
 * err, the bodies to out or their files. ro: resolver settings (NULL: the
 * system's). Returns curl's exit code. */
static int fetch_run(const fopts *o, em_loop *loop, const em_dns_resolver_opts *ro, FILE *out,
                     FILE *err) {
    frun run = {.o = o, .out = out, .err = err, .loop = loop, .n = o->nurls};
    clock_gettime(CLOCK_MONOTONIC, &run.t0);
    if (!(run.f = calloc(run.n, sizeof *run.f)))
        return FX_NOMEM;
    for (size_t i = 0; i < run.n; i++) {
        run.f[i] = (fetch){.run = &run, .o = o, .out = out, .err = err, .arg = o->urls[i]};
        if (i < o->nouts) {
            run.f[i].output = o->outs[i];
            run.f[i].remote_name = !o->outs[i];
        }
    }
    run.setup_x = setup(&run, ro);
    /* curl's meter: not with -s, not while the body goes to a terminal;
     * and only onto a terminal (never into a pipe or a log file, where
     * its carriage returns are noise) */
    bool to_tty = false;
    for (size_t i = 0; i < run.n; i++)
        to_tty |= !run.f[i].output && !run.f[i].remote_name && isatty(fileno(out)) == 1;
    run.meter = !o->silent && !o->no_meter && !to_tty && !run.setup_x &&
                (isatty(fileno(err)) == 1 || getenv("EMBER_FETCH_METER_ANYWAY"));
    if (run.meter) {
        em_timer_init(loop, &run.tick, on_tick);
        em_timer_start(&run.tick, 1000, 1000);
        if (o->parallel)
            parallel_head(err);
    }
    size_t width = o->parallel ? o->parallel_max : 1;
    while (run.ended < run.n) {
        while (run.next < run.n && run.running < width) {
            fetch *f = &run.f[run.next++];
            if (run.meter && !o->parallel && !o->bar) {
                meter_head(err);
                meter_line(err, 0, 0, 0, 0);
            }
            int x = launch(f);
            if (x)
                fetch_end(f, x);
        }
        if (run.ended == run.n)
            break;
        em_loop_run(loop, EM_RUN_ONCE);
        /* transfers before run.scan have all ended: look only from there,
         * so 20,000 URLs cost a window's worth per turn, not 20,000 */
        while (run.scan < run.next && run.f[run.scan].ended)
            run.scan++;
        for (size_t i = run.scan; i < run.next; i++)
            if (run.f[i].done && !run.f[i].ended) {
                run.running--;
                fetch_end(&run.f[i], FX_OK);
            }
    }
    if (run.meter) {
        em_timer_stop(&run.tick);
        if (o->parallel)
            meter_show(&run, true);
    }
    if (run.cl) {
        em_http_client_close(run.cl, client_closed, &run);
        while (!run.closed)
            em_loop_run(loop, EM_RUN_ONCE);
    }
    em_tls_ctx_free(run.tls);
    free(run.user);
    if (run.jar && o->cookie_jar && em_cookie_jar_save(run.jar, o->cookie_jar, (int64_t)time(NULL)))
        fprintf(err, "ember-fetch: warning: could not write cookies to %s\n", o->cookie_jar);
    em_cookie_jar_free(run.jar);
    if (run.dump && run.dump != out && fclose(run.dump) && !run.exit)
        run.exit = FX_WRITE;
    free(run.f);
    return run.exit;
}

#endif
