/* A verified TLS connection on the loop, and one raw HTTP/1.1 request.
 *
 *   tls_client [--cacert FILE] [--insecure] [--servername NAME] [--timeout MS]
 *              HOST:PORT [PATH]
 *
 * HOST is a name, an IPv4 address or [an IPv6 address]. The connection is
 * made by name (Happy Eyeballs), then TLS is attached and the handshake
 * run; the peer's chain is verified against the system store (or --cacert)
 * and its name against --servername, else HOST. Then "GET PATH" goes out
 * with Connection: close and everything the server sends is copied to
 * stdout until it closes. After the handshake one line goes to stderr:
 *   tls_client: TLSv1.3 TLS_AES_256_GCM_SHA384 alpn=http/1.1 resumed=0
 * (alpn=none when the server picked no protocol).
 * Exit 0 on success; 2 when the certificate or the host name was refused
 * ("tls_client: certificate refused: REASON"); 1 on any other error
 * ("tls_client: WHAT FAILED: ERROR") or a usage error.
 */
#include <signal.h>

#include "example.h"

static const char usage[] =
    "usage: tls_client [--cacert FILE] [--insecure] [--servername NAME] [--timeout MS] "
    "HOST:PORT [PATH]";

typedef struct client {
    em_loop loop;
    em_dns_resolver resolver;
    em_tcp_conn conn;
    em_timer deadline;
    em_tls_ctx *tls;
    const char *authority; /* HOST:PORT as given: the Host header */
    const char *path;
    const char *servername;
    int exit_code;
    bool finished;
} client;

/* End the run with exit code code: close the connection (cancelling a
 * connect still in flight) and the resolver; the loop then runs dry. */
static void finish(client *cl, int code) {
    if (cl->finished)
        return;
    cl->finished = true;
    cl->exit_code = code;
    em_timer_stop(&cl->deadline);
    em_tcp_conn_close(&cl->conn, NULL);
    em_dns_resolver_close(&cl->resolver, NULL);
}

static void fail(client *cl, const char *what, int err) {
    if (!cl->finished)
        fprintf(stderr, "tls_client: %s: %s\n", what, em_strerror(err));
    finish(cl, 1);
}

static void on_deadline(em_timer *t) { fail(t->data, "timeout", EM_ETIMEDOUT); }

static void on_read(em_tcp_conn *c, ssize_t nread) {
    client *cl = EM_CONTAINER_OF(c, client, conn);
    if (nread == EM_EOF) { /* the server closed: the whole answer is out */
        fflush(stdout);
        finish(cl, 0);
    } else if (nread < 0) {
        fail(cl, "read", (int)nread);
    } else {
        fwrite(em_buf_data(&c->in), 1, em_buf_len(&c->in), stdout);
        em_buf_consume(&c->in, em_buf_len(&c->in));
    }
}

static const em_tcp_conn_cbs conn_cbs = { .on_read = on_read };

static void on_handshake(em_tcp_conn *c, int status) {
    client *cl = EM_CONTAINER_OF(c, client, conn);
    if (status == EM_ECERTVERIFY) {
        fprintf(stderr, "tls_client: certificate refused: %s\n", em_tls_conn_error(c));
        finish(cl, 2);
        return;
    }
    if (status) {
        fail(cl, "handshake", status);
        return;
    }
    em_tls_info info;
    if (em_tls_conn_info(c, &info) == 0)
        fprintf(stderr, "tls_client: %s %s alpn=%s resumed=%d\n",
                info.version == EM_TLS_V1_3 ? "TLSv1.3" : "TLSv1.2", info.cipher,
                info.alpn[0] ? info.alpn : "none", info.resumed ? 1 : 0);

    char head[2048];
    int len = snprintf(head, sizeof head,
                       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ember-tls-client\r\n"
                       "Connection: close\r\n\r\n",
                       cl->path, cl->authority);
    if (len < 0 || (size_t)len >= sizeof head) {
        fail(cl, "request", EM_EINVAL);
        return;
    }
    em_slice req = em_slice_make(head, (size_t)len);
    int rc = em_tcp_conn_write(c, &req, 1, EM_TCP_WRITE_COPY, NULL);
    if (rc == 0)
        rc = em_tcp_conn_read_start(c);
    if (rc)
        fail(cl, "write", rc);
}

