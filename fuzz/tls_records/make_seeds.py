#!/usr/bin/env python3
"""Write fuzz/tls_records/corpus/: real records captured from Python's ssl
(OpenSSL) on memory BIOs, wrapped in the harness's program format (see
harness.c): a mode byte, then chunks of ctl, length, bytes. Run it again to
refresh the captures: python3 fuzz/tls_records/make_seeds.py"""
import os
import ssl
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

# mode bits
CLIENT, AFTER, TLS12, HS_API, ECHO, NOTIFY, SNI_ALT, ABRUPT = 1, 2, 4, 8, 16, 32, 64, 128
FAST_TIMEOUT = HS_API  # the same bit, for a server


def chunk(op, data=b""):
    if len(data) > 255:
        return bytes([op | 0x80, len(data) >> 8, len(data) & 255]) + data
    return bytes([op, len(data)]) + data


def raw(data):
    return chunk(0, data)


def peer_write(data):
    return chunk(1, data)


def peer(act):
    return chunk(2, bytes([act]))


def ember(act, data=b""):
    return chunk(3, bytes([act]) + data)


def record(ctype, body, version=b"\x03\x03"):
    return bytes([ctype]) + version + len(body).to_bytes(2, "big") + body


def pump(a, b):
    """Move a's output to b; return the bytes moved."""
    data = a["out"].read()
    if data:
        b["in"].write(data)
    return data


def endpoint(ctx, server, name=None):
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    return {"ssl": ctx.wrap_bio(i, o, server_side=server, server_hostname=name), "in": i, "out": o}


def step(e):
    try:
        e["ssl"].do_handshake()
        return True
    except ssl.SSLWantReadError:
        return False


