/* The scripted DNS server (fake_dns.h): a thread polling a UDP socket, a
 * TCP listener and its connections, with a queue of late UDP answers. */
#include "fake_dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 8
#define MAX_MSG   4096
#define MAX_NAMES 64

typedef struct late {
    uint64_t due;
    struct sockaddr_in to;
    size_t len;
    unsigned char msg[MAX_MSG];
} late;

typedef struct counter {
    char name[256];
    int qtype;
    unsigned n;
} counter;

struct fake_dns {
    const fake_dns_rule *rules;
    size_t nrules;
    int udp, tcp, wake[2];
    int conns[MAX_CONNS];
    char servers[32];
    pthread_t thread;
    pthread_mutex_t mu;
    counter counts[MAX_NAMES];
    unsigned tcp_queries;
    late *lates;
    size_t nlates, caplates;
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Exact names first, then "*.suffix" rules for any name under suffix. */
static const fake_dns_rule *find(const fake_dns *f, const char *name) {
    for (size_t i = 0; i < f->nrules; i++)
        if (strcasecmp(f->rules[i].name, name) == 0)
            return &f->rules[i];
    size_t n = strlen(name);
    for (size_t i = 0; i < f->nrules; i++) {
        const char *w = f->rules[i].name;
        size_t wl = strlen(w);
        if (w[0] == '*' && w[1] == '.' && n > wl - 1 && strcasecmp(name + n - (wl - 1), w + 1) == 0)
            return &f->rules[i];
    }
    return NULL;
}

static void count(fake_dns *f, const char *name, int qtype, bool tcp) {
    pthread_mutex_lock(&f->mu);
    if (tcp)
        f->tcp_queries++;
    for (int i = 0; i < MAX_NAMES; i++) {
        counter *c = &f->counts[i];
        if (c->name[0] == '\0') {
            snprintf(c->name, sizeof c->name, "%s", name);
            c->qtype = qtype;
        }
        if (c->qtype == qtype && strcasecmp(c->name, name) == 0) {
            c->n++;
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
}

/* ---- messages ---------------------------------------------------------- */

typedef struct out {
    unsigned char *p;
    size_t len, cap;
    bool overflow;
} out;

static void put(out *o, const void *src, size_t n) {
    if (o->len + n > o->cap) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, src, n);
    o->len += n;
}
static void put16(out *o, unsigned v) {
    unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };
    put(o, b, 2);
}
static void put32(out *o, uint32_t v) {
    put16(o, v >> 16);
    put16(o, v & 0xffff);
}
static void put_name(out *o, const char *name) {
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t)(dot - name) : strlen(name);
        unsigned char len = (unsigned char)n;
        put(o, &len, 1);
        put(o, name, n);
        name += n + (dot ? 1 : 0);
    }
    unsigned char zero = 0;
    put(o, &zero, 1);
}

static void put_addrs(out *o, const char *owner, const char *list, int qtype, uint32_t ttl,
                      unsigned *ancount) {
    if (!list)
        return;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned char bytes[16];
        int af = qtype == 1 ? AF_INET : AF_INET6;
        if (inet_pton(af, t, bytes) != 1)
            continue;
        put_name(o, owner);
        put16(o, (unsigned)qtype);
        put16(o, 1);
        put32(o, ttl);
        put16(o, qtype == 1 ? 4 : 16);
        put(o, bytes, qtype == 1 ? 4 : 16);
        ++*ancount;
    }
}

/* Parse the question: 0 with name and qtype, or -1. */
static int parse_query(const unsigned char *q, size_t len, char *name, int *qtype,
                       size_t *qend) {
    if (len < 12 || ((q[4] << 8) | q[5]) != 1)
        return -1;
    size_t i = 12, n = 0;
    while (i < len && q[i]) {
        size_t l = q[i++];
        if (l > 63 || i + l > len || n + l + 2 > 255)
            return -1;
        if (n)
            name[n++] = '.';
        memcpy(name + n, q + i, l);
        n += l;
        i += l;
    }
    name[n] = '\0';
    if (i + 5 > len)
        return -1;
    *qtype = (q[i + 1] << 8) | q[i + 2];
    *qend = i + 5;
    return 0;
}

