/* Serializing message heads: status lines, validated fields, framing
 * fields and chunk size lines. Pure functions over em_buf, shared by the
 * server and the client. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"

bool em__http_field_name_ok(em_slice name) {
    if (!name.len)
        return false;
    for (size_t i = 0; i < name.len; i++)
        if (!em__http_is((unsigned char)name.ptr[i], EM__HTTP_TCHAR))
            return false;
    return true;
}

bool em__http_field_value_ok(em_slice value) {
    /* RFC 9110 §5.5: field-content is VCHAR, obs-text, SP and HTAB. CR,
     * LF and NUL would end or split the line (response splitting); the
     * other control bytes are invalid and peers reject or mangle them. */
    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

int em__http_put_status_line(em_buf *b, int status) {
    switch (status) {
    case 200:
        return EM__HTTP_PUT_LIT(b, "HTTP/1.1 200 OK\r\n");
    case 204:
        return EM__HTTP_PUT_LIT(b, "HTTP/1.1 204 No Content\r\n");
    case 404:
        return EM__HTTP_PUT_LIT(b, "HTTP/1.1 404 Not Found\r\n");
    default: {
        char line[96];
        int n = snprintf(line, sizeof line, "HTTP/1.1 %03d %s\r\n", status,
                         em_http_status_reason(status));
        return em_buf_append(b, line, (size_t)n);
    }
    }
}

int em__http_put_field(em_buf *b, em_slice name, em_slice value) {
    if (!em__http_field_name_ok(name) || !em__http_field_value_ok(value))
        return EM_EINVAL;
    int rc = em_buf_append(b, name.ptr, name.len);
    rc = rc ? rc : EM__HTTP_PUT_LIT(b, ": ");
    rc = rc ? rc : em_buf_append(b, value.ptr, value.len);
    return rc ? rc : EM__HTTP_PUT_LIT(b, "\r\n");
}

int em__http_put_content_length(em_buf *b, uint64_t n) {
    char digits[20], *end = digits + sizeof digits, *d = end;
    do {
        *--d = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    int rc = EM__HTTP_PUT_LIT(b, "Content-Length: ");
    rc = rc ? rc : em_buf_append(b, d, (size_t)(end - d));
    return rc ? rc : EM__HTTP_PUT_LIT(b, "\r\n");
}

size_t em__http_chunk_size_line(char buf[20], size_t n) {
    static const char hex[] = "0123456789abcdef";
    char tmp[16];
    size_t k = 0;
    do {
        tmp[k++] = hex[n & 15];
        n >>= 4;
    } while (n);
    size_t len = 0;
    while (k)
        buf[len++] = tmp[--k];
    buf[len++] = '\r';
    buf[len++] = '\n';
    return len;
}

static void put2(char *p, unsigned v) {
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

size_t em__http_date_line(char buf[40], long long t) {
    /* RFC 9110 §5.6.7 IMF-fixdate, English names */
    time_t now = (time_t)t;
    struct tm tm;
    gmtime_r(&now, &tm);
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000;
    memcpy(buf, "Date: Sun, 00 Jan 0000 00:00:00 GMT\r\n", 37);
    memcpy(buf + 6, em__http_day_abbr((unsigned)tm.tm_wday), 3);
    put2(buf + 11, (unsigned)tm.tm_mday);
    memcpy(buf + 14, em__http_month_abbr((unsigned)tm.tm_mon), 3);
    put2(buf + 18, year / 100);
    put2(buf + 20, year % 100);
    put2(buf + 23, (unsigned)tm.tm_hour);
    put2(buf + 26, (unsigned)tm.tm_min);
    put2(buf + 29, (unsigned)tm.tm_sec);
    return 37;
}
