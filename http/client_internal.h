/* The HTTP client's insides, in layers:
 *   client_call.c      a call's memory, its request head, its end (lowest)
 *   client_connect.c   one pooled connection's connect (Happy Eyeballs,
 *                      CONNECT tunnel, TLS) and reuse check
 *   client_conn.c      the calls on it: send, read the response; both
 *                      report up through em__http_client_up
 *   client_redirect.c  where a redirect leads and what it keeps (pure)
 *   client_pool.c      origins, queues, reuse, retries, deadlines
 *   client.c           the public face on the loop
 *   client_blocking.c  the blocking face over it
 * Shared by those files; not installed. */
#ifndef EMBER_HTTP_CLIENT_INTERNAL_H
#define EMBER_HTTP_CLIENT_INTERNAL_H

#include <pthread.h>

#include "conn_internal.h"
#include "url_internal.h"
#include "ember/http/client.h"
#include "ember/http/url.h"

/* Field lines a response may have at most, whatever em_http_limits says:
 * each costs a slot of 32 bytes in every connection. */
#define EM__CLIENT_MAX_HEADERS_CAP 10000

struct em__http_cconn;
struct em__http_origin;

/* What a connection reports to the pool (client_pool.c), so the layers
 * below never call up by name. */
typedef struct em__http_client_up {
    /* c is connected and ready for a call, or done with one and reusable. */
    void (*conn_ready)(struct em__http_cconn *c);
    /* c is closing: forget it (its call, if any, was already reported). */
    void (*conn_gone)(struct em__http_cconn *c, int err);
    /* call ended on c with err (0: the response is complete); retry: the
     * connection died before any response byte and a fresh one may try
     * again; redirect: a followable redirect whose body was skipped. */
    void (*call_ended)(em_http_call *call, int err, bool retry, bool redirect);
} em__http_client_up;

struct em_http_client {
    em_loop *loop;
    em_http_client_opts o;
    em_http_limits limits;
    em_dns_resolver *resolver;
    em_dns_resolver *own_resolver; /* made by the client */
    const em_tls_ctx *tls;
    em_tls_ctx *own_tls;           /* made at the first https request */
    struct em__http_env env;       /* the connection core's: up, timeouts */
    const em__http_client_up *up;
    struct em__http_origin *origins;
    struct em__http_cconn *conns;  /* every connection */
    em_url proxy_http, proxy_https;  /* client_proxy.c */
    bool has_proxy_http, has_proxy_https;
    char *refused_http, *refused_https; /* from the environment, not http:// */
    char *no_proxy;
    unsigned nconns;
    unsigned live_calls;
    bool closing;
    em_task close_task;
    void (*close_cb)(void *arg);
    void *close_arg;
    /* Ended calls kept for the next requests with their buffers (the head,
     * the formatted URL), so a warm request allocates less. Any thread
     * makes calls (the agent), so a lock guards the list. */
    pthread_mutex_t free_mu;
    struct em_http_call *free_calls;
    unsigned nfree;
};

/* How an origin's connections reach it. */
enum {
    ORIGIN_DIRECT = 0, /* to host:port */
    ORIGIN_ABSOLUTE,   /* http through a proxy: host:port is the proxy's, and
                          requests carry absolute URLs */
    ORIGIN_TUNNEL      /* https, or an upgrade, through a proxy: TCP to
                          connect_host, then CONNECT host:port, then (https)
                          TLS with host */
};

/* Connections and waiting calls of one scheme + host + port (+ the way
 * there). */
typedef struct em__http_origin {
    struct em__http_origin *next;
    em_http_client *cl;
    char *host;
    uint16_t port;
    bool tls;
    uint8_t mode;                  /* ORIGIN_* */
    char *connect_host;            /* where TCP goes (the proxy, or host) */
    uint16_t connect_port;
    char *proxy_auth;              /* "Basic ..." for the proxy, or NULL */
    unsigned nconns;               /* connecting, busy and idle */
    unsigned nconnecting;
    struct em__http_cconn *idle;   /* most recently used first */
    unsigned nidle;
    em_http_call *queue, *queue_tail;
} em__http_origin;

enum { CC_CONNECTING = 0, CC_IDLE, CC_BUSY, CC_CLOSED };

