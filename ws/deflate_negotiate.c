/* permessage-deflate negotiation (RFC 7692 §5, §7.1) over the
 * Sec-WebSocket-Extensions grammar of RFC 6455 §9.1:
 *
 *   extension-list = 1#extension
 *   extension      = token *( ";" extension-param )
 *   extension-param = token [ "=" ( token | quoted-string ) ]
 *
 * with optional whitespace around the separators and empty list elements
 * skipped (RFC 9110 §5.6.1). A syntax error anywhere fails the whole
 * header (server: 400; client: EM_EPROTO). A permessage-deflate element
 * whose parameters are wrong (unknown, repeated, a value where none
 * belongs, a window size outside 8..15 or with leading zeros) is only
 * declined by a server, which then tries the next offer. Nothing here
 * allocates. */
#include <stdio.h>
#include <string.h>

#include "ws_conn_internal.h"

/* ---- the header grammar --------------------------------------------------- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static bool is_tchar(unsigned char c) {
    /* RFC 9110 §5.6.2 */
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void skip_ows(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static bool token(cursor *c, em_slice *out) {
    const char *s = c->p;
    while (c->p < c->end && is_tchar((unsigned char)*c->p))
        c->p++;
    *out = em_slice_make(s, (size_t)(c->p - s));
    return c->p > s;
}

/* A quoted-string: *out is what lies between the quotes, escapes kept. */
static bool quoted(cursor *c, em_slice *out) {
    const char *s = ++c->p; /* past the opening quote */
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            *out = em_slice_make(s, (size_t)(c->p - s));
            c->p++;
            return true;
        }
        if (ch == '\\') {
            /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            if (++c->p == c->end)
                return false;
            ch = (unsigned char)*c->p;
            if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
                return false;
        } else if (ch != '\t' && (ch < 0x20 || ch == 0x7f)) {
            return false;
        }
        c->p++;
    }
    return false;
}

typedef struct param {
    em_slice name, value;
    bool has_value, is_quoted;
} param;

/* Next extension element's name: 1, 0 at the end of the list, EM_EPARSE. */
static int next_extension(cursor *c, em_slice *name) {
    for (;;) {
        skip_ows(c);
        if (c->p == c->end)
            return 0;
        if (*c->p != ',')
            break;
        c->p++; /* an empty element */
    }
    return token(c, name) ? 1 : EM_EPARSE;
}

/* Next parameter of the current element: 1, 0 at the element's end (the
 * "," consumed), EM_EPARSE. */
static int next_param(cursor *c, param *pm) {
    skip_ows(c);
    if (c->p == c->end)
        return 0;
    if (*c->p == ',') {
        c->p++;
        return 0;
    }
    if (*c->p != ';')
        return EM_EPARSE;
    c->p++;
    skip_ows(c);
    memset(pm, 0, sizeof *pm);
    if (!token(c, &pm->name))
        return EM_EPARSE;
    skip_ows(c);
    if (c->p < c->end && *c->p == '=') {
        c->p++;
        skip_ows(c);
        pm->has_value = true;
        if (c->p < c->end && *c->p == '"') {
            pm->is_quoted = true;
            if (!quoted(c, &pm->value))
                return EM_EPARSE;
        } else if (!token(c, &pm->value)) {
            return EM_EPARSE;
        }
    }
    return 1;
}

/* A window size value: 8..15 in decimal with no leading zero, token or
 * quoted (RFC 6455 §9.1: the unescaped quoted value must be a token).
 * Returns the bits or -1. */
static int window_bits(const param *pm) {
    char d[3];
    size_t n = 0;
    for (size_t i = 0; i < pm->value.len; i++) {
        char ch = pm->value.ptr[i];
        if (ch == '\\' && pm->is_quoted)
            ch = pm->value.ptr[++i]; /* quoted() saw a byte after every '\' */
        if (n == sizeof d)
            return -1;
        d[n++] = ch;
    }
    if (n == 1 && (d[0] == '8' || d[0] == '9'))
        return d[0] - '0';
    if (n == 2 && d[0] == '1' && d[1] >= '0' && d[1] <= '5')
        return 10 + d[1] - '0';
    return -1;
}

/* ---- permessage-deflate parameters ---------------------------------------- */

#define NO_VALUE 0 /* client_max_window_bits given without a value */
#define ABSENT   (-1)

