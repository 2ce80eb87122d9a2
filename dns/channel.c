/* c-ares on the loop: ARES_OPT_SOCK_STATE_CB gives each c-ares socket an
 * em_io watcher, one em_timer is re-armed from ares_timeout() after every
 * call into c-ares, and ares_process_fd runs on readiness and on expiry. */
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

struct em__dns_sock {
    em_io io;
    em_dns_resolver *r;
    struct em__dns_sock *next;
};

uint64_t em__dns_now(const em_dns_resolver *r) {
    return r->_clock ? r->_clock(r->_clock_arg) : em_loop_now(r->_loop);
}

void em__dns_channel_rearm(em_dns_resolver *r) {
    struct timeval tv, *next = ares_timeout(r->_channel, NULL, &tv);
    if (!next) {
        em_timer_stop(&r->_timer);
        return;
    }
    uint64_t ms = (uint64_t)next->tv_sec * 1000 + ((uint64_t)next->tv_usec + 999) / 1000;
    em_timer_start(&r->_timer, ms, 0);
}

static void on_sock(em_io *w, unsigned events) {
    struct em__dns_sock *s = w->data;
    em_dns_resolver *r = s->r;
    unsigned want = em_io_events(w);
    ares_socket_t fd = w->fd;
    /* A hang-up or an error is read (or written) to let c-ares see it. */
    bool rd = (want & EM_IO_READ) && (events & (EM_IO_READ | EM_IO_HUP | EM_IO_ERROR));
    bool wr = (want & EM_IO_WRITE) && (events & (EM_IO_WRITE | EM_IO_ERROR));
    /* s may be freed inside: c-ares closes sockets through sock_state. */
    ares_process_fd(r->_channel, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
    em__dns_channel_rearm(r);
}

static void on_timer(em_timer *t) {
    em_dns_resolver *r = EM_CONTAINER_OF(t, em_dns_resolver, _timer);
    ares_process_fd(r->_channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    em__dns_channel_rearm(r);
}

/* Called by c-ares (never calls back into it): watch fd for what it asks,
 * or forget it (c-ares closes the fd right after). */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable) {
    em_dns_resolver *r = data;
    struct em__dns_sock **p = &r->_socks;
    while (*p && (*p)->io.fd != fd)
        p = &(*p)->next;
    struct em__dns_sock *s = *p;
    if (!readable && !writable) {
        if (s) {
            em_io_stop(&s->io);
            *p = s->next;
            free(s);
        }
        return;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return; /* the query then times out */
        em_io_init(r->_loop, &s->io, fd, on_sock);
        s->io.data = s;
        s->r = r;
        s->next = r->_socks;
        r->_socks = s;
    }
    unsigned ev = (readable ? EM_IO_READ : 0u) | (writable ? EM_IO_WRITE : 0u);
    if (em_io_start(&s->io, ev) != 0) {
        /* epoll_ctl on a live fd fails only for lack of memory; the
         * query then times out. */
    }
}

int em__dns_channel_open(em_dns_resolver *r, const em_dns_resolver_opts *o) {
    struct ares_options ao;
    memset(&ao, 0, sizeof ao);
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
    ao.sock_state_cb = sock_state;
    ao.sock_state_cb_data = r;
    ao.lookups = (char *)"b"; /* DNS only: hosts.c reads the hosts file */
    /* Room for the answers of many lookups started together: the kernel
     * drops UDP answers a full socket cannot take, and each drop costs a
     * whole retry timeout (1,000 concurrent lookups are 2,000 answers). */
    mask |= ARES_OPT_SOCK_RCVBUF;
    ao.socket_receive_buffer_size = 1 << 20;
    if (o->timeout_ms) {
        mask |= ARES_OPT_TIMEOUTMS;
        ao.timeout = (int)o->timeout_ms;
    }
    if (o->tries) {
        mask |= ARES_OPT_TRIES;
        ao.tries = (int)o->tries;
    }
    if (o->resolv_conf) {
        mask |= ARES_OPT_RESOLVCONF;
        ao.resolvconf_path = (char *)o->resolv_conf;
    }
    if (o->no_search) {
        /* ares_getaddrinfo (1.18) ignores ARES_FLAG_NOSEARCH: an empty
         * search list is what really turns it off. */
        mask |= ARES_OPT_FLAGS | ARES_OPT_DOMAINS | ARES_OPT_NDOTS;
        ao.flags = ARES_FLAG_NOSEARCH;
        ao.ndomains = 0;
        ao.ndots = 1;
    }
    ares_channel ch;
    int st = ares_init_options(&ch, &ao, mask);
    if (st != ARES_SUCCESS)
        return st == ARES_ENOMEM ? EM_ENOMEM : EM_EIO;
    /* Explicit ports here: c-ares 1.18's ARES_OPT_UDP_PORT is host byte
     * order despite its man page, so ports never go through it. */
    if (o->servers) {
        st = ares_set_servers_ports_csv(ch, o->servers);
        if (st != ARES_SUCCESS) {
            ares_destroy(ch);
            return st == ARES_ENOMEM ? EM_ENOMEM : EM_EINVAL;
        }
    }
    r->_channel = ch;
    em_timer_init(r->_loop, &r->_timer, on_timer);
    return 0;
}

void em__dns_channel_destroy(em_dns_resolver *r) {
    if (r->_channel)
        ares_destroy(r->_channel); /* closes its sockets: sock_state frees watchers */
    r->_channel = NULL;
    em_timer_stop(&r->_timer);
    while (r->_socks) { /* none left unless c-ares skipped a callback */
        struct em__dns_sock *s = r->_socks;
        r->_socks = s->next;
        em_io_stop(&s->io);
        free(s);
    }
}
