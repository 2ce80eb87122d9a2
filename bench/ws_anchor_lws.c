/* The libwebsockets anchor of bench/ws.sh: a WebSocket echo server on one
 * lws service thread, answering the upgrade on any path and echoing every
 * message whole (text as text, binary as binary), in order. UTF-8 of text
 * messages is validated (LWS_SERVER_OPTION_VALIDATE_UTF8), as ember does.
 * --deflate accepts permessage-deflate offers (lws's pm_deflate extension,
 * with its defaults). Tuned as lws's docs advise for large messages: 64 KiB
 * receive and send buffers (the defaults, 4 KiB, split a 16 KiB echo into
 * four reads and four writes); each session reuses its last message buffer.
 * lws's own event loop (poll), as Debian builds it.
 *
 *   ws_anchor_lws PORT [--deflate]
 *
 * Prints "listening on 127.0.0.1:PORT"; SIGINT or SIGTERM stop it. Built
 * without ember (bench/CMakeLists.txt), only with Debian's
 * libwebsockets-dev. */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct msg {
    struct msg *next;
    size_t len, cap;
    int binary;
    unsigned char buf[]; /* LWS_PRE bytes lws may write its header into, then the payload */
} msg;

typedef struct session {
    msg *head, *tail; /* echoes waiting for a writable socket */
    msg *cur;         /* the message being received */
    msg *spare;       /* a sent message's buffer, kept for the next one */
} session;

static volatile sig_atomic_t interrupted;
static struct lws_context *context;

static void on_signal(int sig) {
    interrupted = 1;
    lws_cancel_service(context);
}

static int append(session *s, const void *in, size_t len) {
    if (s->cur->len + len > s->cur->cap) {
        size_t cap = s->cur->cap * 2;
        while (cap < s->cur->len + len)
            cap *= 2;
        msg *m = realloc(s->cur, sizeof *m + LWS_PRE + cap);
        if (!m)
            return -1;
        m->cap = cap;
        s->cur = m;
    }
    memcpy(s->cur->buf + LWS_PRE + s->cur->len, in, len);
    s->cur->len += len;
    return 0;
}

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len) {
    session *s = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(s, 0, sizeof *s);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (lws_is_first_fragment(wsi) || !s->cur) {
            if (!s->cur) { /* reuse the last buffer: no malloc per message */
                s->cur = s->spare;
                s->spare = NULL;
            }
            if (!s->cur || s->cur->cap < len) {
                size_t cap = len > 256 ? len : 256;
                free(s->cur);
                s->cur = malloc(sizeof *s->cur + LWS_PRE + cap);
                if (!s->cur)
                    return -1;
                s->cur->cap = cap;
            }
            s->cur->next = NULL;
            s->cur->len = 0;
            s->cur->binary = lws_frame_is_binary(wsi);
        }
        if (append(s, in, len) != 0)
            return -1;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            if (s->tail)
                s->tail->next = s->cur;
            else
                s->head = s->cur;
            s->tail = s->cur;
            s->cur = NULL;
            lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        msg *m = s->head;
        if (!m)
            return 0;
        /* one lws_write per writable callback: lws keeps what the socket
         * did not take and calls back once it is sent */
        int flags = lws_write_ws_flags(m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT, 1, 1);
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, (enum lws_write_protocol)flags);
        if (n < (int)m->len)
            return -1;
        s->head = m->next;
        if (!s->head)
            s->tail = NULL;
        if (!s->spare)
            s->spare = m;
        else
            free(m);
        if (s->head)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        while (s->head) {
            msg *m = s->head;
            s->head = m->next;
            free(m);
        }
        s->tail = NULL;
        free(s->cur);
        free(s->spare);
        s->cur = s->spare = NULL;
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    /* rx_buffer_size: a 16 KiB message arrives in one read */
    {"echo", callback_echo, sizeof(session), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_extension extensions[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_max_window_bits"},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) {
    if (argc < 2 || (argc == 3 && strcmp(argv[2], "--deflate") != 0) || argc > 3) {
        fprintf(stderr, "usage: ws_anchor_lws PORT [--deflate]\n");
        return 2;
    }
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = atoi(argv[1]);
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.pt_serv_buf_size = 65536; /* and goes out in one write (default 4096) */
    if (argc == 3)
        info.extensions = extensions;
    lws_set_log_level(LLL_ERR, NULL);
    context = lws_create_context(&info);
    if (!context) {
        fprintf(stderr, "ws_anchor_lws: lws_create_context failed\n");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("listening on 127.0.0.1:%d\n", info.port);
    fflush(stdout);
    while (!interrupted)
        if (lws_service(context, 0) < 0)
            break;
    lws_context_destroy(context);
    return 0;
}
