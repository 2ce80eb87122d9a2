/* IPv4/IPv6 addresses: strict parsing over (ptr, len), RFC 5952 formatting
 * (byte-for-byte what glibc's inet_ntop prints), ordering and the
 * special-purpose classes of RFC 6890. */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "ember/net.h"

/* ---- parsing ------------------------------------------------------------ */

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Dotted quad into out[4]: exactly four decimal octets 0..255 without
 * leading zeros. Leading zeros are refused because inet_aton and many URL
 * parsers read "010" as octal 8: accepting them lets two parsers disagree
 * about the same string (the SSRF filter bypass class). */
static int parse_v4(const char *s, size_t len, uint8_t out[4]) {
    if (len < 7 || len > 15)
        return EM_EINVAL;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return EM_EINVAL;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        size_t nd = i - start;
        if (nd == 0 || v > 255 || (nd > 1 && s[start] == '0'))
            return EM_EINVAL;
        out[part] = (uint8_t)v;
    }
    return i == len ? 0 : EM_EINVAL;
}

/* RFC 4291 §2.2 text form into out[16], mirroring inet_pton's grammar:
 * groups of 1-4 hex digits, at most one "::" standing for at least one zero
 * group, an optional dotted-quad tail in place of the last two groups. */
static int parse_v6(const char *s, size_t len, uint8_t out[16]) {
    uint8_t tmp[16] = {0};
    size_t tp = 0; /* bytes written to tmp */
    int gap = -1;  /* where "::" stands, as a byte offset into tmp */
    size_t i = 0;
    if (len == 0)
        return EM_EINVAL;
    if (s[0] == ':') {
        if (len < 2 || s[1] != ':')
            return EM_EINVAL;
        gap = 0;
        i = 2;
        if (i == len)
            goto done;
    }
    for (;;) {
        /* One group (or the v4 tail) starts at i. */
        size_t start = i;
        unsigned v = 0;
        while (i < len && i - start < 5) {
            int d = hexval((unsigned char)s[i]);
            if (d < 0)
                break;
            v = (v << 4) | (unsigned)d;
            i++;
        }
        size_t nd = i - start;
        if (i < len && s[i] == '.') {
            if (tp + 4 > 16 || parse_v4(s + start, len - start, tmp + tp) != 0)
                return EM_EINVAL;
            tp += 4;
            break;
        }
        if (nd == 0 || nd > 4 || tp + 2 > 16)
            return EM_EINVAL;
        tmp[tp++] = (uint8_t)(v >> 8);
        tmp[tp++] = (uint8_t)v;
        if (i == len)
            break;
        if (s[i] != ':' || ++i == len)
            return EM_EINVAL; /* a bad byte, or a lone trailing ':' */
        if (s[i] == ':') {
            if (gap >= 0)
                return EM_EINVAL;
            gap = (int)tp;
            if (++i == len)
                break;
        }
    }
done:
    if (gap >= 0) {
        if (tp == 16)
            return EM_EINVAL; /* "::" must stand for at least one group */
        size_t tail = tp - (size_t)gap;
        memmove(tmp + 16 - tail, tmp + gap, tail);
        memset(tmp + gap, 0, 16 - tail - (size_t)gap);
    } else if (tp != 16) {
        return EM_EINVAL;
    }
    memcpy(out, tmp, 16);
    return 0;
}

/* RFC 4007 §11 zone: a decimal index (1..UINT32_MAX, no leading zeros) or
 * an interface name known to this host. */
static int parse_zone(const char *s, size_t len, uint32_t *scope) {
    if (len == 0 || len >= IF_NAMESIZE)
        return EM_EINVAL;
    bool digits = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '-' ||
                  c == '_' || c == '.';
        if (!ok)
            return EM_EINVAL;
        if (c < '0' || c > '9')
            digits = false;
    }
    if (digits) {
        if (len > 10 || (len > 1 && s[0] == '0'))
            return EM_EINVAL;
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++)
            v = v * 10 + (uint64_t)(s[i] - '0');
        if (v == 0 || v > UINT32_MAX)
            return EM_EINVAL;
        *scope = (uint32_t)v;
        return 0;
    }
    char name[IF_NAMESIZE];
    memcpy(name, s, len);
    name[len] = '\0';
    unsigned idx = if_nametoindex(name);
    if (idx == 0)
        return EM_EINVAL;
    *scope = idx;
    return 0;
}