typedef struct em__http_cconn {
    em_http_conn hc;               /* the connection core; embeds the tcp conn */
    em_http_client *cl;
    em__http_origin *origin;
    em_http_call *call;            /* the call in progress */
    struct em__http_cconn *idle_next, *idle_prev;
    struct em__http_cconn *all_next, *all_prev; /* the client's list */
    uint32_t uses;                 /* calls started on it */
    uint8_t state;
    bool got_byte;                 /* a response byte arrived for the call */
    bool head_done;
    bool swallow;                  /* a redirect's body: read, not delivered */
    bool close_after;              /* no reuse once this call ends */
    bool eof;                      /* the server ended its side */
    bool awaiting_100;             /* the body waits for "100 Continue" */
    bool retry_now;                /* the call's failure is to be retried */
    em_http_decoder *dec;          /* the body's content codings, being undone */
    em_http_parser parser;
    em_http_response resp;
    em_http_body_reader body;
    char err[160];                 /* a connect failure's reason */
    em_http_header hdrs[];         /* resp's field slots: the limit's count */
} em__http_cconn;

struct em_http_call {
    em_http_client *cl;
    const em_http_client_cbs *cbs;
    void *data;
    em_url url;
    char *urlstr;                  /* url formatted (no userinfo), then "#" fragment */
    size_t urlcap;                 /* bytes urlstr can hold */
    size_t url_len;                /* urlstr's length before the fragment */
    char *fragment;                /* percent-encoded, without '#'; NULL: none */
    size_t url_bufcap;             /* bytes url._buf holds; 0: not ours to keep */
    char *spare_url;               /* a kept call's old url._buf, for the next parse */
    size_t spare_url_cap;
    char *method;                  /* a name in a static table, or copied (method_owned) */
    bool method_owned;
    em_http_method method_id;
    em_http_header *headers;       /* the user's fields, copied */
    size_t num_headers;
    char *content_type;
    em_slice body;                 /* copied */
    char *auth;                    /* "Basic ..." / "Bearer ...", or NULL */
    em_url auth_origin;            /* the only origin auth goes to */
    em_buf head;                   /* the serialized request head */
    em__http_origin *origin;       /* queued on it, or running there */
    em__http_cconn *conn;
    em_http_call *qnext;
    em_timer deadline;
    em_task done_task;
    em_task post_task;             /* the agent: started from another thread */
    int redirects_left;
    unsigned nredirects;           /* redirects followed so far */
    unsigned nconnects;            /* new connections it was sent on */
    bool follow;                   /* redirects are followed (max_redirects > 0) */
    bool expect;                   /* send "Expect: 100-continue" */
    bool expect_refused;           /* a 417 came: go again without it */
    bool decompress;               /* ask for and undo gzip/deflate */
    unsigned timeout_ms;           /* the whole call; 0: none */
    uint64_t max_body;             /* this call's own cap, below the client's; 0: none */
    bool allow_insecure_redirect;
    bool retried;
    bool fresh_only;               /* a retry or an upgrade: not on a reused connection */
    char *upgrade;                 /* the Upgrade protocol asked for, or NULL */
    /* a streamed body (em_http_req.stream_body) */
    bool stream;
    bool stream_open;              /* the head went out: writes go to the connection */
    bool stream_ended;             /* em_http_call_write_end ran */
    bool stream_full;              /* a write said EM_HTTP_FULL: on_writable is due */
    int64_t stream_len;            /* body_length: -1 chunked */
    uint64_t stream_sent;
    em_task write_task;            /* the first on_writable, from the loop */
    bool queued;
    bool ended;                    /* done or cancelled: no more callbacks */
    bool paused;
    bool cancelled;                /* em_http_call_cancel ran: free at depth 0 */
    bool in_done;                  /* on_done is running */
    int depth;                     /* frames inside its callbacks */
    int done_err;
    char *location;                /* a followable redirect's target */
    int redirect_status;
    int last_status;               /* the latest final head's (em_http_call_status) */
    char err[160];
};

/* ---- client.c ------------------------------------------------------------- */
/* Start a call made with em__http_call_new (loop thread). Returns 0, or
 * EM_ECLOSED / EM_ENOMEM with the call still the caller's. */
int em__http_client_start(em_http_client *cl, em_http_call *call);

/* ---- client_call.c -------------------------------------------------------- */
/* Copies req: touches nothing of cl but the pointer (any thread). */
int em__http_call_new(em_http_client *cl, const em_http_req *req, const em_http_client_cbs *cbs,
                      void *data, em_http_call **out);
/* call->url changed: format it again for em_http_call_url. */
int em__http_call_url_changed(em_http_call *call);
/* The fragment of the URL reference ref, if it has one, becomes call's
 * (none or a malformed one: the old one stays). 0 or EM_ENOMEM. */
