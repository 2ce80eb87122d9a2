/* The HTTP client's blocking face: one call, the whole response back.
 *   http_get URL */
#include <stdio.h>

#include "ember/http.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: http_get URL\n");
        return 2;
    }
    em_http_resp r;
    int rc = em_http_get(argv[1], &r); /* redirects followed, gzip undone */
    if (rc)
        fprintf(stderr, "http_get: %s: %s\n", em_strerror(rc), r.error);
    else
        printf("%d %s\n%.*s", r.status, r.url, (int)r.body.len, r.body.ptr);
    em_http_resp_free(&r);
    return rc ? 1 : 0;
}