EM_API int em_ip4_parse(em_ip *ip, const char *s, size_t len) {
    em_ip r = {.family = EM_IP_V4};
    if (!s || parse_v4(s, len, r.bytes) != 0)
        return EM_EINVAL;
    *ip = r;
    return 0;
}

EM_API int em_ip6_parse(em_ip *ip, const char *s, size_t len) {
    em_ip r = {.family = EM_IP_V6};
    if (!s)
        return EM_EINVAL;
    const char *pct = len ? memchr(s, '%', len) : NULL;
    size_t alen = pct ? (size_t)(pct - s) : len;
    if (parse_v6(s, alen, r.bytes) != 0)
        return EM_EINVAL;
    if (pct && parse_zone(pct + 1, len - alen - 1, &r.scope_id) != 0)
        return EM_EINVAL;
    *ip = r;
    return 0;
}

EM_API int em_ip_parse(em_ip *ip, const char *s, size_t len) {
    if (s && len && memchr(s, ':', len))
        return em_ip6_parse(ip, s, len);
    return em_ip4_parse(ip, s, len);
}

/* ---- formatting --------------------------------------------------------- */

static size_t format_v4(const uint8_t b[4], char *out) {
    return (size_t)sprintf(out, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

/* RFC 5952 §4: lowercase, no leading zeros, the longest run of two or more
 * zero groups as "::" (the first on a tie). Like inet_ntop, the last 32 bits
 * print as a dotted quad after ::ffff:0:0/96 and after ::/96 when the
 * seventh group is nonzero (§5 mixed notation). */
static size_t format_v6(const uint8_t b[16], char *out) {
    unsigned w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (w[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2)
        best = -1;
    char *p = out;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            *p++ = ':';
            if (i + best_len == 8)
                *p++ = ':';
            i += best_len - 1;
            continue;
        }
        if (i > 0)
            *p++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
            p += format_v4(b + 12, p);
            break;
        }
        p += sprintf(p, "%x", w[i]);
    }
    *p = '\0';
    return (size_t)(p - out);
}

EM_API ssize_t em_ip_format(const em_ip *ip, char *buf, size_t cap) {
    char tmp[EM_IP_STRLEN];
    size_t n;
    if (ip->family == EM_IP_V4) {
        n = format_v4(ip->bytes, tmp);
    } else if (ip->family == EM_IP_V6) {
        n = format_v6(ip->bytes, tmp);
        if (ip->scope_id)
            n += (size_t)sprintf(tmp + n, "%%%u", (unsigned)ip->scope_id);
    } else {
        return EM_EAFNOSUPPORT;
    }
    if (!buf || n >= cap)
        return EM_ENOSPC;
    memcpy(buf, tmp, n + 1);
    return (ssize_t)n;
}

/* ---- comparison and construction ---------------------------------------- */

static size_t addr_len(const em_ip *ip) {
    return ip->family == EM_IP_V4 ? 4 : 16;
}

EM_API int em_ip_compare(const em_ip *a, const em_ip *b) {
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    int c = memcmp(a->bytes, b->bytes, addr_len(a));
    if (c != 0)
        return c < 0 ? -1 : 1;
    if (a->family == EM_IP_V4 || a->scope_id == b->scope_id)
        return 0;
    return a->scope_id < b->scope_id ? -1 : 1;
}

EM_API bool em_ip_equal(const em_ip *a, const em_ip *b) {
    return em_ip_compare(a, b) == 0;
}

EM_API em_ip em_ip4_make(uint32_t host_order) {
    em_ip ip = {.family = EM_IP_V4};
    ip.bytes[0] = (uint8_t)(host_order >> 24);
    ip.bytes[1] = (uint8_t)(host_order >> 16);
    ip.bytes[2] = (uint8_t)(host_order >> 8);
    ip.bytes[3] = (uint8_t)host_order;
    return ip;
}

EM_API em_ip em_ip6_make(const uint8_t bytes[16], uint32_t scope_id) {
    em_ip ip = {.family = EM_IP_V6, .scope_id = scope_id};
    memcpy(ip.bytes, bytes, 16);
    return ip;
}

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