/* One element's parameters as written. */
typedef struct pmd_spec {
    bool snct, cnct; /* server_/client_no_context_takeover */
    int smwb, cmwb;  /* ABSENT, NO_VALUE (cmwb only) or 8..15 */
} pmd_spec;

static bool name_is(em_slice s, const char *lit) {
    return em_slice_eq_nocase(s, em_slice_from_cstr(lit));
}

/* Reads the rest of one element (all of it: the syntax is checked even
 * after a bad parameter). Returns 1 (valid parameters), 0 (the element is
 * well-formed but its parameters are not acceptable), EM_EPARSE. */
static int read_spec(cursor *c, pmd_spec *s) {
    s->snct = s->cnct = false;
    s->smwb = s->cmwb = ABSENT;
    bool ok = true;
    param pm;
    int rc;
    while ((rc = next_param(c, &pm)) == 1) {
        if (name_is(pm.name, "server_no_context_takeover")) {
            ok = ok && !s->snct && !pm.has_value;
            s->snct = true;
        } else if (name_is(pm.name, "client_no_context_takeover")) {
            ok = ok && !s->cnct && !pm.has_value;
            s->cnct = true;
        } else if (name_is(pm.name, "server_max_window_bits")) {
            int b = pm.has_value ? window_bits(&pm) : -1;
            ok = ok && s->smwb == ABSENT && b > 0;
            s->smwb = b;
        } else if (name_is(pm.name, "client_max_window_bits")) {
            int b = pm.has_value ? window_bits(&pm) : NO_VALUE;
            ok = ok && s->cmwb == ABSENT && b >= 0;
            s->cmwb = b;
        } else {
            ok = false; /* RFC 7692 §7.1: unknown parameter: decline */
        }
    }
    return rc < 0 ? rc : ok;
}

static bool is_pmd(em_slice name) {
    return name_is(name, "permessage-deflate");
}

/* A window size setting: 0 means 15; else 8..15. */
static int opt_bits(uint8_t v) {
    return v == 0 ? 15 : (v >= 8 && v <= 15 ? v : -1);
}

static int min_int(int a, int b) {
    return a < b ? a : b;
}

/* Writes "permessage-deflate" and the parameters given (a window size
 * ABSENT is left out; cmwb NO_VALUE is written bare), NUL-terminated. */
static ssize_t write_ext(char *buf, size_t cap, bool snct, bool cnct, int smwb, int cmwb) {
    char s[48] = "", cm[48] = ""; /* room for any int: no truncation warning */
    if (smwb > 0)
        snprintf(s, sizeof s, "; server_max_window_bits=%d", smwb);
    if (cmwb > 0)
        snprintf(cm, sizeof cm, "; client_max_window_bits=%d", cmwb);
    else if (cmwb == NO_VALUE)
        snprintf(cm, sizeof cm, "; client_max_window_bits");
    int n =
        snprintf(buf, cap, "permessage-deflate%s%s%s%s", snct ? "; server_no_context_takeover" : "",
                 cnct ? "; client_no_context_takeover" : "", s, cm);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            buf[0] = '\0';
        return EM_ENOBUFS;
    }
    return n;
}

/* ---- client: the offer ---------------------------------------------------- */

ssize_t em__ws_pmd_offer(const em_ws_deflate_opts *o, char *buf, size_t cap) {
    int sb = opt_bits(o->server_max_window_bits), cb = opt_bits(o->client_max_window_bits);
    if (sb < 0 || cb < 0)
        return EM_EINVAL;
    if (!o->enable) {
        if (!cap)
            return EM_ENOBUFS;
        buf[0] = '\0';
        return 0;
    }
    /* client_max_window_bits always: with no value it lets the server
     * shrink our window (its inflater's memory); with one, it promises. */
    return write_ext(buf, cap, o->server_no_context_takeover, o->client_no_context_takeover,
                     sb < 15 ? sb : ABSENT, cb < 15 ? cb : NO_VALUE);
}

/* ---- server: pick an offer and answer ------------------------------------- */