/* Build the answer into o; returns the delay in ms, or -1 for silence. */
static int answer(fake_dns *f, const unsigned char *q, size_t len, bool tcp, out *o) {
    char name[256];
    int qtype;
    size_t qend;
    if (parse_query(q, len, name, &qtype, &qend) != 0)
        return -1;
    count(f, name, qtype, tcp);
    const fake_dns_rule *r = find(f, name);
    if (r && r->silent)
        return -1;
    int rcode = r ? r->rcode : 3;
    unsigned ancount = 0;
    o->len = 12;
    put(o, q + 12, qend - 12);
    if (rcode == 0) {
        const fake_dns_rule *cur = r;
        const char *owner = name; /* a wildcard rule answers for the asked name */
        for (int hops = 0; cur && cur->cname && hops < 16; hops++) {
            put_name(o, owner);
            put16(o, 5);
            put16(o, 1);
            put32(o, cur->ttl ? cur->ttl : 300);
            out rd = { o->p + o->len + 2, 0, o->cap > o->len + 2 ? o->cap - o->len - 2 : 0, false };
            put_name(&rd, cur->cname);
            put16(o, (unsigned)rd.len);
            o->len += rd.len;
            ancount++;
            owner = cur->cname;
            cur = find(f, cur->cname);
        }
        if (cur && qtype == 1)
            put_addrs(o, owner, cur->a, 1, cur->ttl ? cur->ttl : 300, &ancount);
        if (cur && qtype == 28)
            put_addrs(o, owner, cur->aaaa, 28, cur->ttl ? cur->ttl : 300, &ancount);
    }
    bool truncate = !tcp && ((r && r->tc) || o->len > 512 || o->overflow);
    if (truncate) { /* RFC 1035 §4.2.1: TC set, retry over TCP */
        o->len = qend;
        memcpy(o->p + 12, q + 12, qend - 12);
        ancount = 0;
    }
    unsigned char *h = o->p;
    h[0] = q[0];
    h[1] = q[1];
    h[2] = (unsigned char)(0x80 | 0x04 | (truncate ? 0x02 : 0) | (q[2] & 0x01)); /* QR AA TC RD */
    h[3] = (unsigned char)(0x80 | (rcode & 0x0f));                               /* RA rcode */
    h[4] = 0, h[5] = 1;
    h[6] = (unsigned char)(ancount >> 8), h[7] = (unsigned char)ancount;
    memset(h + 8, 0, 4);
    if (!r || tcp)
        return 0;
    return (int)(qtype == 1 ? r->a_delay_ms : qtype == 28 ? r->aaaa_delay_ms : 0);
}

/* ---- the thread ---------------------------------------------------------- */

static void on_udp(fake_dns *f) {
    unsigned char q[MAX_MSG], a[MAX_MSG];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n;
    while ((n = recvfrom(f->udp, q, sizeof q, MSG_DONTWAIT, (struct sockaddr *)&from, &flen)) >
           0) {
        out o = { a, 0, sizeof a, false };
        int delay = answer(f, q, (size_t)n, false, &o);
        flen = sizeof from;
        if (delay < 0)
            continue;
        if (delay == 0) {
            sendto(f->udp, a, o.len, 0, (struct sockaddr *)&from, sizeof from);
            continue;
        }
        if (f->nlates == f->caplates) {
            size_t cap = f->caplates ? f->caplates * 2 : 16;
            late *v = realloc(f->lates, cap * sizeof *v);
            if (!v)
                continue;
            f->lates = v;
            f->caplates = cap;
        }
        late *l = &f->lates[f->nlates++];
        l->due = now_ms() + (uint64_t)delay;
        l->to = from;
        l->len = o.len;
        memcpy(l->msg, a, o.len);
    }
}

static void send_lates(fake_dns *f) {
    uint64_t now = now_ms();
    for (size_t i = 0; i < f->nlates;) {
        late *l = &f->lates[i];
        if (l->due > now) {
            i++;
            continue;
        }
        sendto(f->udp, l->msg, l->len, 0, (struct sockaddr *)&l->to, sizeof l->to);
        f->lates[i] = f->lates[--f->nlates];
    }
}

static int next_wait(fake_dns *f) {
    if (!f->nlates)
        return -1;
    uint64_t now = now_ms(), due = UINT64_MAX;
    for (size_t i = 0; i < f->nlates; i++)
        if (f->lates[i].due < due)
            due = f->lates[i].due;
    return due <= now ? 0 : (int)(due - now);
}