EM_API bool em_ip_is_v4_mapped(const em_ip *ip) {
    return ip->family == EM_IP_V6 && memcmp(ip->bytes, v4_mapped_prefix, 12) == 0;
}

EM_API em_ip em_ip_unmap(const em_ip *ip) {
    if (!em_ip_is_v4_mapped(ip))
        return *ip;
    em_ip r = {.family = EM_IP_V4};
    memcpy(r.bytes, ip->bytes + 12, 4);
    return r;
}

/* ---- classification ----------------------------------------------------- */

/* Does the first `bits` bits of a match prefix p? */
static bool in_prefix(const uint8_t *a, const uint8_t *p, unsigned bits) {
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, p, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (p[whole] & mask);
}

typedef struct {
    uint8_t prefix[16];
    unsigned bits;
    em_ip_class cls;
} class_rule;

/* RFC 6890 and the IANA special-purpose registries; the first match wins. */
static const class_rule v4_rules[] = {
    {{0, 0, 0, 0}, 32, EM_IP_UNSPECIFIED},
    {{255, 255, 255, 255}, 32, EM_IP_BROADCAST},
    {{0}, 8, EM_IP_RESERVED}, /* "this network" */
    {{127}, 8, EM_IP_LOOPBACK},
    {{10}, 8, EM_IP_PRIVATE},
    {{172, 16}, 12, EM_IP_PRIVATE},
    {{192, 168}, 16, EM_IP_PRIVATE},
    {{169, 254}, 16, EM_IP_LINK_LOCAL},
    {{224}, 4, EM_IP_MULTICAST},
    {{192, 0, 2}, 24, EM_IP_DOCUMENTATION},
    {{198, 51, 100}, 24, EM_IP_DOCUMENTATION},
    {{203, 0, 113}, 24, EM_IP_DOCUMENTATION},
    {{240}, 4, EM_IP_RESERVED},        /* future use */
    {{100, 64}, 10, EM_IP_RESERVED},   /* shared address space (CGN) */
    {{192, 0, 0}, 24, EM_IP_RESERVED}, /* IETF protocol assignments */
    {{198, 18}, 15, EM_IP_RESERVED},   /* benchmarking */
};

static const class_rule v6_rules[] = {
    {{0}, 128, EM_IP_UNSPECIFIED},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, EM_IP_LOOPBACK},
    {{0}, 8, EM_IP_RESERVED},           /* incl. deprecated v4-compatible */
    {{0x01, 0x00}, 64, EM_IP_RESERVED}, /* discard-only */
    {{0xfc}, 7, EM_IP_PRIVATE},         /* unique local */
    {{0xfe, 0x80}, 10, EM_IP_LINK_LOCAL},
    {{0xfe, 0xc0}, 10, EM_IP_RESERVED}, /* deprecated site-local */
    {{0xff}, 8, EM_IP_MULTICAST},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, EM_IP_DOCUMENTATION},
};

static em_ip_class match(const uint8_t *a, const class_rule *rules, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (in_prefix(a, rules[i].prefix, rules[i].bits))
            return rules[i].cls;
    }
    return EM_IP_GLOBAL;
}

EM_API em_ip_class em_ip_classify(const em_ip *ip) {
    if (em_ip_is_v4_mapped(ip))
        return match(ip->bytes + 12, v4_rules, sizeof v4_rules / sizeof v4_rules[0]);
    if (ip->family == EM_IP_V4)
        return match(ip->bytes, v4_rules, sizeof v4_rules / sizeof v4_rules[0]);
    return match(ip->bytes, v6_rules, sizeof v6_rules / sizeof v6_rules[0]);
}

EM_API const char *em_ip_class_name(em_ip_class c) {
    switch (c) {
    case EM_IP_UNSPECIFIED:
        return "unspecified";
    case EM_IP_LOOPBACK:
        return "loopback";
    case EM_IP_PRIVATE:
        return "private";
    case EM_IP_LINK_LOCAL:
        return "link-local";
    case EM_IP_MULTICAST:
        return "multicast";
    case EM_IP_DOCUMENTATION:
        return "documentation";
    case EM_IP_BROADCAST:
        return "broadcast";
    case EM_IP_RESERVED:
        return "reserved";
    case EM_IP_GLOBAL:
        return "global";
    }
    return "unknown";
}
