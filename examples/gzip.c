/* Content codings: compress and decompress in one call or in a stream, a
 * decompression bomb refused by the decoder's caps, and the server's
 * compression middleware answering a client that asks for gzip. Runs
 * offline (a server on 127.0.0.1, port chosen by the kernel).
 *
 *   gzip                   the tour above (also: gzip --selftest)
 *   gzip -c < in > out.gz  compress stdin to stdout (streaming)
 *   gzip -d < in.gz > out  decompress stdin to stdout (gzip or zlib or raw
 *                          deflate: "-d deflate"), capped at 1 GiB
 */
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "example.h"

static int to_stdout(void *arg, em_slice piece) {
    (void)arg;
    return fwrite(piece.ptr, 1, piece.len, stdout) == piece.len ? 0 : EM_EIO;
}

/* gzip -c / gzip -d: stdin to stdout through the streaming API. */
static int filter(bool decode, const char *coding) {
    em_http_encoder *e = NULL;
    em_http_decoder *d = NULL;
    int rc = decode ? em_http_decoder_new(&d, em_slice_from_cstr(coding), NULL)
                    : em_http_encoder_new(&e, EM_HTTP_CODING_GZIP, 6);
    char buf[65536];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof buf, stdin)) > 0)
        rc = decode ? em_http_decoder_feed(d, em_slice_make(buf, n), to_stdout, NULL)
                    : em_http_encoder_feed(e, em_slice_make(buf, n), to_stdout, NULL);
    if (!rc)
        rc = decode ? em_http_decoder_finish(d, to_stdout, NULL)
                    : em_http_encoder_finish(e, to_stdout, NULL);
    em_http_decoder_free(d);
    em_http_encoder_free(e);
    if (rc)
        fprintf(stderr, "gzip: %s\n", em_strerror(rc));
    return rc ? 1 : 0;
}

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "gzip: %s failed\n", what);                                            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static char page[20000];

static int one_shot(void) {
    em_buf z, back;
    em_buf_init(&z, 0);
    em_buf_init(&back, 0);
    int rc = em_http_compress(EM_HTTP_CODING_GZIP, 9, em_slice_make(page, sizeof page), &z);
    rc = rc ? rc : em_http_decompress(EM_SLICE_LIT("gzip"), em_buf_slice(&z), NULL, &back);
    CHECK(!rc && em_buf_len(&back) == sizeof page && !memcmp(em_buf_data(&back), page, sizeof page),
          "round trip");
    printf("one-shot: %zu bytes -> gzip %zu bytes -> %zu bytes\n", sizeof page, em_buf_len(&z),
           em_buf_len(&back));
    em_buf_free(&z);
    em_buf_free(&back);
    return 0;
}

static int count(void *arg, em_slice piece) {
    *(uint64_t *)arg += piece.len;
    return 0;
}

static int to_buf(void *arg, em_slice piece) {
    return em_buf_append(arg, piece.ptr, piece.len);
}

/* 64 MiB of zeros gzip to ~64 KB (1030:1). A decoder allowed 8 MiB in all
 * and 1000:1 (the default) past the first MiB stops at that MiB, its
 * memory flat (one 16 KiB window), and says EM_EBODYTOOLARGE. */
static int bomb(void) {
    static char zeros[1 << 20];
    em_http_encoder *e;
    em_buf z;
    em_buf_init(&z, 0);
    CHECK(em_http_encoder_new(&e, EM_HTTP_CODING_GZIP, 9) == 0, "encoder");
    int rc = 0;
    for (int i = 0; i < 64 && !rc; i++) /* streamed: never 64 MiB in memory */
        rc = em_http_encoder_feed(e, em_slice_make(zeros, sizeof zeros), to_buf, &z);
    rc = rc ? rc : em_http_encoder_finish(e, to_buf, &z);
    em_http_encoder_free(e);
    CHECK(rc == 0, "bomb encoding");
    em_http_decoder *d;
    em_http_decoder_opts caps = {.max_out = 8 << 20};
    uint64_t got = 0;
    CHECK(em_http_decoder_new(&d, EM_SLICE_LIT("gzip"), &caps) == 0, "decoder");
    rc = em_http_decoder_feed(d, em_buf_slice(&z), count, &got);
    printf("bomb: %zu bytes of gzip stopped after %llu decoded bytes: %s\n", em_buf_len(&z),
           (unsigned long long)got, em_err_name(rc));
    em_http_decoder_free(d);
    em_buf_free(&z);
    CHECK(rc == EM_EBODYTOOLARGE && got < caps.max_out, "the caps");
    return 0;
}

