/* The stream interface: thin dispatch through the vtable, plus write_all. */
#include "ember/io.h"

EM_API ssize_t em_stream_read(em_stream *s, void *buf, size_t len) {
    if (!s || !s->vt || !s->vt->read)
        return EM_EINVAL;
    return s->vt->read(s, buf, len);
}

EM_API ssize_t em_stream_writev(em_stream *s, const struct iovec *iov, int iovcnt) {
    if (!s || !s->vt || !s->vt->writev || iovcnt < 0)
        return EM_EINVAL;
    return s->vt->writev(s, iov, iovcnt);
}

EM_API int em_stream_write_all(em_stream *s, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        struct iovec iov = {(void *)p, len};
        ssize_t n = em_stream_writev(s, &iov, 1);
        if (n == EM_EINTR)
            continue;
        if (n < 0)
            return (int)n;
        /* A stream that takes nothing and reports no error would spin. */
        if (n == 0 || (size_t)n > len)
            return EM_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

EM_API int em_stream_shutdown(em_stream *s) {
    if (!s || !s->vt)
        return EM_EINVAL;
    return s->vt->shutdown ? s->vt->shutdown(s) : EM_ENOTSUP;
}

EM_API int em_stream_close(em_stream *s) {
    if (!s || !s->vt)
        return EM_EINVAL;
    return s->vt->close ? s->vt->close(s) : 0;
}