int em__ws_pmd_negotiate(em_slice offers, const em_ws_deflate_opts *o, em__ws_pmd_params *out,
                         char *resp, size_t cap) {
    if (!o->enable)
        return 0;
    int own_s = opt_bits(o->server_max_window_bits), own_c = opt_bits(o->client_max_window_bits);
    if (own_s < 0 || own_c < 0)
        return EM_EINVAL;
    cursor c = {offers.ptr, offers.ptr + offers.len};
    em_slice name;
    int rc;
    bool found = false;
    pmd_spec pick = {0};
    while ((rc = next_extension(&c, &name)) == 1) {
        if (!is_pmd(name)) {
            param pm;
            while ((rc = next_param(&c, &pm)) == 1)
                ;
            if (rc < 0)
                return rc;
            continue;
        }
        pmd_spec s;
        rc = read_spec(&c, &s);
        if (rc < 0)
            return rc;
        if (rc == 1 && !found) {
            pick = s;
            found = true;
        }
        /* Later elements are still read: a malformed header is a 400 even
         * after an acceptable offer. */
    }
    if (rc < 0)
        return rc;
    if (!found)
        return 0;

    em__ws_pmd_params p;
    /* §7.1.1.1: a requested server_no_context_takeover must be answered;
     * the server may add it on its own. §7.1.1.2: likewise the client's
     * (echoing the client's hint lets our inflater hold no state). */
    p.server_no_context_takeover = pick.snct || o->server_no_context_takeover;
    p.client_no_context_takeover = pick.cnct || o->client_no_context_takeover;
    /* §7.1.2.1: at most what the client asked; the server may send it
     * unasked to shrink its own window. */
    int sb = pick.smwb > 0 ? min_int(pick.smwb, own_s) : own_s;
    p.server_max_window_bits = (uint8_t)sb;
    bool send_sb = pick.smwb > 0 || sb < 15;
    /* §7.1.2.2: only if the client offered the parameter; with no value
     * it takes our choice, with one it already promised that much. */
    int cb = 15;
    bool send_cb = false;
    if (pick.cmwb != ABSENT) {
        cb = pick.cmwb > 0 ? min_int(pick.cmwb, own_c) : own_c;
        send_cb = cb < 15;
    }
    p.client_max_window_bits = (uint8_t)cb;
    ssize_t n = write_ext(resp, cap, p.server_no_context_takeover, p.client_no_context_takeover,
                          send_sb ? sb : ABSENT, send_cb ? cb : ABSENT);
    if (n < 0)
        return (int)n;
    *out = p;
    return 1;
}

/* ---- client: check the answer --------------------------------------------- */

int em__ws_pmd_accept(em_slice answer, const em_ws_deflate_opts *o, em__ws_pmd_params *out) {
    cursor c = {answer.ptr, answer.ptr + answer.len};
    em_slice name;
    int rc = next_extension(&c, &name);
    if (rc == 0)
        return 0; /* no extension (an empty or blank header) */
    if (rc < 0 || !o->enable || !is_pmd(name))
        return EM_EPROTO; /* RFC 6455 §9.1: only what was offered */
    int own_s = opt_bits(o->server_max_window_bits), own_c = opt_bits(o->client_max_window_bits);
    if (own_s < 0 || own_c < 0)
        return EM_EINVAL;
    pmd_spec s;
    rc = read_spec(&c, &s);
    if (rc != 1)
        return EM_EPROTO;
    if (next_extension(&c, &name) != 0)
        return EM_EPROTO; /* a second element: nothing else was offered */
    /* §7.1.2.2: the answer's client_max_window_bits carries a value, no
     * larger than ours; §7.1.2.1: server_max_window_bits answers ours. */
    if (s.cmwb == NO_VALUE || (s.cmwb > 0 && s.cmwb > own_c))
        return EM_EPROTO;
    if (own_s < 15 && (s.smwb == ABSENT || s.smwb > own_s))
        return EM_EPROTO;
    /* §7.1.1.1: a server accepting our request must confirm it. */
    if (o->server_no_context_takeover && !s.snct)
        return EM_EPROTO;
    em__ws_pmd_params p;
    p.server_no_context_takeover = s.snct;
    p.client_no_context_takeover = s.cnct || o->client_no_context_takeover;
    p.server_max_window_bits = (uint8_t)(s.smwb > 0 ? s.smwb : 15);
    p.client_max_window_bits = (uint8_t)(s.cmwb > 0 ? s.cmwb : own_c);
    *out = p;
    return 1;
}
