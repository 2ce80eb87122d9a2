/* Contexts: one SSL_CTX per configuration (plus one per extra SNI
 * certificate), made once and shared by every connection and thread.
 * Loading CAs costs tens of milliseconds on OpenSSL 3, so nothing here runs
 * per connection; the client session cache is the one mutable part, under
 * a mutex. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

/* OpenSSL's default list minus what curl and nginx leave out too (TLS 1.3
 * suites are separate and all strong). */
#define CIPHERS "DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK"

/* "h2,http/1.1" -> the wire format (length-prefixed names). */
static int alpn_wire(const char *list, unsigned char *out, unsigned *out_len) {
    unsigned n = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len > 255 || n + 1 + len > 255)
            return EM_EINVAL;
        out[n++] = (unsigned char)len;
        memcpy(out + n, p, len);
        n += (unsigned)len;
        p += len + (end ? 1 : 0);
        if (end && !*p)
            return EM_EINVAL; /* a trailing comma */
    }
    *out_len = n;
    return 0;
}

static int use_cert(SSL_CTX *s, const em_tls_cert *c) {
    int ok;
    if (c->cert_pem.len) {
        BIO *b = BIO_new_mem_buf(c->cert_pem.ptr, (int)c->cert_pem.len);
        X509 *x = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
        ok = x && SSL_CTX_use_certificate(s, x) == 1;
        X509_free(x);
        while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            if (SSL_CTX_add0_chain_cert(s, x) != 1) {
                X509_free(x);
                ok = 0;
            }
        }
        BIO_free(b);
        if (ok)
            ERR_clear_error(); /* the end of the PEM text reads as an error */
    } else {
        ok = c->cert_file && SSL_CTX_use_certificate_chain_file(s, c->cert_file) == 1;
    }
    if (!ok)
        return EM_EPARSE;
    if (c->key_pem.len) {
        BIO *b = BIO_new_mem_buf(c->key_pem.ptr, (int)c->key_pem.len);
        EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        ok = k && SSL_CTX_use_PrivateKey(s, k) == 1;
        EVP_PKEY_free(k);
        BIO_free(b);
    } else {
        ok = c->key_file && SSL_CTX_use_PrivateKey_file(s, c->key_file, SSL_FILETYPE_PEM) == 1;
    }
    return ok && SSL_CTX_check_private_key(s) == 1 ? 0 : EM_EPARSE;
}

static bool has_cert(const em_tls_cert *c) {
    return c->cert_file || c->cert_pem.len;
}

static int load_cas(SSL_CTX *s, const em_tls_ctx_opts *o, em_tls_role role) {
    if (o->ca_file || o->ca_dir) {
        if (SSL_CTX_load_verify_locations(s, o->ca_file, o->ca_dir) != 1)
            return EM_EPARSE;
        if (role == EM_TLS_SERVER && o->ca_file) {
            /* The CA names a CertificateRequest lists. */
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_file);
            if (names)
                SSL_CTX_set_client_CA_list(s, names);
        }
    }
    if (o->ca_pem.len) {
        BIO *b = BIO_new_mem_buf(o->ca_pem.ptr, (int)o->ca_pem.len);
        X509_STORE *st = SSL_CTX_get_cert_store(s);
        X509 *x;
        int n = 0;
        while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            int ok = X509_STORE_add_cert(st, x);
            if (ok && role == EM_TLS_SERVER)
                ok = SSL_CTX_add_client_CA(s, x);
            X509_free(x);
            if (!ok) {
                BIO_free(b);
                return EM_EPARSE;
            }
            n++;
        }
        BIO_free(b);
        if (n == 0)
            return EM_EPARSE;
        ERR_clear_error();
    }
    if (role == EM_TLS_CLIENT && !o->ca_file && !o->ca_dir && !o->ca_pem.len &&
        SSL_CTX_set_default_verify_paths(s) != 1)
        return EM_EPARSE;
    return 0;
}

