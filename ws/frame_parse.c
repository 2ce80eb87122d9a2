/* The RFC 6455 frame parser: the header one byte at a time into a 14-byte
 * holding buffer (so any split of the input gives the same result and
 * each error is found at the byte that decides it), then the payload as
 * slices of the caller's buffer, unmasked in place. */
#include <string.h>

#include "ws_internal.h"

void em_ws_frame_parser_init(em_ws_frame_parser *p, em_ws_role role) {
    memset(p, 0, sizeof *p);
    p->role = (uint8_t)role;
}

static ssize_t fail(em_ws_frame_parser *p, int err, em_ws_frame_reason why) {
    p->_err = (int16_t)err;
    p->reason = (uint8_t)why;
    return err;
}

static bool is_control(unsigned op) {
    return op & 0x8;
}

static bool known_opcode(unsigned op) {
    return op <= EM_WS_OP_BINARY || (op >= EM_WS_OP_CLOSE && op <= EM_WS_OP_PONG);
}

/* Checks of the first byte (RFC 6455 §5.2, §5.4, §5.5). */
static ssize_t check_byte0(em_ws_frame_parser *p, unsigned b) {
    unsigned op = b & 0x0f, rsv = b & 0x70;
    bool fin = b & 0x80;
    if (!known_opcode(op))
        return fail(p, EM_EPROTO, EM_WS_REASON_OPCODE);
    if (rsv & ~(unsigned)p->rsv_allowed)
        return fail(p, EM_EPROTO, EM_WS_REASON_RSV);
    /* RFC 7692 §6.1: the extension's RSV1 marks a message, so it appears
     * only on its first frame, never on a control or continuation frame. */
    if ((rsv & EM_WS_RSV1) && (is_control(op) || op == EM_WS_OP_CONT))
        return fail(p, EM_EPROTO, EM_WS_REASON_RSV);
    if (is_control(op)) {
        if (!fin)
            return fail(p, EM_EPROTO, EM_WS_REASON_CONTROL_FRAG);
    } else if (op == EM_WS_OP_CONT) {
        if (!p->_in_msg)
            return fail(p, EM_EPROTO, EM_WS_REASON_NO_MESSAGE);
    } else if (p->_in_msg) {
        return fail(p, EM_EPROTO, EM_WS_REASON_IN_MESSAGE);
    }
    return 0;
}

static uint64_t lim(uint64_t v, uint64_t dflt) {
    return v ? v : dflt;
}

/* Checks of a known payload length against the opcode and the limits. */
static ssize_t check_len(em_ws_frame_parser *p, unsigned op, uint64_t len) {
    if (is_control(op)) {
        if (len > EM_WS_MAX_CONTROL)
            return fail(p, EM_EPROTO, EM_WS_REASON_CONTROL_LEN);
        /* §5.5.1: a close body starts with a two-byte code. */
        if (op == EM_WS_OP_CLOSE && len == 1)
            return fail(p, EM_EPROTO, EM_WS_REASON_CLOSE_LEN);
    }
    if (len > lim(p->max_payload, EM_WS_DEFAULT_MAX_PAYLOAD))
        return fail(p, EM_EMSGSIZE, EM_WS_REASON_FRAME_SIZE);
    if (!is_control(op)) {
        uint64_t max = lim(p->max_message, EM_WS_DEFAULT_MAX_MESSAGE);
        uint64_t so_far = op == EM_WS_OP_CONT ? p->_msg : 0;
        if (len > max || so_far > max - len)
            return fail(p, EM_EMSGSIZE, EM_WS_REASON_MESSAGE_SIZE);
    }
    return 0;
}

/* Header length implied by the first two bytes. */
static unsigned header_len(const uint8_t *h) {
    unsigned l7 = h[1] & 0x7f;
    return 2u + (l7 == 126 ? 2u : l7 == 127 ? 8u : 0u) + ((h[1] & 0x80) ? 4u : 0u);
}

