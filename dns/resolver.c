/* The resolver: settings, the hosts file and the cache around one c-ares
 * channel, and a close that cancels lookups before ares_destroy runs from
 * the loop (never inside a c-ares callback: c-ares frees what it is using). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

#define CACHE_SIZE    256
#define CACHE_MAX_TTL 3600
#define NEGATIVE_TTL  5

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status;

static void ares_lib_init(void) { ares_init_status = ares_library_init(ARES_LIB_INIT_ALL); }

static void release(em_dns_resolver *r) {
    em__dns_channel_destroy(r);
    em__dns_hosts_free(r->_hosts);
    em__dns_cache_free(r->_cache);
    r->_hosts = NULL;
    r->_cache = NULL;
}

int em_dns_resolver_init(em_loop *loop, em_dns_resolver *r, const em_dns_resolver_opts *opts) {
    static const em_dns_resolver_opts defaults = { 0 };
    const em_dns_resolver_opts *o = opts ? opts : &defaults;
    pthread_once(&ares_once, ares_lib_init);
    if (ares_init_status != ARES_SUCCESS)
        return EM_EIO;
    void *data = r->data;
    memset(r, 0, sizeof *r);
    r->data = data;
    r->_loop = loop;
    int rc = em__dns_hosts_load(&r->_hosts, o->hosts_file ? o->hosts_file : "/etc/hosts");
    if (rc == 0 && !o->no_cache) {
        r->_cache = em__dns_cache_new(o->cache_size ? o->cache_size : CACHE_SIZE,
                                      o->cache_max_ttl ? o->cache_max_ttl : CACHE_MAX_TTL,
                                      o->negative_ttl ? o->negative_ttl : NEGATIVE_TTL);
        if (!r->_cache)
            rc = EM_ENOMEM;
    }
    if (rc == 0)
        rc = em__dns_channel_open(r, o);
    if (rc)
        release(r);
    return rc;
}

static void destroy(em_task *t) {
    em_dns_resolver *r = t->data;
    if (r->_lookups) { /* an aborted lookup still has an answer to give */
        em_loop_defer(r->_loop, t);
        return;
    }
    release(r);
    if (r->_close_cb)
        r->_close_cb(r);
}

void em_dns_resolver_close(em_dns_resolver *r, em_dns_close_cb cb) {
    if (r->_closing)
        return;
    r->_closing = true;
    r->_close_cb = cb;
    em__dns_lookups_abort(r, EM_ECANCELED);
    r->_destroy.cb = destroy;
    r->_destroy.data = r;
    em_loop_defer(r->_loop, &r->_destroy);
}

void em__dns_resolver_set_clock(em_dns_resolver *r, uint64_t (*clock)(void *arg), void *arg) {
    r->_clock = clock;
    r->_clock_arg = arg;
}