static void on_connected(em_tcp_conn *c, int status) {
    client *cl = EM_CONTAINER_OF(c, client, conn);
    if (status) {
        fail(cl, "connect", status);
        return;
    }
    int rc = em_tls_attach(c, cl->tls, cl->servername);
    if (rc == 0)
        rc = em_tls_handshake(c, &conn_cbs, on_handshake);
    if (rc)
        fail(cl, "tls", rc);
}

/* Split "host:port", "1.2.3.4:port" or "[v6]:port" into host (copied into
 * buf, no brackets) and port. Returns false if it is none of these. */
static bool split_authority(const char *s, char *buf, size_t cap, uint16_t *port) {
    const char *colon;
    size_t len;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return false;
        colon = end + 1;
        s++;
        len = (size_t)(end - s);
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        len = (size_t)(colon - s);
        if (memchr(s, ':', len)) /* an IPv6 address wants brackets */
            return false;
    }
    char *end;
    unsigned long n = strtoul(colon + 1, &end, 10);
    if (len == 0 || len >= cap || colon[1] < '0' || colon[1] > '9' || *end || n == 0 ||
        n > 65535)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *port = (uint16_t)n;
    return true;
}

static int usage_error(void) {
    fprintf(stderr, "%s\n", usage);
    return 1;
}

int main(int argc, char **argv) {
    client cl = { .path = "/" };
    em_tls_ctx_opts tls_opts = { .alpn = "http/1.1" };
    unsigned long timeout_ms = 30000;
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            printf("%s\n", usage);
            return 0;
        } else if (!strcmp(a, "--insecure")) {
            tls_opts.insecure = true;
        } else if (!v) {
            return usage_error();
        } else if (!strcmp(a, "--cacert")) {
            tls_opts.ca_file = argv[++i];
        } else if (!strcmp(a, "--servername")) {
            cl.servername = argv[++i];
        } else if (!strcmp(a, "--timeout")) {
            char *end;
            timeout_ms = strtoul(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || timeout_ms == 0 || timeout_ms > 3600000)
                return usage_error();
            i++;
        } else {
            return usage_error();
        }
    }
    char host[EM_DNS_NAME_MAX + 2];
    uint16_t port;
    if (argc - i < 1 || argc - i > 2 || !split_authority(argv[i], host, sizeof host, &port))
        return usage_error();
    cl.authority = argv[i];
    if (argc - i == 2)
        cl.path = argv[i + 1];
    if (!cl.servername)
        cl.servername = host;
    signal(SIGPIPE, SIG_IGN);

    int rc = em_tls_ctx_new(&cl.tls, EM_TLS_CLIENT, &tls_opts);
    if (rc) {
        char why[256];
        fprintf(stderr, "tls_client: tls setup: %s (%s)\n", em_strerror(rc),
                em_tls_last_error(why, sizeof why));
        return 1;
    }
    if ((rc = em_loop_init(&cl.loop)) != 0) {
        fprintf(stderr, "tls_client: loop: %s\n", em_strerror(rc));
        em_tls_ctx_free(cl.tls);
        return 1;
    }
    if ((rc = em_dns_resolver_init(&cl.loop, &cl.resolver, NULL)) != 0) {
        fprintf(stderr, "tls_client: resolver: %s\n", em_strerror(rc));
        cl.exit_code = 1;
    } else {
        em_timer_init(&cl.loop, &cl.deadline, on_deadline);
        cl.deadline.data = &cl;
        em_timer_start(&cl.deadline, timeout_ms, 0);
        /* The TCP connection first (by name or literal); TLS on top of it
         * once connected (on_connected). */
        em_tcp_connect_opts copts = { .cbs = &conn_cbs, .timeout_ms = (unsigned)timeout_ms };
        rc = em_tcp_conn_connect_host(&cl.loop, &cl.conn, &cl.resolver, host, port, &copts,
                                      on_connected);
        if (rc) {
            fprintf(stderr, "tls_client: connect: %s\n", em_strerror(rc));
            cl.finished = true; /* nothing was started: no close */
            cl.exit_code = 1;
            em_timer_stop(&cl.deadline);
            em_dns_resolver_close(&cl.resolver, NULL);
        }
        em_loop_run(&cl.loop, EM_RUN_DEFAULT);
    }
    if (em_loop_close(&cl.loop) != 0 && cl.exit_code == 0) {
        fprintf(stderr, "tls_client: loop: %s\n", em_strerror(EM_EBUSY));
        cl.exit_code = 1;
    }
    em_tls_ctx_free(cl.tls);
    return cl.exit_code;
}