def captures(tmp):
    key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    caps = {}
    for ver in ("13", "12"):
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False
        cctx.verify_mode = ssl.CERT_NONE
        cctx.set_alpn_protocols(["http/1.1"])
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(crt, key)
        if ver == "12":  # both: a 1.3-capable server would send the downgrade sentinel
            cctx.maximum_version = ssl.TLSVersion.TLSv1_2
            sctx.maximum_version = ssl.TLSVersion.TLSv1_2
        c, s = endpoint(cctx, False, "localhost"), endpoint(sctx, True)
        step(c)
        caps["client_hello" + ver] = pump(c, s)
        step(s)
        caps["server_flight" + ver] = pump(s, c)
        step(c)
        caps["client_finished" + ver] = pump(c, s)
        step(s)
        caps["server_after" + ver] = pump(s, c)  # 1.2: CCS+Finished; 1.3: tickets
        c["ssl"].write(b"GET / HTTP/1.1\r\n\r\n")
        caps["client_appdata" + ver] = pump(c, s)
        s["ssl"].write(b"HTTP/1.1 200 OK\r\n\r\n")
        caps["server_appdata" + ver] = pump(s, c)
    return caps


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        caps = captures(tmp)
    alert_fatal = record(21, b"\x02\x28")
    close_notify = record(21, b"\x01\x00")
    ccs = record(20, b"\x01")
    seeds = {
        # ember the server, mid-handshake: a client's first flight
        "srv-ch13": bytes([0]) + raw(caps["client_hello13"]),
        "srv-ch12": bytes([0]) + raw(caps["client_hello12"]),
        "srv-ch13-split": bytes([0]) + raw(caps["client_hello13"][:3]) +
        raw(caps["client_hello13"][3:60]) + raw(caps["client_hello13"][60:]),
        "srv-ch13-then-ccs-junk": bytes([0]) + raw(caps["client_hello13"]) + raw(ccs) +
        raw(record(22, b"\x14\x00\x00\x20" + bytes(32))),
        "srv-ch12-finished-replay": bytes([0]) + raw(caps["client_hello12"]) +
        raw(caps["client_finished12"]),
        "srv-alert": bytes([0]) + raw(alert_fatal),
        "srv-truncated-header": bytes([0]) + raw(b"\x16\x03\x01"),
        "srv-truncated-body": bytes([0]) + raw(caps["client_hello13"][:100]),
        "srv-oversize": bytes([0]) + raw(b"\x16\x03\x01\xff\xff" + bytes(300)),
        "srv-record-16385": bytes([0]) + raw(b"\x16\x03\x01\x40\x01" + bytes(200)),
        "srv-empty-handshake": bytes([0]) + raw(record(22, b"", b"\x03\x01")),
        "srv-sslv2": bytes([0]) + raw(b"\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10" +
                                       bytes(21) + bytes(16)),
        "srv-http": bytes([0]) + raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        "srv-heartbeat": bytes([0]) + raw(record(24, b"\x01\x40\x00" + bytes(16))),
        "srv-peer-hs-sni-alt": bytes([SNI_ALT]) + peer(0) + peer_write(b"hi"),
        # ember the client, mid-handshake: a server's flight
        "cli-sh13": bytes([CLIENT]) + raw(caps["server_flight13"]),
        "cli-sh12": bytes([CLIENT | HS_API]) + raw(caps["server_flight12"]),
        "cli-sh12-split": bytes([CLIENT]) + raw(caps["server_flight12"][:5]) +
        raw(caps["server_flight12"][5:90]) + raw(caps["server_flight12"][90:]),
        "cli-alert": bytes([CLIENT | HS_API]) + raw(alert_fatal),
        "cli-close-notify": bytes([CLIENT]) + raw(close_notify),
        "cli-oversize": bytes([CLIENT]) + raw(b"\x16\x03\x03\x48\x01" + bytes(400)),
        "cli-appdata-early": bytes([CLIENT]) + raw(caps["server_appdata13"]),
        # after a real handshake: records from the real peer, and forged ones
        "srv-after13-data": bytes([AFTER | NOTIFY]) + peer_write(b"hello") +
        ember(0, b"world") + peer(1) + peer_write(b"after key update") + peer(3),
        "srv-after12-data": bytes([AFTER | TLS12 | ECHO | NOTIFY]) + peer_write(b"echo me") +
        peer_write(bytes(range(256)) * 8),
        "srv-after13-echo-pause": bytes([AFTER | ECHO]) + ember(1) + peer_write(b"x" * 300) +
        ember(2) + peer(2) + peer_write(b"y"),
        "srv-after13-shutwr": bytes([AFTER]) + peer_write(b"data") + peer(4),
        "srv-after13-halfclose": bytes([AFTER | NOTIFY]) + ember(0, b"bye") + ember(3) +
        peer_write(b"still here"),
        "srv-after12-reneg": bytes([AFTER | TLS12]) + peer(5) + peer_write(b"z"),
        "srv-after13-alert": bytes([AFTER]) + raw(alert_fatal),
        "srv-after13-close-notify-plain": bytes([AFTER]) + raw(close_notify),
        "srv-after13-replayed-appdata": bytes([AFTER]) + raw(caps["client_appdata13"]),
        "srv-after12-replayed-appdata": bytes([AFTER | TLS12]) + raw(caps["client_appdata12"]),
        "srv-after13-ccs": bytes([AFTER]) + raw(ccs),
        "srv-after13-truncated": bytes([AFTER]) + peer_write(b"a") + raw(b"\x17\x03\x03\x00"),
        "srv-after13-oversize": bytes([AFTER]) + raw(b"\x17\x03\x03\x48\x01" + bytes(500)),
        "srv-after13-second-ch": bytes([AFTER]) + raw(caps["client_hello13"]),
        "cli-after13-data": bytes([CLIENT | AFTER | NOTIFY]) + peer_write(b"hello") +
        ember(0, b"request") + peer(1) + peer_write(b"more") + peer(3),
        "cli-after13-hsapi": bytes([CLIENT | AFTER | HS_API | ECHO]) + peer_write(b"ping") +
        peer(2) + peer_write(b"pong"),
        "cli-after12-data": bytes([CLIENT | AFTER | TLS12 | NOTIFY]) + peer_write(b"hello") +
        ember(0, b"x" * 1000),
        "cli-after12-reneg": bytes([CLIENT | AFTER | TLS12]) + peer(5) + peer_write(b"q"),
        "cli-after13-pha": bytes([CLIENT | AFTER]) + peer(6) + peer_write(b"q"),
        "cli-after13-replayed-tickets": bytes([CLIENT | AFTER]) + raw(caps["server_after13"]),
        "cli-after13-replayed-appdata": bytes([CLIENT | AFTER]) + raw(caps["server_appdata13"]),
        "cli-after12-alert": bytes([CLIENT | AFTER | TLS12]) + raw(alert_fatal),
        "cli-after13-close-then-data": bytes([CLIENT | AFTER]) + peer(3) + peer_write(b"late") +
        raw(caps["server_appdata13"]),
        "srv-after13-stalled-bigwrite": bytes([AFTER | NOTIFY]) + peer(7) + ember(5, b"\x03") +
        peer_write(b"x") + peer(7) + ember(0, b"tail"),
        "cli-after12-bigwrite-abrupt": bytes([CLIENT | AFTER | TLS12 | ABRUPT]) +
        ember(5, b"\x07") + peer(7) + ember(5, b"\x01"),
        "srv-after13-abrupt": bytes([AFTER | ABRUPT]) + peer_write(b"bye"),
        "srv-timeout-mid": bytes([FAST_TIMEOUT]) + raw(caps["client_hello13"][:50]),
        "srv-timeout-after": bytes([FAST_TIMEOUT | AFTER]) + peer_write(b"hi"),
        # key updates and close_notify while ember's writes are backed up
        "srv-after13-keyupdate-stalled": bytes([AFTER | NOTIFY]) + peer(7) + ember(5, b"\x07") +
        peer(1) + peer_write(b"x") + peer(7) + ember(0, b"tail"),
        "cli-after13-keyupdate-stalled": bytes([CLIENT | AFTER | NOTIFY]) + peer(7) +
        ember(5, b"\x07") + peer(1) + peer_write(b"x") + peer(1) + peer(7) + ember(0, b"tail"),
        "srv-after13-close-stalled": bytes([AFTER | NOTIFY]) + peer(7) + ember(5, b"\x07") +
        peer(3) + peer(7),
        "srv-after13-echo-stalled": bytes([AFTER | ECHO | NOTIFY]) + peer(7) +
        peer_write(bytes(200) * 50) + peer_write(bytes(255) * 40) + peer(7),
        "cli-after13-readstop-keyupdate": bytes([CLIENT | AFTER | NOTIFY]) + ember(1) + peer(1) +
        peer_write(b"a" * 255) + peer(1) + ember(0, b"w") + ember(2),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
