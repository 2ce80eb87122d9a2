/* The blocking TLS stream: the same engine as the loop transport, on a
 * blocking socket, where recv and send wait and EM_EAGAIN can only mean a
 * socket timeout (SO_RCVTIMEO/SO_SNDTIMEO) ran out. */
#include "tls_internal.h"

static int blocking(ssize_t r) {
    return r == EM_EAGAIN ? EM_ETIMEDOUT : (int)r;
}

static ssize_t vt_read(em_stream *s, void *buf, size_t len) {
    return em_tls_stream_read((em_tls_stream *)s, buf, len);
}

static ssize_t vt_writev(em_stream *st, const struct iovec *iov, int cnt) {
    em_tls_stream *s = (em_tls_stream *)st;
    if (!s->_eng)
        return EM_ECLOSED;
    ssize_t n = em__tls_eng_writev(s->_eng, s->tcp.fd, iov, cnt);
    if (n < 0)
        return blocking(n);
    int err = em__tls_eng_flush(s->_eng, s->tcp.fd); /* what send did not take yet */
    return err ? blocking(err) : n;
}

static int vt_shutdown(em_stream *s) {
    return em_tls_stream_shutdown((em_tls_stream *)s);
}

static int vt_close(em_stream *s) {
    return em_tls_stream_close((em_tls_stream *)s);
}

static const em_stream_vtable tls_stream_vt = {vt_read, vt_writev, vt_shutdown, vt_close};

EM_API int em_tls_stream_start(em_tls_stream *s, em_tcp_stream *tcp, const em_tls_ctx *ctx,
                               const char *server_name) {
    s->base.vt = &tls_stream_vt;
    s->tcp = *tcp;
    s->_eng = NULL;
    int err = em__tls_eng_new(&s->_eng, ctx, server_name);
    if (err)
        return err;
    return blocking(em__tls_eng_handshake(s->_eng, s->tcp.fd));
}

EM_API int em_tls_stream_connect(em_tls_stream *s, const em_sockaddr *addr, int timeout_ms,
                                 const em_tls_ctx *ctx, const char *server_name) {
    em_tcp_stream tcp;
    int err = em_tcp_connect(&tcp, addr, timeout_ms);
    if (err)
        return err;
    if (timeout_ms > 0)
        (void)em_tcp_stream_set_timeouts(&tcp, timeout_ms, timeout_ms);
    err = em_tls_stream_start(s, &tcp, ctx, server_name);
    if (err)
        em_tls_stream_close(s);
    return err;
}

EM_API ssize_t em_tls_stream_read(em_tls_stream *s, void *buf, size_t len) {
    if (!s->_eng)
        return EM_ECLOSED;
    if (len == 0)
        return 0;
    ssize_t n = em__tls_eng_read(s->_eng, s->tcp.fd, buf, len);
    return n == 0 ? EM_EOF : n < 0 ? blocking(n) : n;
}

EM_API int em_tls_stream_write(em_tls_stream *s, const void *buf, size_t len) {
    return em_stream_write_all(&s->base, buf, len);
}

EM_API int em_tls_stream_shutdown(em_tls_stream *s) {
    return s->_eng ? blocking(em__tls_eng_shutdown(s->_eng, s->tcp.fd)) : EM_ECLOSED;
}

EM_API int em_tls_stream_close(em_tls_stream *s) {
    if (s->_eng) /* a write cut short left an error or held bytes: no answer */
        em__tls_eng_answer_close(s->_eng, s->tcp.fd);
    em__tls_eng_free(s->_eng);
    s->_eng = NULL;
    return em_tcp_stream_close(&s->tcp);
}

EM_API int em_tls_stream_info(const em_tls_stream *s, em_tls_info *info) {
    if (!s->_eng || !info)
        return EM_EINVAL;
    em__tls_eng_info(s->_eng, info);
    return 0;
}

EM_API const char *em_tls_stream_error(const em_tls_stream *s) {
    return s->_eng && s->_eng->reason ? s->_eng->reason : "";
}
