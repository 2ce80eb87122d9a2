/* Talks to echo_server with ember's own blocking TCP stream, response
 * parser and body reader: a plain GET, two pipelined requests in one
 * write, a chunked upload (echoed chunked), and a 404. Prints what came
 * back; exits 1 on any surprise.
 *
 *   echo_client HOST:PORT */
#include <stdio.h>
#include <string.h>

#include "ember.h"

typedef struct reply {
    int status;
    char body[256];
    size_t body_len;
} reply;

/* Read one response from r, its body framed any way. */
static int read_reply(em_reader *r, reply *out) {
    char head[4096];
    size_t used = 0;
    for (;;) {
        em_slice line;
        ssize_t n = em_reader_read_until(r, '\n', 4096, &line);
        if (n < 0)
            return (int)n;
        if (used + line.len > sizeof head)
            return EM_ELIMIT;
        memcpy(head + used, line.ptr, line.len);
        used += line.len;
        if (line.len == 2 && line.ptr[0] == '\r')
            break;
    }
    em_http_header hdrs[32];
    em_http_response resp = { .headers = hdrs, .max_headers = 32 };
    em_http_parser p;
    em_http_parser_init(&p, NULL);
    ssize_t n = em_http_parse_response(&p, head, used, EM_HTTP_GET, &resp);
    if (n < 0)
        return (int)n;
    out->status = resp.status;
    out->body_len = 0;
    /* The body reader takes exactly the body, so the next pipelined
     * response stays in r: feed it a byte at a time (r buffers). */
    em_http_body_reader br;
    em_http_body_reader_init(&br, resp.body, resp.content_length, NULL);
    char raw[64];
    size_t have = 0;
    while (!em_http_body_reader_done(&br)) {
        if (em_reader_read(r, raw + have, 1) != 1)
            return em_http_body_reader_eof(&br);
        have++;
        em_slice piece;
        ssize_t took = em_http_body_reader_read(&br, raw, have, &piece);
        if (took == EM_EAGAIN && have < sizeof raw)
            continue;
        if (took < 0)
            return took == EM_EAGAIN ? EM_ELIMIT : (int)took;
        if (out->body_len + piece.len >= sizeof out->body)
            return EM_ELIMIT;
        memcpy(out->body + out->body_len, piece.ptr, piece.len);
        out->body_len += piece.len;
        memmove(raw, raw + took, have - (size_t)took);
        have -= (size_t)took;
    }
    out->body[out->body_len] = 0;
    return 0;
}

static int expect(em_reader *r, const char *what, int status, const char *body) {
    reply rep;
    int rc = read_reply(r, &rep);
    if (rc) {
        fprintf(stderr, "%s: %s\n", what, em_strerror(rc));
        return 1;
    }
    size_t shown = rep.body_len;
    while (shown && rep.body[shown - 1] == '\n') /* one line per reply */
        shown--;
    printf("%-22s -> %d %.*s\n", what, rep.status, (int)shown, rep.body);
    if (rep.status != status || (body && strcmp(rep.body, body) != 0)) {
        fprintf(stderr, "%s: expected %d %s\n", what, status, body ? body : "");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    em_sockaddr addr;
    if (argc < 2 || em_sockaddr_parse(&addr, argv[1], strlen(argv[1])) != 0) {
        fprintf(stderr, "usage: echo_client HOST:PORT\n");
        return 2;
    }
    em_tcp_stream s;
    int rc = em_tcp_connect(&s, &addr, 5000);
    if (rc) {
        fprintf(stderr, "connect: %s\n", em_strerror(rc));
        return 1;
    }
    (void)em_tcp_stream_set_timeouts(&s, 5000, 5000);
    em_reader r;
    em_reader_init(&r, em_tcp_stream_as_stream(&s), 0);
    static const char plain[] = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char pipelined[] = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
                                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    static const char chunked[] = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "6\r\nember \r\n9\r\nis lit 2x\r\n0\r\n\r\n";
    static const char missing[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    int bad = 0;
    bad |= em_tcp_stream_write(&s, plain, sizeof plain - 1) != 0;
    bad |= expect(&r, "GET /plaintext", 200, "Hello, World!");
    bad |= em_tcp_stream_write(&s, pipelined, sizeof pipelined - 1) != 0;
    bad |= expect(&r, "pipelined GET", 200, "Hello, World!");
    bad |= expect(&r, "pipelined POST /echo", 200, "hello");
    bad |= em_tcp_stream_write(&s, chunked, sizeof chunked - 1) != 0;
    bad |= expect(&r, "chunked POST /echo", 200, "ember is lit 2x");
    bad |= em_tcp_stream_write(&s, missing, sizeof missing - 1) != 0;
    bad |= expect(&r, "GET /nope", 404, NULL);
    em_reader_free(&r);
    em_tcp_stream_close(&s);
    return bad ? 1 : 0;
}
