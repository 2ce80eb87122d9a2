/* RFC 6265 §5.2: the user agent's Set-Cookie parser, and §5.1.1's cookie
 * date algorithm. */
#include <string.h>

#include "cookie_internal.h"

/* ---- dates (§5.1.1) ------------------------------------------------------ */

/* Howard Hinnant's days_from_civil / civil_from_days (public domain
 * algorithms, written here from their description). */
int64_t em__cookie_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void em__cookie_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_delim(unsigned char c) {
    return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) ||
           (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

static bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

/* 1*max DIGIT at t[*i], value into *v; at least min digits. */
static bool digits(const unsigned char *t, size_t n, size_t *i, size_t min, size_t max,
                   unsigned *v) {
    size_t k = 0;
    *v = 0;
    while (*i < n && k < max && is_digit(t[*i])) {
        *v = *v * 10 + (unsigned)(t[*i] - '0');
        (*i)++, k++;
    }
    return k >= min;
}

/* "( non-digit *OCTET )" or the end of the token (6265bis: optional). */
static bool tail_ok(const unsigned char *t, size_t n, size_t i) {
    return i == n || !is_digit(t[i]);
}

static bool match_time(const unsigned char *t, size_t n, unsigned hms[3]) {
    size_t i = 0;
    for (int f = 0; f < 3; f++) {
        if (!digits(t, n, &i, 1, 2, &hms[f]))
            return false;
        if (f < 2) {
            if (i >= n || t[i] != ':')
                return false;
            i++;
        }
    }
    return tail_ok(t, n, i);
}

static bool match_num(const unsigned char *t, size_t n, size_t min, size_t max, unsigned *v) {
    size_t i = 0;
    return digits(t, n, &i, min, max, v) && tail_ok(t, n, i);
}

static int match_month(const unsigned char *t, size_t n) {
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (n < 3)
        return 0;
    char m[3];
    for (int k = 0; k < 3; k++)
        m[k] = (char)(t[k] >= 'A' && t[k] <= 'Z' ? t[k] + 32 : t[k]);
    for (int k = 0; k < 12; k++)
        if (!memcmp(m, names + 3 * k, 3))
            return k + 1;
    return 0;
}

int em_cookie_date_parse(em_slice s, int64_t *out) {
    const unsigned char *p = (const unsigned char *)s.ptr;
    bool found_time = false, found_day = false, found_month = false, found_year = false;
    unsigned hms[3] = {0}, day = 0, month = 0, year = 0;
    size_t i = 0;
    while (i < s.len) {
        while (i < s.len && is_delim(p[i]))
            i++;
        size_t start = i;
        while (i < s.len && !is_delim(p[i]))
            i++;
        if (i == start)
            break;
        const unsigned char *t = p + start;
        size_t n = i - start;
        unsigned v, tmp[3];
        int m;
        if (!found_time && match_time(t, n, tmp)) {
            found_time = true;
            memcpy(hms, tmp, sizeof hms);
        } else if (!found_day && match_num(t, n, 1, 2, &v)) {
            found_day = true;
            day = v;
        } else if (!found_month && (m = match_month(t, n)) != 0) {
            found_month = true;
            month = (unsigned)m;
        } else if (!found_year && match_num(t, n, 2, 4, &v)) {
            found_year = true;
            year = v;
        }
    }
    if (year >= 70 && year <= 99)
        year += 1900;
    else if (year <= 69)
        year += 2000;
    if (!found_time || !found_day || !found_month || !found_year || day < 1 || day > 31 ||
        year < 1601 || hms[0] > 23 || hms[1] > 59 || hms[2] > 59)
        return EM_EINVAL;
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[month - 1] + (month == 2 && leap))
        return EM_EINVAL; /* "no such date": Feb 30, Apr 31 */
    *out =
        em__cookie_days_from_civil(year, month, day) * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    return 0;
}

/* ---- Set-Cookie (§5.2) --------------------------------------------------- */