int em__http_call_fragment(em_http_call *call, const char *ref);
/* Build call->head for its current URL and method. */
int em__http_call_build_head(em_http_call *call);
/* Say why it failed (printf-like); the first reason given sticks. */
void em__http_call_why(em_http_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* End the call: on_done(err) from the loop, then free. Idempotent. */
void em__http_call_finish(em_http_call *call, int err);
void em__http_call_free(em_http_call *call);
/* Free the calls a client keeps for reuse (when it is freed). */
void em__http_call_pool_free(em_http_client *cl);
bool em__http_method_idempotent(em_http_method m);
/* The static name of method id when m spells it exactly, else NULL. */
const char *em__http_method_static(em_http_method id, const char *m);
/* "Basic ..." from a URL's userinfo (percent-decoded), or NULL. */
char *em__http_userinfo_auth(const char *userinfo);

/* ---- client_connect.c ----------------------------------------------------- */
/* A new connection for origin o, connecting (reports conn_ready or
 * conn_gone). Returns 0 or em_err (nothing started). */
int em__http_cconn_open(em_http_client *cl, em__http_origin *o, em__http_cconn **out);
/* An idle connection looks usable: the server has not closed it and has
 * sent nothing since the last response. */
bool em__http_cconn_alive(em__http_cconn *c);
/* Field lines a response may have on cl's connections. */
size_t em__http_cconn_max_headers(const em_http_client *cl);
/* Ready c's parser and response for the next exchange. */
void em__http_cconn_reset(em__http_cconn *c);

/* ---- client_conn.c -------------------------------------------------------- */
/* Run call on the ready connection c. */
void em__http_cconn_start(em__http_cconn *c, em_http_call *call);
/* Close c now (its call, if any, is detached without a report). */
void em__http_cconn_close(em__http_cconn *c, int err);
/* Close c now and end its call, if any, with err. */
void em__http_cconn_abort(em__http_cconn *c, int err);
/* Reading for c's call on or off (pause, resume). */
void em__http_cconn_reading(em__http_cconn *c, bool on);
void em__http_cconn_idle(em__http_cconn *c);

/* ---- client_redirect.c ------------------------------------------------------ */
/* Turn call toward its redirect (call->location, call->redirect_status):
 * the new URL, method and body, credentials dropped across origins.
 * Returns 0, EM_ETOOMANYREDIRECTS, EM_EUNSAFEREDIRECT or EM_EINVAL. */
int em__http_redirect_apply(em_http_call *call);
bool em__http_redirect_status(int status);

/* ---- client_gather.c ------------------------------------------------------ */
#define EM__HTTP_BLOCKING_TIMEOUT_MS 300000u
#define EM__HTTP_BLOCKING_MAX_BODY ((uint64_t)256 << 20)
#define EM__HTTP_BLOCKING_REDIRECTS 20

/* A whole response being gathered into resp (call data for
 * em__http_gather_cbs). on_end (may be NULL) runs once it is done. */
typedef struct em__http_gather {
    em_http_resp *resp;
    char *body; /* grown by doubling; handed to resp at the end */
    size_t len, cap;
    int err;
    bool done;
    void (*on_end)(struct em__http_gather *g);
    void *arg; /* on_end's */
} em__http_gather;
extern const em_http_client_cbs em__http_gather_cbs;
/* The blocking face's defaults applied to r and o (limits: storage for
 * o->limits). */
void em__http_blocking_defaults(em_http_req *r, em_http_client_opts *o, em_http_limits *limits);
/* Hand the body to g->resp. Returns rc, or an error of its own. */
int em__http_gather_finish(em__http_gather *g, int rc);

/* ---- client_proxy.c ------------------------------------------------------- */
/* Read the client's proxy settings (or the environment). 0 or em_err. */
int em__http_proxy_setup(em_http_client *cl);
void em__http_proxy_free(em_http_client *cl);
/* The proxy for u, or NULL to go direct. */
const em_url *em__http_proxy_for(const em_http_client *cl, const em_url *u);
/* The proxy from the environment u would go through but the client cannot
 * speak to (not http://), or NULL. */
const char *em__http_proxy_refused(const em_http_client *cl, const em_url *u);
/* Whether host (a URL's host, IPv6 without brackets) is in the no_proxy
 * list, which then goes direct. */
bool em__http_no_proxy_match(const char *list, const char *host);

/* ---- client_pool.c -------------------------------------------------------- */
extern const em__http_client_up em__http_client_pool_up;
/* Start call: its deadline, then em__http_pool_submit. */
int em__http_pool_start(em_http_client *cl, em_http_call *call);
/* Queue call on its URL's origin and get it going (failures to connect
 * come through on_done). Returns 0 or EM_ENOMEM. */
int em__http_pool_submit(em_http_client *cl, em_http_call *call);
/* Take call out of the pool: off its queue, or off its connection (which
 * closes). */
void em__http_pool_detach(em_http_call *call);
/* Close idle connections and end queued calls (the client is closing;
 * busy connections are closed by the caller); the client is freed from
 * the loop once every connection and call is gone. */
void em__http_pool_shutdown(em_http_client *cl);

#endif