static bool read_full(int fd, unsigned char *p, size_t n) {
    while (n) {
        ssize_t got = recv(fd, p, n, 0);
        if (got <= 0)
            return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

/* One length-prefixed query (RFC 1035 §4.2.2); false closes the conn. */
static bool on_tcp_conn(fake_dns *f, int fd) {
    unsigned char lenb[2], q[MAX_MSG], a[MAX_MSG + 2];
    if (!read_full(fd, lenb, 2))
        return false;
    size_t len = (size_t)(lenb[0] << 8 | lenb[1]);
    if (len > sizeof q || !read_full(fd, q, len))
        return false;
    out o = { a + 2, 0, MAX_MSG, false };
    if (answer(f, q, len, true, &o) < 0)
        return true;
    a[0] = (unsigned char)(o.len >> 8);
    a[1] = (unsigned char)o.len;
    return send(fd, a, o.len + 2, MSG_NOSIGNAL) == (ssize_t)(o.len + 2);
}

static void *serve(void *arg) {
    fake_dns *f = arg;
    for (;;) {
        struct pollfd p[3 + MAX_CONNS];
        p[0] = (struct pollfd){ .fd = f->wake[0], .events = POLLIN };
        p[1] = (struct pollfd){ .fd = f->udp, .events = POLLIN };
        p[2] = (struct pollfd){ .fd = f->tcp, .events = POLLIN };
        for (int i = 0; i < MAX_CONNS; i++)
            p[3 + i] = (struct pollfd){ .fd = f->conns[i], .events = POLLIN };
        if (poll(p, 3 + MAX_CONNS, next_wait(f)) < 0)
            continue;
        if (p[0].revents)
            break;
        if (p[1].revents)
            on_udp(f);
        if (p[2].revents) {
            int c = accept(f->tcp, NULL, NULL);
            for (int i = 0; c >= 0 && i < MAX_CONNS; i++)
                if (f->conns[i] < 0) {
                    f->conns[i] = c;
                    c = -1;
                }
            if (c >= 0)
                close(c);
        }
        for (int i = 0; i < MAX_CONNS; i++)
            if (f->conns[i] >= 0 && p[3 + i].revents && !on_tcp_conn(f, f->conns[i])) {
                close(f->conns[i]);
                f->conns[i] = -1;
            }
        send_lates(f);
    }
    return NULL;
}

/* UDP and TCP on the same ephemeral port: c-ares uses one port for both. */
static int bind_pair(fake_dns *f) {
    for (int attempt = 0; attempt < 50; attempt++) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        socklen_t len = sizeof sa;
        int big = 4 << 20;
        setsockopt(u, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        if (u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&sa, sizeof sa) == 0 &&
            getsockname(u, (struct sockaddr *)&sa, &len) == 0 &&
            bind(t, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(t, 16) == 0) {
            f->udp = u;
            f->tcp = t;
            snprintf(f->servers, sizeof f->servers, "127.0.0.1:%u", ntohs(sa.sin_port));
            return 0;
        }
        if (u >= 0)
            close(u);
        if (t >= 0)
            close(t);
    }
    return -1;
}

fake_dns *fake_dns_start(const fake_dns_rule *rules, size_t n) {
    fake_dns *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->rules = rules;
    f->nrules = n;
    for (int i = 0; i < MAX_CONNS; i++)
        f->conns[i] = -1;
    pthread_mutex_init(&f->mu, NULL);
    if (bind_pair(f) != 0 || pipe(f->wake) != 0 ||
        pthread_create(&f->thread, NULL, serve, f) != 0) {
        free(f);
        return NULL;
    }
    return f;
}

const char *fake_dns_servers(const fake_dns *f) { return f->servers; }

unsigned fake_dns_queries(fake_dns *f, const char *name, int qtype) {
    unsigned n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < MAX_NAMES && f->counts[i].name[0]; i++)
        if ((!name || strcasecmp(f->counts[i].name, name) == 0) &&
            (!qtype || f->counts[i].qtype == qtype))
            n += f->counts[i].n;
    pthread_mutex_unlock(&f->mu);
    return n;
}

unsigned fake_dns_tcp_queries(fake_dns *f) {
    pthread_mutex_lock(&f->mu);
    unsigned n = f->tcp_queries;
    pthread_mutex_unlock(&f->mu);
    return n;
}

void fake_dns_stop(fake_dns *f) {
    if (!f)
        return;
    if (write(f->wake[1], "x", 1) != 1)
        return;
    pthread_join(f->thread, NULL);
    close(f->wake[0]);
    close(f->wake[1]);
    close(f->udp);
    close(f->tcp);
    for (int i = 0; i < MAX_CONNS; i++)
        if (f->conns[i] >= 0)
            close(f->conns[i]);
    pthread_mutex_destroy(&f->mu);
    free(f->lates);
    free(f);
}