static SSL_CTX *base_ctx(em_tls_role role, const em_tls_ctx_opts *o) {
    SSL_CTX *s = SSL_CTX_new(role == EM_TLS_SERVER ? TLS_server_method() : TLS_client_method());
    if (!s)
        return NULL;
    unsigned min = o->min_version ? o->min_version : EM_TLS_V1_2;
    uint64_t opt = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                   SSL_OP_IGNORE_UNEXPECTED_EOF; /* framing above finds truncation */
    if (role == EM_TLS_SERVER)
        opt |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    SSL_CTX_set_options(s, opt);
    SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_min_proto_version(s, (int)min) != 1 ||
        SSL_CTX_set_cipher_list(s, CIPHERS) != 1) {
        SSL_CTX_free(s);
        return NULL;
    }
    return s;
}

/* ---- server: SNI and ALPN --------------------------------------------------- */

/* RFC 6125 §6.4.3: "*." matches exactly one left-most label. */
static bool name_match(const char *pattern, const char *name) {
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(name, '.');
        return dot && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

static int on_servername(SSL *ssl, int *alert, void *arg) {
    const em_tls_ctx *ctx = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_OK;
    for (unsigned i = 0; i < ctx->sni_count; i++) {
        for (char **n = ctx->sni_names[i]; *n; n++) {
            if (name_match(*n, name)) {
                SSL_set_SSL_CTX(ssl, ctx->sni[i]);
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_OK; /* the default certificate */
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg) {
    const em_tls_ctx *ctx = arg;
    unsigned char *sel;
    /* Our order wins (the server's preference, as nginx does). Called only
     * when the client offers ALPN; RFC 7301 §3.2: none of its protocols
     * supported -> a fatal no_application_protocol alert. */
    if (SSL_select_next_proto(&sel, outlen, ctx->alpn, ctx->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* The DNS names of the certificate s uses: subjectAltName, else the CN. */
static char **cert_names(SSL_CTX *s) {
    X509 *x = SSL_CTX_get0_certificate(s);
    GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
    int n = gens ? sk_GENERAL_NAME_num(gens) : 0;
    char **names = calloc((size_t)n + 2, sizeof *names);
    int k = 0;
    for (int i = 0; names && i < n; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != GEN_DNS)
            continue;
        const unsigned char *p = ASN1_STRING_get0_data(g->d.dNSName);
        names[k++] = strndup((const char *)p, (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
    if (names && k == 0 && x) {
        char cn[256];
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0)
            names[k++] = strdup(cn);
    }
    return names;
}

/* ---- server: session-ticket keys --------------------------------------------- */

/* RFC 5077 §4 protection with the context's keys (AES-256-CBC and
 * HMAC-SHA256, as OpenSSL's own): new tickets use the current key; a
 * ticket under the previous key decrypts and is renewed (2); any other is
 * unknown (0: a full handshake). */
static int on_ticket_key(SSL *ssl, unsigned char name[16], unsigned char *iv,
                         EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc) {
    em_tls_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    struct em__tls_tkey k;
    int found = 0;
    pthread_mutex_lock(&ctx->mu);
    for (int i = 0; i < (enc ? 1 : 1 + ctx->has_prev) && !found; i++) {
        if (enc || memcmp(name, ctx->tkey[i].name, sizeof k.name) == 0) {
            k = ctx->tkey[i];
            found = i + 1;
        }
    }
    pthread_mutex_unlock(&ctx->mu);
    if (!found)
        return 0;
    if (enc) {
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(ctx->aes)) != 1)
            return -1;
        memcpy(name, k.name, sizeof k.name);
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof k.hmac),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end()};
    int ok = EVP_MAC_CTX_set_params(hctx, params) == 1 &&
             (enc ? EVP_EncryptInit_ex(cctx, ctx->aes, NULL, k.aes, iv)
                  : EVP_DecryptInit_ex(cctx, ctx->aes, NULL, k.aes, iv)) == 1;
    OPENSSL_cleanse(&k, sizeof k);
    return ok ? found : -1;
}

static int ticket_keys_init(em_tls_ctx *ctx, SSL_CTX *s) {
    if (!ctx->aes) {
        ctx->aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
        if (!ctx->aes || RAND_bytes((unsigned char *)&ctx->tkey[0], sizeof ctx->tkey[0]) != 1)
            return EM_ENOMEM;
    }
    SSL_CTX_set_app_data(s, ctx);
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(s, on_ticket_key) == 1 ? 0 : EM_ENOMEM;
}

/* ---- client: sessions per server name, one use each -------------------------- */

void em__tls_sess_put(em__tls_eng *e, SSL_SESSION *sess) {
    if (!e || !e->ctx->sess || !e->sess_name || !SSL_SESSION_is_resumable(sess))
        return;
    /* A copy: OpenSSL marks the connection's own session unresumable when
     * the connection ends without close_notify. */
    SSL_SESSION *copy = SSL_SESSION_dup(sess);
    if (!copy)
        return;
    em_tls_ctx *ctx = e->ctx;
    pthread_mutex_lock(&ctx->mu);
    struct em__tls_sess *slot = NULL, *lru = &ctx->sess[0];
    for (unsigned i = 0; i < EM__TLS_SESS_SLOTS; i++) {
        struct em__tls_sess *s = &ctx->sess[i];
        if (s->name[0] && strcmp(s->name, e->sess_name) == 0) {
            slot = s;
            break;
        }
        if (s->used < lru->used)
            lru = s;
    }
    if (!slot) {
        slot = lru;
        for (int j = 0; j < 2; j++) {
            SSL_SESSION_free(slot->sess[j]);
            slot->sess[j] = NULL;
        }
        snprintf(slot->name, sizeof slot->name, "%s", e->sess_name);
    }
    if (slot->sess[1]) { /* keep the two newest */
        SSL_SESSION_free(slot->sess[0]);
        slot->sess[0] = slot->sess[1];
        slot->sess[1] = NULL;
    }
    slot->sess[slot->sess[0] ? 1 : 0] = copy;
    slot->used = ++ctx->sess_clock;
    pthread_mutex_unlock(&ctx->mu);
}

static int on_new_session(SSL *ssl, SSL_SESSION *sess) {
    em__tls_sess_put(SSL_get_app_data(ssl), sess);
    return 0;
}

SSL_SESSION *em__tls_sess_take(em_tls_ctx *ctx, const char *name) {
    if (!ctx->resumption || !name[0])
        return NULL;
    SSL_SESSION *got = NULL;
    pthread_mutex_lock(&ctx->mu);
    for (unsigned i = 0; i < EM__TLS_SESS_SLOTS && !got; i++) {
        struct em__tls_sess *s = &ctx->sess[i];
        if (!s->name[0] || strcmp(s->name, name) != 0)
            continue;
        for (int j = 1; j >= 0 && !got; j--) { /* newest first */
            got = s->sess[j];
            s->sess[j] = NULL;
        }
        s->used = ++ctx->sess_clock;
    }
    pthread_mutex_unlock(&ctx->mu);
    return got;
}

/* ---- client: wildcards over public suffixes ------------------------------------ */

/* Does the DNS-ID san match name (no trailing dot) under RFC 9525 §6.3:
 * exactly, or as "*." plus the rest of name after its first label, where
 * the rest is not a public suffix (ICANN's part of the list: a private
 * entry is a company's own zone)? */
static bool san_matches(const psl_ctx_t *psl, const char *san, size_t len, const char *name) {
    if (memchr(san, '\0', len))
        return false;
    if (strlen(name) == len && strncasecmp(san, name, len) == 0)
        return true;
    const char *dot = strchr(name, '.');
    if (len < 3 || san[0] != '*' || san[1] != '.' || !dot || dot == name ||
        strlen(dot + 1) != len - 2 || strncasecmp(san + 2, dot + 1, len - 2) != 0)
        return false;
    return !psl_is_public_suffix2(psl, dot + 1, PSL_TYPE_ICANN);
}

/* OpenSSL's host check passed (it takes "*.co.uk" for "example.co.uk":
 * it knows no public suffixes); when it matched a wildcard, look again. */
static int on_verify(int ok, X509_STORE_CTX *x) {
    if (!ok || X509_STORE_CTX_get_error_depth(x) != 0)
        return ok;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(x);
    const char *peer = X509_VERIFY_PARAM_get0_peername(vp);
    const char *name = X509_VERIFY_PARAM_get0_host(vp, 0);
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    const em_tls_ctx *ctx = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
    if (!peer || peer[0] != '*' || !name || !ctx || !ctx->psl)
        return ok;
    X509 *cert = X509_STORE_CTX_get_current_cert(x);
    GENERAL_NAMES *gens = cert ? X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL) : NULL;
    bool found = false;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !found; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            found = san_matches(ctx->psl, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                                (size_t)ASN1_STRING_length(g->d.dNSName), name);
    }
    GENERAL_NAMES_free(gens);
    if (!found)
        X509_STORE_CTX_set_error(x, X509_V_ERR_HOSTNAME_MISMATCH);
    return found;
}

/* ---- the context ---------------------------------------------------------- */

static int setup(em_tls_ctx *ctx, em_tls_role role, const em_tls_ctx_opts *o) {
    if (o->min_version && o->min_version != EM_TLS_V1_2 && o->min_version != EM_TLS_V1_3)
        return EM_EINVAL;
    if (role == EM_TLS_SERVER && !has_cert(&o->cert))
        return EM_EINVAL;
    if (o->alpn && alpn_wire(o->alpn, ctx->alpn, &ctx->alpn_len) != 0)
        return EM_EINVAL;
    ctx->role = role;
    ctx->insecure = o->insecure;
    ctx->resumption = !o->no_resumption;
    ctx->handshake_timeout_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : 10000;
    if (!(ctx->bio = em__tls_bio_method()))
        return EM_ENOMEM;
    SSL_CTX *s = ctx->ssl = base_ctx(role, o);
    if (!s)
        return EM_ENOMEM;
    int err = load_cas(s, o, role);
    if (!err && has_cert(&o->cert))
        err = use_cert(s, &o->cert);
    if (err)
        return err;
    if (role == EM_TLS_CLIENT) {
        if (!o->insecure) {
            /* libpsl's advice: the newest of the distribution's list and
             * the one built in (as the cookie jar). */
            const psl_ctx_t *psl = psl_latest(NULL);
            ctx->psl = psl ? psl : psl_builtin();
            SSL_CTX_set_app_data(s, ctx);
            SSL_CTX_set_verify(s, SSL_VERIFY_PEER, on_verify);
        }
        if (ctx->alpn_len && SSL_CTX_set_alpn_protos(s, ctx->alpn, ctx->alpn_len) != 0)
            return EM_ENOMEM;
        SSL_CTX_set_session_cache_mode(s, ctx->resumption ? SSL_SESS_CACHE_CLIENT |
                                                                SSL_SESS_CACHE_NO_INTERNAL_STORE
                                                          : SSL_SESS_CACHE_OFF);
        if (ctx->resumption) {
            ctx->sess = calloc(EM__TLS_SESS_SLOTS, sizeof *ctx->sess);
            if (!ctx->sess)
                return EM_ENOMEM;
            SSL_CTX_sess_set_new_cb(s, on_new_session);
        }
        return 0;
    }
    /* Server. Tickets are stateless; OpenSSL's server-side cache is off to
     * keep memory per session at zero. */
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(s, (const unsigned char *)"ember", 5);
    if (!ctx->resumption) {
        SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(s, 0);
    } else if ((err = ticket_keys_init(ctx, s)) != 0) {
        return err;
    }
    int verify = o->client_auth == EM_TLS_CLIENT_AUTH_NONE ? SSL_VERIFY_NONE
                 : SSL_VERIFY_PEER | (o->client_auth == EM_TLS_CLIENT_AUTH_REQUIRED
                                          ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                          : 0);
    if (verify != SSL_VERIFY_NONE)
        SSL_CTX_set_verify(s, verify, NULL);
    if (ctx->alpn_len)
        SSL_CTX_set_alpn_select_cb(s, on_alpn, ctx);
    if (o->sni_count) {
        if (!o->sni_certs)
            return EM_EINVAL;
        ctx->sni = calloc(o->sni_count, sizeof *ctx->sni);
        ctx->sni_names = calloc(o->sni_count, sizeof *ctx->sni_names);
        if (!ctx->sni || !ctx->sni_names)
            return EM_ENOMEM;
        for (unsigned i = 0; i < o->sni_count; i++) {
            SSL_CTX *x = ctx->sni[i] = base_ctx(role, o);
            if (!x)
                return EM_ENOMEM;
            ctx->sni_count = i + 1;
            if ((err = use_cert(x, &o->sni_certs[i])) != 0)
                return err;
            /* After the switch OpenSSL verifies a client's certificate
             * with this context's store and lists its CA names; resumption
             * checks its session id context. The same as the default's. */
            if ((err = load_cas(x, o, role)) != 0)
                return err;
            if (verify != SSL_VERIFY_NONE)
                SSL_CTX_set_verify(x, verify, NULL);
            SSL_CTX_set_session_id_context(x, (const unsigned char *)"ember", 5);
            /* OpenSSL keeps the first context's ticket callback after an
             * SNI switch; this one is for safety, with the same keys. */
            if (ctx->resumption && (err = ticket_keys_init(ctx, x)) != 0)
                return err;
            /* ALPN is chosen after the SNI switch, from this context's
             * callback: without it a matched name negotiated none. */
            if (ctx->alpn_len)
                SSL_CTX_set_alpn_select_cb(x, on_alpn, ctx);
            if (!(ctx->sni_names[i] = cert_names(x)))
                return EM_ENOMEM;
        }
        SSL_CTX_set_tlsext_servername_callback(s, on_servername);
        SSL_CTX_set_tlsext_servername_arg(s, ctx);
    }
    return 0;
}

EM_API int em_tls_ctx_new(em_tls_ctx **out, em_tls_role role, const em_tls_ctx_opts *opts) {
    if (!out || (role != EM_TLS_CLIENT && role != EM_TLS_SERVER))
        return EM_EINVAL;
    *out = NULL;
    em_tls_ctx_opts none = {0};
    em_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return EM_ENOMEM;
    pthread_mutex_init(&ctx->mu, NULL);
    int err = setup(ctx, role, opts ? opts : &none);
    if (err) {
        em_tls_ctx_free(ctx);
        return err;
    }
    *out = ctx;
    return 0;
}

EM_API void em_tls_ctx_free(em_tls_ctx *ctx) {
    if (!ctx)
        return;
    for (unsigned i = 0; i < ctx->sni_count; i++) {
        SSL_CTX_free(ctx->sni[i]);
        for (char **n = ctx->sni_names ? ctx->sni_names[i] : NULL; n && *n; n++)
            free(*n);
        if (ctx->sni_names)
            free(ctx->sni_names[i]);
    }
    free(ctx->sni);
    free(ctx->sni_names);
    for (unsigned i = 0; ctx->sess && i < EM__TLS_SESS_SLOTS; i++) {
        SSL_SESSION_free(ctx->sess[i].sess[0]);
        SSL_SESSION_free(ctx->sess[i].sess[1]);
    }
    free(ctx->sess);
    psl_free((psl_ctx_t *)ctx->psl); /* a no-op for the built-in list */
    OPENSSL_cleanse(ctx->tkey, sizeof ctx->tkey);
    EVP_CIPHER_free(ctx->aes);
    SSL_CTX_free(ctx->ssl);
    BIO_meth_free(ctx->bio);
    pthread_mutex_destroy(&ctx->mu);
    free(ctx);
}

EM_API em_tls_role em_tls_ctx_role(const em_tls_ctx *ctx) {
    return ctx->role;
}

EM_API int em_tls_ctx_set_ticket_key(em_tls_ctx *ctx, const unsigned char key[80]) {
    if (!ctx || !key || ctx->role != EM_TLS_SERVER)
        return EM_EINVAL;
    _Static_assert(sizeof(struct em__tls_tkey) == 80, "the key's layout");
    pthread_mutex_lock(&ctx->mu);
    /* The same key again (every worker told at once, or a retry) keeps
     * the grace key. */
    if (memcmp(&ctx->tkey[0], key, 80) != 0) {
        ctx->tkey[1] = ctx->tkey[0];
        memcpy(&ctx->tkey[0], key, 80);
        ctx->has_prev = true;
    }
    pthread_mutex_unlock(&ctx->mu);
    return 0;
}