/* 6265bis §5.6: attribute values over 1024 bytes are ignored. */
#define ATTR_VALUE_MAX 1024

static bool name_is(em_slice n, const char *lit) {
    return em_slice_eq_nocase(n, em_slice_from_cstr(lit));
}

static void parse_max_age(em_slice v, em__cookie_sc *sc) {
    /* §5.2.2: a DIGIT or '-' first, then DIGITs only. */
    if (v.len == 0 || !(is_digit((unsigned char)v.ptr[0]) || v.ptr[0] == '-'))
        return;
    bool neg = v.ptr[0] == '-';
    size_t i = neg;
    if (i == v.len)
        return; /* a lone "-" is no number */
    int64_t n = 0;
    for (; i < v.len; i++) {
        if (!is_digit((unsigned char)v.ptr[i]))
            return;
        if (n < INT64_MAX / 20)
            n = n * 10 + (v.ptr[i] - '0'); /* saturates: far beyond any cap */
    }
    sc->has_max_age = true;
    sc->max_age = neg ? (n ? -n : 0) : n;
}

int em__cookie_parse_set(em_slice s, em__cookie_sc *sc) {
    memset(sc, 0, sizeof *sc);
    /* 6265bis §5.6 step 1: control bytes other than HTAB void the whole
     * string (so no stored cookie can smuggle CR/LF into a header). */
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return EM_EINVAL;
    }
    ssize_t semi = em_slice_find_byte(s, ';');
    em_slice nv = semi < 0 ? s : em_slice_sub(s, 0, (size_t)semi);
    ssize_t eq = em_slice_find_byte(nv, '=');
    if (eq < 0)
        return EM_EINVAL; /* §5.2 step 2 */
    sc->name = em_slice_trim(em_slice_sub(nv, 0, (size_t)eq));
    sc->value = em_slice_trim(em_slice_sub(nv, (size_t)eq + 1, nv.len));
    if (sc->name.len == 0)
        return EM_EINVAL; /* step 5 */
    size_t pos = semi < 0 ? s.len : (size_t)semi;
    while (pos < s.len) {
        pos++; /* the ';' */
        em_slice rest = em_slice_sub(s, pos, s.len - pos);
        ssize_t next = em_slice_find_byte(rest, ';');
        em_slice av = next < 0 ? rest : em_slice_sub(rest, 0, (size_t)next);
        pos += av.len;
        ssize_t aeq = em_slice_find_byte(av, '=');
        em_slice an = em_slice_trim(aeq < 0 ? av : em_slice_sub(av, 0, (size_t)aeq));
        em_slice avv = aeq < 0 ? em_slice_make("", 0)
                               : em_slice_trim(em_slice_sub(av, (size_t)aeq + 1, av.len));
        if (avv.len > ATTR_VALUE_MAX)
            continue;
        if (name_is(an, "expires")) {
            int64_t t;
            if (em_cookie_date_parse(avv, &t) == 0) {
                sc->has_expires = true;
                sc->expires = t;
            }
        } else if (name_is(an, "max-age")) {
            parse_max_age(avv, sc);
        } else if (name_is(an, "domain")) {
            if (avv.len == 0)
                continue; /* §5.2.3: SHOULD ignore an empty Domain */
            if (avv.ptr[0] == '.')
                avv = em_slice_sub(avv, 1, avv.len - 1);
            sc->has_domain = true;
            sc->domain = avv;
        } else if (name_is(an, "path")) {
            sc->has_path = true; /* §5.2.4: not '/'-led means the default */
            sc->path = avv.len && avv.ptr[0] == '/' ? avv : em_slice_make("", 0);
        } else if (name_is(an, "secure")) {
            sc->secure = true;
        } else if (name_is(an, "httponly")) {
            sc->http_only = true;
        } else if (name_is(an, "samesite")) {
            sc->same_site = name_is(avv, "strict") ? 1
                            : name_is(avv, "lax")  ? 2
                            : name_is(avv, "none") ? 3
                                                   : 0;
        }
    }
    return 0;
}
