/* The BIO between an SSL and ember buffers (one for both directions, a
 * BIO less per connection): SSL reads ciphertext the engine received into
 * bufs->in and writes ciphertext into bufs->out for the engine to send. OpenSSL never sees the socket, and the engine
 * receives straight into the buffer SSL reads from (no memory BIO copy). */
#include "tls_internal.h"

static int in_read(BIO *bio, char *dst, int len) {
    em__tls_bufs *b = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    size_t have = em_buf_len(&b->in);
    if (have == 0) {
        if (b->eof)
            return 0;
        BIO_set_retry_read(bio);
        return -1;
    }
    size_t n = have < (size_t)len ? have : (size_t)len;
    memcpy(dst, em_buf_data(&b->in), n);
    em_buf_consume(&b->in, n);
    return (int)n;
}

static int out_write(BIO *bio, const char *src, int len) {
    em__tls_bufs *b = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (len <= 0)
        return 0;
    return em_buf_append(&b->out, src, (size_t)len) == 0 ? len : -1;
}

static long ctrl(BIO *bio, int cmd, long num, void *ptr) {
    em__tls_bufs *b = BIO_get_data(bio);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING: /* on the read BIO: ciphertext SSL may take */
        return b ? (long)em_buf_len(&b->in) : 0;
    case BIO_CTRL_WPENDING:
        return b ? (long)em_buf_len(&b->out) : 0;
    case BIO_CTRL_EOF:
        return b && b->eof && em_buf_len(&b->in) == 0;
    default:
        return 0;
    }
}

static int create(BIO *bio) {
    BIO_set_init(bio, 1);
    return 1;
}

BIO_METHOD *em__tls_bio_method(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ember");
    if (!m)
        return NULL;
    BIO_meth_set_read(m, in_read);
    BIO_meth_set_write(m, out_write);
    BIO_meth_set_ctrl(m, ctrl);
    BIO_meth_set_create(m, create);
    return m;
}

int em__tls_bio_attach(SSL *ssl, BIO_METHOD *m, em__tls_bufs *b) {
    BIO *bio = BIO_new(m);
    if (!bio)
        return EM_ENOMEM;
    BIO_set_data(bio, b);
    SSL_set_bio(ssl, bio, bio); /* one BIO both ways: the SSL owns its one reference */
    return 0;
}