/* The header is complete in p->_h: fill p->frame, start the payload. */
static void header_done(em_ws_frame_parser *p, uint64_t len) {
    const uint8_t *h = p->_h;
    em_ws_frame *f = &p->frame;
    unsigned op = h[0] & 0x0f;
    f->fin = h[0] & 0x80;
    f->rsv = h[0] & 0x70;
    f->opcode = (uint8_t)op;
    f->masked = h[1] & 0x80;
    f->len = len;
    if (f->masked)
        memcpy(f->mask, h + p->_hn - 4, 4);
    else
        memset(f->mask, 0, 4);
    if (!is_control(op)) {
        p->_msg = (op == EM_WS_OP_CONT ? p->_msg : 0) + len;
        p->_in_msg = !f->fin;
    }
    p->_hn = 0;
    p->_phase = 0;
    p->_left = len;
    p->_payload = len > 0;
}

ssize_t em_ws_frame_parse(em_ws_frame_parser *p, const char *buf, size_t len) {
    if (p->_err)
        return p->_err;
    if (p->_payload)
        return EM_EINVAL;
    const uint8_t *in = (const uint8_t *)buf;
    size_t i = 0;
    while (i < len) {
        uint8_t b = in[i++];
        unsigned n = p->_hn;
        p->_h[p->_hn++] = b;
        if (n == 0) {
            ssize_t rc = check_byte0(p, b);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n == 1) {
            bool masked = b & 0x80;
            if (masked != (p->role == EM_WS_ROLE_SERVER))
                return fail(p, EM_EPROTO, EM_WS_REASON_MASK);
            unsigned l7 = b & 0x7f;
            unsigned op = p->_h[0] & 0x0f;
            if (l7 >= 126 && is_control(op))
                return fail(p, EM_EPROTO, EM_WS_REASON_CONTROL_LEN);
            if (l7 < 126) {
                ssize_t rc = check_len(p, op, l7);
                if (rc < 0)
                    return rc;
            }
        } else if (n == 2 && (p->_h[1] & 0x7f) == 127 && (b & 0x80)) {
            return fail(p, EM_EPROTO, EM_WS_REASON_LEN_HIGH_BIT);
        }
        unsigned l7 = p->_h[1] & 0x7f;
        unsigned lend = l7 == 126 ? 4u : l7 == 127 ? 10u : 2u;
        if (p->_hn == lend && lend > 2) {
            /* §5.2: "the minimal number of bytes MUST be used". */
            uint64_t v = 0;
            for (unsigned k = 2; k < lend; k++)
                v = v << 8 | p->_h[k];
            if ((l7 == 126 && v < 126) || (l7 == 127 && v <= 0xffff))
                return fail(p, EM_EPROTO, EM_WS_REASON_LEN_ENCODING);
            ssize_t rc = check_len(p, p->_h[0] & 0x0f, v);
            if (rc < 0)
                return rc;
        }
        if (p->_hn == header_len(p->_h)) {
            uint64_t v = l7;
            if (lend > 2) {
                v = 0;
                for (unsigned k = 2; k < lend; k++)
                    v = v << 8 | p->_h[k];
            }
            header_done(p, v);
            return (ssize_t)i;
        }
    }
    return EM_EAGAIN;
}

ssize_t em_ws_frame_payload(em_ws_frame_parser *p, char *buf, size_t len, em_slice *out) {
    size_t n = 0;
    if (p->_payload && !p->_err) {
        n = p->_left < len ? (size_t)p->_left : len;
        if (p->frame.masked && n)
            p->_phase = (uint8_t)em_ws_mask(buf, n, p->frame.mask, p->_phase);
        p->_left -= n;
        p->_payload = p->_left > 0;
    }
    out->ptr = buf;
    out->len = n;
    return (ssize_t)n;
}

uint64_t em_ws_frame_left(const em_ws_frame_parser *p) {
    return p->_payload ? p->_left : 0;
}

int em_ws_close_code(int err) {
    switch (err) {
    case 0:
        return EM_WS_CLOSE_NORMAL;
    case EM_EPROTO:
        return EM_WS_CLOSE_PROTOCOL;
    case EM_EMSGSIZE:
        return EM_WS_CLOSE_TOO_BIG;
    case EM_EPARSE:
        return EM_WS_CLOSE_INVALID_DATA;
    default:
        return EM_WS_CLOSE_INTERNAL;
    }
}
