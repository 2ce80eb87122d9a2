/* A test transport that really transforms the bytes, for the tcp and http
 * suites: every write becomes records [u32 big-endian length][payload XOR
 * 0x5A] of at most XT_RECORD_MAX payload bytes; the reader takes records
 * split at any byte. With EMBER_TEST_TRANSPORT=xor in the environment
 * (ctest registers each suite of EMBER_TEST_TWICE_MODULES a second time that
 * way), xt_maybe_attach() installs it on a connection and the peer helper
 * speaks it for a raw-socket test client; otherwise both are the plain
 * socket.
 *
 *   em_tcp_conn_init(loop, &c, fd, &cbs, NULL);   (or accept, or connect)
 *   assert_int_equal(xt_maybe_attach(&c), 0);     before any byte moves
 *
 *   xt_peer p; xt_peer_init(&p, fd);              the other end
 *   xt_peer_write(&p, "ping", 4);                 encodes, writes all
 *   n = xt_peer_read(&p, buf, sizeof buf);        reads, decodes
 */
#ifndef XOR_TRANSPORT_H
#define XOR_TRANSPORT_H

#include "ember/tcp.h"

enum {
    XT_RECORD_MAX = 1000, /* payload bytes per record */
    XT_TAKE_MAX = 3500,   /* plaintext one writev takes at most */
    XT_HELD_MAX = XT_TAKE_MAX + 4 * (XT_TAKE_MAX / XT_RECORD_MAX + 1) /* bytes held inside */
};

/* The transport; its state comes from xt_attach. */
extern const em_tcp_transport xt_transport;

/* True when EMBER_TEST_TRANSPORT=xor. */
bool xt_enabled(void);
/* Install the xor transport on an open connection (state allocated here,
 * freed by the connection's close). 0 or em_err. */
int xt_attach(em_tcp_conn *c);
/* xt_attach when xt_enabled(), else 0. */
int xt_maybe_attach(em_tcp_conn *c);
/* Bytes a connection may hold beyond max_queue when xt_enabled() (tests
 * that check em_tcp_conn_queued add it), else 0. */
size_t xt_slack(void);

/* An incremental decoder: feed raw bytes in any split. */
typedef struct xt_dec {
    unsigned char hdr[4];
    unsigned hdr_len;
    uint32_t left; /* payload bytes left in the current record */
} xt_dec;
/* Decode in[0..*in_len) into out (room for out_len). Returns the bytes
 * written to out and sets *in_len to the bytes consumed; EM_EPROTO on a
 * record larger than 1 MiB. */
ssize_t xt_decode(xt_dec *d, const char *in, size_t *in_len, char *out, size_t out_len);
/* True between records (no half record pending). */
bool xt_dec_idle(const xt_dec *d);
/* Encode len bytes into records; out needs xt_encoded_len(len) bytes.
 * Returns the bytes written. */
size_t xt_encode(const char *in, size_t len, char *out);
size_t xt_encoded_len(size_t len);

/* The peer side over a raw socket (blocking or nonblocking). */
typedef struct xt_peer {
    int fd;
    bool on;       /* xt_enabled() at init */
    xt_dec dec;
    char raw[777]; /* raw bytes read but not decoded yet: an odd size */
    size_t raw_pos, raw_len;
} xt_peer;
void xt_peer_init(xt_peer *p, int fd);
/* Write all of buf (encoded when on), waiting for a nonblocking fd with
 * poll. Returns len or -1 with errno set. */
ssize_t xt_peer_write(xt_peer *p, const void *buf, size_t len);
/* Read decoded bytes: > 0, 0 at EOF (EPROTO if it cuts a record), -1 with
 * errno (EAGAIN on a nonblocking fd with nothing decoded). */
ssize_t xt_peer_read(xt_peer *p, void *buf, size_t len);

#endif