/* ---- the middleware ------------------------------------------------------ */

static void hello(em_http_ctx *cx) {
    em_http_respond(cx, 200, EM_SLICE_LIT("text/html"), em_slice_make(page, sizeof page));
}

static void page_handler(em_http_ctx *cx, const em_http_handler *h) {
    (void)h;
    hello(cx);
}

/* GET / from a plain socket, running the server's loop meanwhile. */
static int fetch(em_loop *loop, const em_sockaddr *addr, em_buf *resp) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, &addr->u.sa, em_sockaddr_len(addr)) != 0)
        return 1;
    static const char req[] = "GET / HTTP/1.1\r\nHost: example\r\n"
                              "Accept-Encoding: br;q=1, gzip;q=0.8, deflate;q=0.5\r\n"
                              "Connection: close\r\n\r\n";
    if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
        return 1;
    for (int rounds = 0; rounds < 5000; rounds++) { /* ~5 s at most */
        em_loop_run(loop, EM_RUN_NOWAIT);
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 1) <= 0)
            continue;
        char buf[16384];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        if (em_buf_append(resp, buf, (size_t)n))
            return 1;
    }
    close(fd);
    return 0;
}

static int middleware(void) {
    static const em_http_handler inner = {page_handler, NULL, NULL};
    static const em_http_gzip_opts opts = {.min_size = 512, .level = 6};
    em_http_handler gz;
    em_http_gzip(&gz, &inner, &opts); /* opts borrowed: static */
    em_loop loop;
    em_http_server srv;
    CHECK(em_loop_init(&loop) == 0, "loop");
    em_http_server_opts so = {.handler = &gz};
    em_sockaddr any = em_sockaddr_loopback4(0), addr;
    CHECK(em_http_server_start(&loop, &srv, &any, &so) == 0, "server");
    CHECK(em_http_server_addr(&srv, &addr) == 0, "address");
    em_buf resp, body;
    em_buf_init(&resp, 1 << 20);
    em_buf_init(&body, 1 << 20);
    int rc = fetch(&loop, &addr, &resp);
    em_http_header h[32];
    em_http_response r = {.headers = h, .max_headers = 32};
    em_http_parser p;
    em_http_parser_init(&p, NULL);
    ssize_t head =
        rc ? -1
           : em_http_parse_response(&p, em_buf_data(&resp), em_buf_len(&resp), EM_HTTP_GET, &r);
    const em_http_header *ce =
        head > 0 ? em_http_header_find(h, r.num_headers, EM_SLICE_LIT("Content-Encoding")) : NULL;
    if (ce && em_buf_len(&resp) == (size_t)head + r.content_length)
        rc = em_http_decompress(
            ce->value, em_slice_sub(em_buf_slice(&resp), (size_t)head, SIZE_MAX), NULL, &body);
    else
        rc = 1;
    if (!rc)
        printf("middleware: %d, Content-Encoding: %.*s, %llu bytes on the wire, %zu decoded\n",
               r.status, (int)ce->value.len, ce->value.ptr, (unsigned long long)r.content_length,
               em_buf_len(&body));
    bool same =
        !rc && em_buf_len(&body) == sizeof page && !memcmp(em_buf_data(&body), page, sizeof page);
    em_buf_free(&resp);
    em_buf_free(&body);
    em_http_server_shutdown(&srv, NULL);
    em_loop_run(&loop, EM_RUN_DEFAULT); /* until the server has closed */
    CHECK(em_loop_close(&loop) == 0, "loop close");
    CHECK(same, "the middleware's answer");
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "-c"))
        return filter(false, NULL);
    if (argc >= 2 && !strcmp(argv[1], "-d"))
        return filter(true, argc >= 3 ? argv[2] : "gzip");
    if (argc >= 2 && strcmp(argv[1], "--selftest")) {
        fprintf(stderr, "usage: gzip [--selftest | -c | -d [coding]]\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof page; i++)
        page[i] = "<p>ember gzip example</p>\n"[i % 26];
    return one_shot() || bomb() || middleware() ? 1 : 0;
}
