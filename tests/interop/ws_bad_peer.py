#!/usr/bin/python3
"""A peer that breaks a WebSocket client's handshake on purpose, for
ws_ember_client.sh: answered as an origin, a GET gets a 101 with a wrong
Sec-WebSocket-Accept (RFC 6455 §4.1: the client must fail), except a GET
of /close-first: a valid 101, then after the client's first frame a clean
close (1000 "enough") from the server while the client may still be
sending (RFC 6455 §7.1.2: either side may start the close), for
/close-empty-first the same with a close frame that has no code (what
node ws and browsers send for a close() without arguments: 1005 to the
receiver), for /close-away-first with 1001, for /close-error-first with
1011, or for /drop-first a TCP reset instead of the close; answered as a
proxy, a CONNECT gets 403 and a request in absolute form 400. The first
line of every request is appended to the file --log names.

  ws_bad_peer.py [--port N] --log FILE

Prints "listening on 127.0.0.1:PORT" once it listens; SIGTERM stops it."""
import argparse
import base64
import hashlib
import signal
import socket
import struct
import sys
import threading


# What each /close-...-first path sends as the server's close frame.
CLOSES = {
    "close-first": b"\x88\x08\x03\xe8enough",
    "close-empty-first": b"\x88\x00",
    "close-away-first": b"\x88\x02\x03\xe9",
    "close-error-first": b"\x88\x02\x03\xf3",
    "drop-first": b"",
}


def serve(conn, log):
    with conn:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        first = head.split(b"\r\n", 1)[0].decode("latin-1")
        with open(log, "a") as f:
            f.write(first + "\n")
        if first.startswith("CONNECT "):
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        elif any(first.startswith("GET /%s " % p) for p in CLOSES):
            key = b""
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"sec-websocket-key:"):
                    key = line.split(b":", 1)[1].strip()
            acc = base64.b64encode(hashlib.sha1(
                key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
            conn.settimeout(5)
            rest = head.split(b"\r\n\r\n", 1)[1]
            try:
                while len(rest) < 2:
                    rest += conn.recv(4096)
                if first.startswith("GET /drop-first "):
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # a reset: the connection lost with no close frame
                conn.sendall(CLOSES[first.split(" ")[1][1:]])
                while conn.recv(4096):
                    pass
            except OSError:
                pass
        elif first.startswith("GET /"):
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n")
            conn.settimeout(5)
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass
        else:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(16)
    print("listening on 127.0.0.1:%d" % srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, a.log), daemon=True).start()


main()
