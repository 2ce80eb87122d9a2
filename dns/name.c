/* Host names checked before they reach a resolver, literals and the
 * special-use names localhost (RFC 6761 §6.3) and invalid (§6.4). */
#include <ctype.h>
#include <string.h>

#include "dns_internal.h"

/* LDH plus '_' (service labels); every other byte is refused, so NUL, CR,
 * LF, '@', '/', '%', ':', spaces and non-ASCII (IDNs must come as
 * A-labels) never reach a query or a log line. */
static bool label_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

int em_dns_name_check(const char *name, size_t len) {
    if (!name || len == 0)
        return EM_EINVAL;
    if (len > 1 && name[len - 1] == '.')
        len--; /* one trailing dot: the root */
    if (len > EM_DNS_NAME_MAX)
        return EM_EINVAL;
    size_t label = 0;
    bool digits_only = true; /* of the current label */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (label == 0)
                return EM_EINVAL; /* empty label: leading dot or ".." */
            label = 0;
            digits_only = true;
            continue;
        }
        if (!label_byte(c) || ++label > EM_DNS_LABEL_MAX)
            return EM_EINVAL;
        /* RFC 952, RFC 1123 §2.1: no label starts or ends with '-'; a
         * command line's "-h" would otherwise go out as a query. */
        if (c == '-' && (label == 1 || i + 1 == len || name[i + 1] == '.'))
            return EM_EINVAL;
        digits_only = digits_only && c >= '0' && c <= '9';
    }
    /* RFC 3696 §2: a top-level label is never all-numeric; such a name is
     * a malformed address ("1.2.3", "127.1") that inet_aton would take,
     * and so is one in hex ("0x7f000001": inet_aton's and the URL
     * Standard's IPv4 number). */
    if (label == 0 || digits_only)
        return EM_EINVAL;
    const char *last = name + len - label;
    if (label >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
        size_t i = 2;
        while (i < label && isxdigit((unsigned char)last[i]))
            i++;
        if (i == label)
            return EM_EINVAL;
    }
    return 0;
}

/* Is s (no trailing dot) the special-use name, or a name under it? */
static bool is_or_under(const char *s, size_t len, const char *name) {
    size_t n = strlen(name);
    return len >= n && strncasecmp(s + len - n, name, n) == 0 &&
           (len == n || s[len - n - 1] == '.');
}

int em__dns_name_classify(const char *host, size_t len, em_ip *ip) {
    if (len > 2 && host[0] == '[' && host[len - 1] == ']')
        return em_ip6_parse(ip, host + 1, len - 2) == 0 ? EM__DNS_LITERAL : EM_EINVAL;
    if (em_ip_parse(ip, host, len) == 0)
        return EM__DNS_LITERAL;
    if (em_dns_name_check(host, len) != 0)
        return EM_EINVAL;
    if (host[len - 1] == '.')
        len--;
    if (is_or_under(host, len, "localhost"))
        return EM__DNS_LOCALHOST;
    return EM__DNS_HOSTNAME;
}

bool em__dns_name_is_invalid(const char *host, size_t len) {
    if (len > 1 && host[len - 1] == '.')
        len--;
    return is_or_under(host, len, "invalid");
}

void em__dns_cache_key(const char *host, size_t len, char *out) {
    em__dns_name_key(host, len, out);
    if (len > 1 && host[len - 1] == '.')
        strcat(out, ".");
}

void em__dns_name_key(const char *host, size_t len, char *out) {
    if (len > 1 && host[len - 1] == '.')
        len--;
    if (len > EM_DNS_NAME_MAX)
        len = EM_DNS_NAME_MAX;
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[len] = '\0';
}
