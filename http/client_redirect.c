/* Where a redirect leads and what the request keeps on the way (RFC 9110
 * §15.4). Credentials never cross to another origin: the client's own
 * Authorization follows the origin it was given for (client_call.c), and
 * fields set by hand that carry credentials are dropped here. */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

bool em__http_redirect_status(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static bool credential_field(em_slice name) {
    /* Host too: the caller's virtual host names the first origin (curl) */
    return em_slice_eq_nocase(name, EM_SLICE_LIT("host")) ||
           em_slice_eq_nocase(name, EM_SLICE_LIT("authorization")) ||
           em_slice_eq_nocase(name, EM_SLICE_LIT("cookie")) ||
           em_slice_eq_nocase(name, EM_SLICE_LIT("proxy-authorization"));
}

/* RFC 9110 §15.4 step 5: fields that describe the content a GET no longer
 * carries (Content-Type, Content-Language, ...; Digest, Last-Modified). */
static bool content_field(em_slice name) {
    return (name.len > 8 &&
            em_slice_eq_nocase(em_slice_sub(name, 0, 8), EM_SLICE_LIT("content-"))) ||
           em_slice_eq_nocase(name, EM_SLICE_LIT("digest")) ||
           em_slice_eq_nocase(name, EM_SLICE_LIT("last-modified"));
}

static void drop_fields(em_http_call *call, bool (*which)(em_slice name)) {
    size_t kept = 0;
    for (size_t i = 0; i < call->num_headers; i++) {
        em_http_header h = call->headers[i];
        if (which(h.name)) {
            free((void *)h.name.ptr);
            free((void *)h.value.ptr);
        } else {
            call->headers[kept++] = h;
        }
    }
    call->num_headers = kept;
}

static void drop_body(em_http_call *call) {
    free((void *)call->body.ptr);
    call->body = (em_slice){0};
    free(call->content_type);
    call->content_type = NULL;
}

static int become(em_http_call *call, const char *method, em_http_method id) {
    const char *known = em__http_method_static(id, method);
    char *m = known ? (char *)known : strdup(method);
    if (!m)
        return EM_ENOMEM;
    if (call->method_owned)
        free(call->method);
    call->method = m;
    call->method_owned = !known;
    call->method_id = id;
    drop_body(call);
    drop_fields(call, content_field);
    return 0;
}

int em__http_redirect_apply(em_http_call *call) {
    if (call->redirects_left-- <= 0) {
        em__http_call_why(call, "more than the allowed redirects");
        return EM_ETOOMANYREDIRECTS;
    }
    call->nredirects++;
    em_url next;
    int rc = em_url_resolve(&next, &call->url, em_slice_from_cstr(call->location));
    em__url_parts p;
    if (rc && !em__url_split(em_slice_from_cstr(call->location), &p) && p.has_scheme &&
        !em_slice_eq_nocase(p.scheme, EM_SLICE_LIT("http")) &&
        !em_slice_eq_nocase(p.scheme, EM_SLICE_LIT("https"))) {
        /* a URL, of a scheme the client does not speak ("ftp://x/"): as
         * curl, an unsupported protocol rather than a malformed URL */
        em__http_call_why(call, "redirect to a %.*s URL", (int)p.scheme.len, p.scheme.ptr);
        return EM_EUNSAFEREDIRECT;
    }
    if (rc) {
        em__http_call_why(call, "redirect to a malformed Location: %.100s", call->location);
        return EM_EINVAL;
    }
    if (strcmp(next.scheme, "http") && strcmp(next.scheme, "https")) {
        em__http_call_why(call, "redirect to a %s URL", next.scheme);
        em_url_free(&next);
        return EM_EUNSAFEREDIRECT;
    }
    if (em_url_is_tls(&call->url) && !em_url_is_tls(&next) && !call->allow_insecure_redirect) {
        em__http_call_why(call, "redirect from https to http refused");
        em_url_free(&next);
        return EM_EUNSAFEREDIRECT;
    }
    int st = call->redirect_status;
    if (((st == 301 || st == 302) && call->method_id == EM_HTTP_POST) ||
        (st == 303 && call->method_id != EM_HTTP_HEAD && call->method_id != EM_HTTP_GET))
        rc = become(call, "GET", EM_HTTP_GET);
    if (!rc && !em_url_same_origin(&call->url, &next))
        drop_fields(call, credential_field);
    /* RFC 9110 §10.2.2: no fragment in Location inherits the old one */
    rc = rc ? rc : em__http_call_fragment(call, call->location);
    em_url_free(&call->url);
    call->url = next;
    call->url_bufcap = 0; /* next's buffer: not one the call keeps */
    free(call->location);
    call->location = NULL;
    return rc ? rc : em__http_call_url_changed(call);
}
