/* em_url_resolve: RFC 3986 §5.2.2, the strict algorithm (a ref with a
 * scheme is taken as it is, even "http:g"), with §5.2.3 merge; the
 * dot-segment removal of §5.2.4 happens in em__url_build for every path. */
#include "url_internal.h"

#include <stdlib.h>
#include <string.h>

EM_API int em_url_resolve(em_url *out, const em_url *base, em_slice ref) {
    em_url t;
    em__url_parts r, p;
    char *auth = NULL, *merged = NULL;
    int rc = EM_EINVAL;
    if (!base || !base->_buf || !base->scheme || !base->host || !base->path)
        goto done;
    if ((rc = em__url_split(ref, &r)))
        goto done;
    if (r.has_scheme) {
        p = r;
    } else {
        p = (em__url_parts){.scheme = em_slice_from_cstr(base->scheme), .has_scheme = true};
        if (r.has_authority) {
            p.authority = r.authority;
            p.has_authority = true;
            p.path = r.path;
            p.query = r.query;
            p.has_query = r.has_query;
        } else {
            /* base's authority, as text: em__url_build checks it again */
            size_t cap = (base->userinfo ? strlen(base->userinfo) + 1 : 0) + strlen(base->host) + 8;
            rc = EM_ENOMEM;
            if (!(auth = malloc(cap)))
                goto done;
            ssize_t n = em__url_put_authority(base, true, auth, cap);
            rc = EM_EINVAL;
            if (n < 0)
                goto done;
            p.authority = em_slice_make(auth, (size_t)n);
            p.has_authority = true;
            if (r.path.len == 0) {
                p.path = em_slice_from_cstr(base->path);
                if (r.has_query) {
                    p.query = r.query;
                    p.has_query = true;
                } else if (base->query) {
                    p.query = em_slice_from_cstr(base->query);
                    p.has_query = true;
                }
            } else {
                if (r.path.ptr[0] == '/') {
                    p.path = r.path;
                } else {
                    /* §5.2.3: base has an authority and a path ("/" at
                     * least), so: base's path up to its last '/', then ref's */
                    size_t keep = (size_t)(strrchr(base->path, '/') - base->path) + 1;
                    rc = EM_ENOMEM;
                    if (!(merged = malloc(keep + r.path.len)))
                        goto done;
                    memcpy(merged, base->path, keep);
                    memcpy(merged + keep, r.path.ptr, r.path.len);
                    p.path = em_slice_make(merged, keep + r.path.len);
                }
                p.query = r.query;
                p.has_query = r.has_query;
            }
        }
    }
    rc = em__url_build(&t, &p);
    if (rc == 0) {
        if (out == base)
            em_url_free(out);
        *out = t;
    }
done:
    if (rc && out != base)
        memset(out, 0, sizeof *out);
    free(auth);
    free(merged);
    return rc;
}
