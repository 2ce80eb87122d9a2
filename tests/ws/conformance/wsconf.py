# The raw WebSocket peer of the conformance suite: frames built byte by
# byte, sent with chosen TCP splits and delays, and strict expectations on
# what the other end sends back. Standard library only (socket, zlib).
# cases.py holds the case table; ws_conformance.py is the command.
import base64
import errno
import hashlib
import os
import select
import socket
import struct
import time
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
OPNAMES = {0: "CONT", 1: "TEXT", 2: "BINARY", 8: "CLOSE", 9: "PING", 10: "PONG"}

# How long a peer may take to answer one small thing, and to move big
# messages: the suite runs on loaded shared machines.
T_SHORT = float(os.environ.get("WSCONF_TIMEOUT", "3"))
T_BIG = 60.0
# --via-proxy: a reset after a completed close handshake is the proxy's
# doing (nginx closes an upgraded connection without lingering), not the
# peer's, and is let through.
RESET_AFTER_CLOSE_OK = False


class Fail(Exception):
    pass


def opname(op):
    return OPNAMES.get(op, "op%d" % op)


def mask_bytes(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame(op, payload=b"", fin=True, rsv=0, mask=None, key=None, lenform=None):
    """One frame. mask: True/False (None: the role's default, filled in by
    Conn.frame). lenform: 7, 16 or 64 to force a length encoding."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    b0 = (0x80 if fin else 0) | (rsv & 0x70) | (op & 0x0F)
    m = 0x80 if mask else 0
    if lenform is None:
        lenform = 7 if n < 126 else 16 if n < 65536 else 64
    if lenform == 7:
        hdr = bytes([b0, m | n])
    elif lenform == 16:
        hdr = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        hdr = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if mask:
        key = key or os.urandom(4)
        return hdr + key + mask_bytes(payload, key)
    return hdr + payload


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, rsv, op, masked, payload):
        self.fin, self.rsv, self.op, self.masked, self.payload = fin, rsv, op, masked, payload

    def __repr__(self):
        p = self.payload
        s = p[:24].hex() + ("..." if len(p) > 24 else "")
        return "%s%s%s(%d: %s)" % (opname(self.op), "" if self.fin else "/nofin",
                                   "/rsv%x" % (self.rsv >> 4) if self.rsv else "", len(p), s)

    def close_code(self):
        if len(self.payload) >= 2:
            return struct.unpack("!H", self.payload[:2])[0]
        return None


# ---- permessage-deflate (RFC 7692) ----------------------------------------

def pmd_parse(value):
    """Sec-WebSocket-Extensions value -> list of (name, {param: value})."""
    out = []
    for ext in value.split(","):
        parts = [p.strip() for p in ext.split(";")]
        if not parts[0]:
            continue
        params = {}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip()] = v.strip().strip('"')
            else:
                params[p] = None
        out.append((parts[0], params))
    return out


class Deflate:
    """The negotiated parameters, from this side's point of view: 'tx' is
    what we compress with, 'rx' what we inflate with."""

    def __init__(self, tx_bits=15, tx_reset=False, rx_bits=15, rx_reset=False):
        self.tx_bits, self.tx_reset, self.rx_bits, self.rx_reset = tx_bits, tx_reset, rx_bits, rx_reset
        self._c = None
        self._d = None

    def compress(self, data):
        if self._c is None or self.tx_reset:
            self._c = zlib.compressobj(6, zlib.DEFLATED, -max(9, self.tx_bits))
        out = self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]

    def decompress(self, data, limit=None):
        if self._d is None or self.rx_reset:
            self._d = zlib.decompressobj(-self.rx_bits)
        try:
            out = self._d.decompress(data + b"\x00\x00\xff\xff")
        except zlib.error as e:
            raise Fail("cannot inflate the peer's message with window %d%s: %s" %
                       (self.rx_bits, ", no context takeover" if self.rx_reset else "", e))
        return out


# ---- one connection ---------------------------------------------------------

class Conn:
    def __init__(self, sock, role, log):
        self.s = sock
        self.role = role  # "client": our frames are masked, the peer's must not be
        self.log = log
        self.inbuf = bytearray()
        self.eof = False
        self.reset = None  # the errno when the peer reset the connection
        self.send_error = None
        self.deflate = None
        self.frames = []  # every frame received, for reports
        self.sent_close = False
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)

    # -- bytes out --
    def frame(self, op, payload=b"", fin=True, rsv=0, mask=None, key=None, lenform=None):
        if mask is None:
            mask = self.role == "client"
        return frame(op, payload, fin, rsv, mask, key, lenform)

    def send(self, data, chop=None, delay=0.0):
        """Send data (chop: in pieces of that many bytes, each its own TCP
        segment, delay seconds apart), reading whatever arrives meanwhile
        so a peer that echoes while we send never stalls us. Returns False
        (and keeps the errno) when the peer stopped taking bytes."""
        if self.send_error:
            return False
        view = memoryview(data)
        pieces = [view] if not chop else [view[i:i + chop] for i in range(0, len(view), chop)]
        for i, piece in enumerate(pieces):
            if i and delay:
                self.pump(delay)
            off = 0
            while off < len(piece):
                r, w, _ = select.select([self.s], [self.s], [], T_BIG)
                if r:
                    self._read_some()
                if w:
                    try:
                        off += self.s.send(piece[off:off + 262144])
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        self.send_error = e.errno
                        return False
                if not r and not w:
                    raise Fail("peer took no bytes for %ds" % T_BIG)
        return True

    def send_frame(self, *a, chop=None, delay=0.0, **kw):
        return self.send(self.frame(*a, **kw), chop, delay)

    def send_close(self, code=None, reason=b""):
        self.sent_close = True
        return self.send_frame(CLOSE, close_payload(code, reason))

    # -- bytes in --
    def _read_some(self):
        if self.eof:
            return 0
        try:
            b = self.s.recv(1 << 20)
        except BlockingIOError:
            return -1
        except OSError as e:
            self.reset = e.errno
            self.eof = True
            return 0
        if not b:
            self.eof = True
            return 0
        self.inbuf += b
        return len(b)

    def pump(self, seconds):
        """Read for up to seconds (fills inbuf; stops at EOF)."""
        end = time.monotonic() + seconds
        while not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                self._read_some()

    def _parse(self):
        b = self.inbuf
        if len(b) < 2:
            return None
        fin, rsv, op = bool(b[0] & 0x80), b[0] & 0x70, b[0] & 0x0F
        masked, n, off = bool(b[1] & 0x80), b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, off = struct.unpack("!H", b[2:4])[0], 4
            if n < 126:
                raise Fail("peer sent a 16-bit length for %d bytes (RFC 6455 5.2: minimal form)" % n)
        elif n == 127:
            if len(b) < 10:
                return None
            n, off = struct.unpack("!Q", b[2:10])[0], 10
            if n < 65536 or n >> 63:
                raise Fail("peer sent a bad 64-bit length %d" % n)
        key = None
        if masked:
            if len(b) < off + 4:
                return None
            key, off = bytes(b[off:off + 4]), off + 4
        if len(b) < off + n:
            return None
        payload = bytes(b[off:off + n])
        del b[:off + n]
        if masked:
            payload = mask_bytes(payload, key)
        f = Frame(fin, rsv, op, masked, payload)
        self.frames.append(f)
        return f

    def next_frame(self, timeout=T_SHORT):
        """The next frame, checked for what RFC 6455 demands of every frame
        from the peer; None at EOF; Fail after timeout."""
        end = time.monotonic() + timeout
        while True:
            f = self._parse()
            if f is not None:
                want_mask = self.role == "server"
                if f.masked != want_mask:
                    raise Fail("peer sent %s frame %r" % ("a masked" if f.masked else "an unmasked", f))
                if f.rsv and not (self.deflate and f.rsv == 0x40 and f.op in (TEXT, BINARY)):
                    raise Fail("peer set reserved bits: %r" % f)
                if f.op not in OPNAMES:
                    raise Fail("peer sent a reserved opcode: %r" % f)
                if f.op >= 8 and (not f.fin or len(f.payload) > 125):
                    raise Fail("peer sent a bad control frame: %r" % f)
                return f
            if self.eof:
                return None
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("nothing (more) from the peer within %.1fs%s" %
                           (timeout, "; got so far " + repr(self.frames[-3:]) if self.frames else ""))
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                self._read_some()

    def eof_desc(self):
        if self.reset:
            return "TCP reset (%s) instead of a close frame" % errno.errorcode.get(self.reset, self.reset)
        return "TCP closed without a close frame"

    # -- expectations --
    def expect_message(self, op, payload, timeout=T_SHORT, compressed=None):
        """The next data message (its fragments; pings in between are
        answered) must be op with exactly payload."""
        if isinstance(payload, str):
            payload = payload.encode()
        parts, first, rsv1 = [], None, False
        while True:
            f = self.next_frame(timeout)
            if f is None:
                raise Fail("expected a %s message of %d bytes: %s" % (opname(op), len(payload), self.eof_desc()))
            if f.op == PING:
                self.send_frame(PONG, f.payload)
                continue
            if f.op in (PONG, CLOSE):
                raise Fail("expected a %s message of %d bytes, got %r%s" %
                           (opname(op), len(payload), f, self._close_note(f)))
            if first is None:
                if f.op == CONT:
                    raise Fail("peer sent a continuation frame with no message open")
                first, rsv1 = f.op, bool(f.rsv & 0x40)
            elif f.op != CONT:
                raise Fail("peer started a new message inside a fragmented one: %r" % f)
            elif f.rsv:
                raise Fail("peer set RSV1 on a continuation frame: %r" % f)
            parts.append(f.payload)
            if f.fin:
                break
        data = b"".join(parts)
        if rsv1:
            if not self.deflate:
                raise Fail("peer compressed a message without permessage-deflate")
            data = self.deflate.decompress(data)
        if compressed is not None and rsv1 != compressed:
            raise Fail("message %s compressed, expected %s" % ("was" if rsv1 else "was not",
                                                                "compressed" if compressed else "plain"))
        if first != op:
            raise Fail("expected a %s message, got %s" % (opname(op), opname(first)))
        if data != payload:
            raise Fail("echo differs: sent %d bytes, got %d (first difference at %d)" %
                       (len(payload), len(data), next((i for i, (a, b) in enumerate(zip(payload, data)) if a != b),
                                                      min(len(payload), len(data)))))
        return rsv1

    def _close_note(self, f):
        if f.op == CLOSE:
            c = f.close_code()
            return " (close code %s, reason %r)" % (c, f.payload[2:].decode("utf-8", "replace"))
        return ""

    def expect_pong(self, payload, timeout=T_SHORT):
        f = self.next_frame(timeout)
        if f is None:
            raise Fail("expected a pong: %s" % self.eof_desc())
        if f.op != PONG:
            raise Fail("expected a pong, got %r%s" % (f, self._close_note(f)))
        if f.payload != payload:
            raise Fail("pong payload %r, sent ping payload %r" % (f.payload[:40], payload[:40]))

    def expect_nothing(self, seconds=0.5):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                f = self.next_frame(max(0.0, end - time.monotonic()))
            except Fail as e:
                if "nothing" in str(e):
                    return
                raise
            if f is None:
                raise Fail("expected nothing yet, but the peer ended: %s" % self.eof_desc())
            raise Fail("expected nothing, got %r%s" % (f, self._close_note(f)))

    def expect_close(self, codes, timeout=T_SHORT, what="close"):
        """The peer must send a close frame with one of codes (None: no
        code) as its next frame, then (after our reply) close TCP with a
        FIN. codes: an int, or a tuple of acceptable values."""
        if not isinstance(codes, tuple):
            codes = (codes,)
        while True:
            f = self.next_frame(timeout)
            if f is None:
                raise Fail("expected a %s with code %s: %s" % (what, "/".join(map(str, codes)), self.eof_desc()))
            if f.op == PONG and self.sent_close:
                continue  # a pong for a ping sent before our close may still come
            break
        if f.op != CLOSE:
            raise Fail("expected a %s with code %s, got %r" % (what, "/".join(map(str, codes)), f))
        code = f.close_code()
        if len(f.payload) == 1:
            raise Fail("peer's close frame has a 1-byte payload")
        if code not in codes:
            raise Fail("close code %s (reason %r), expected %s" %
                       (code, f.payload[2:].decode("utf-8", "replace"), "/".join(map(str, codes))))
        try:
            f.payload[2:].decode("utf-8")
        except UnicodeDecodeError:
            raise Fail("peer's close reason is not UTF-8")
        if not self.sent_close:
            self.send_close(code)  # echo it (RFC 6455 5.5.1)
        self.finish_tcp()
        return code

    def finish_tcp(self, timeout=T_SHORT):
        """After the close handshake: a client waits for the server to close
        TCP (RFC 6455 7.1.1) and it must be a FIN, not a reset; a server
        closes first and waits for the client's FIN."""
        if self.role == "server":
            try:
                self.s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        end = time.monotonic() + timeout
        while not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("peer kept the TCP connection open %.1fs after the close handshake" % timeout)
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                n = self._read_some()
                if n > 0:
                    junk = bytes(self.inbuf)
                    raise Fail("peer sent %d bytes after its close frame: %s" % (len(junk), junk[:16].hex()))
        if self.reset and not RESET_AFTER_CLOSE_OK:
            raise Fail("TCP reset (%s) instead of a FIN after the close handshake" %
                       errno.errorcode.get(self.reset, self.reset))

    def close_handshake(self, code=1000):
        """A clean end to a case that passed: we close, the peer echoes."""
        self.send_close(code)
        self.expect_close((code,) if code != 1000 else (1000,), what="close reply")


# ---- opening handshakes -----------------------------------------------------

def read_head(sock, timeout):
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = sock.recv(4096)
        if not b:
            raise Fail("connection closed during the opening handshake (got %r)" % buf[:200])
        buf += b
        if len(buf) > 65536:
            raise Fail("handshake head too long")
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        k = k.strip().lower()
        fields[k] = (fields[k] + ", " + v.strip()) if k in fields else v.strip()
    return lines[0], fields, rest


def client_connect(host, port, path, offer=None, timeout=T_SHORT * 2):
    """Connect and upgrade. offer: a Sec-WebSocket-Extensions value (or
    None). Returns (Conn, response fields)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, host, port, key))
    if offer:
        req += "Sec-WebSocket-Extensions: %s\r\n" % offer
    sock.sendall((req + "\r\n").encode())
    status, fields, rest = read_head(sock, timeout)
    if status.split(" ")[1:2] != ["101"]:
        raise Fail("handshake answered %r" % status)
    want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    if fields.get("sec-websocket-accept") != want:
        raise Fail("bad Sec-WebSocket-Accept %r" % fields.get("sec-websocket-accept"))
    if fields.get("upgrade", "").lower() != "websocket":
        raise Fail("101 without Upgrade: websocket")
    if "upgrade" not in [t.strip().lower() for t in fields.get("connection", "").split(",")]:
        raise Fail("101 without Connection: Upgrade")
    c = Conn(sock, "client", None)
    c.inbuf += rest
    return c, fields


def server_accept(lsock, timeout, answer_ext):
    """Accept one client and answer its upgrade. answer_ext(offer) -> the
    Sec-WebSocket-Extensions answer or None. Returns (Conn, request
    fields, path)."""
    lsock.settimeout(timeout)
    sock, _ = lsock.accept()
    status, fields, rest = read_head(sock, timeout)
    parts = status.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
        raise Fail("client's request line %r" % status)
    for k, v in (("upgrade", "websocket"), ("sec-websocket-version", "13")):
        if fields.get(k, "").lower() != v:
            raise Fail("client sent %s: %r" % (k, fields.get(k)))
    if "upgrade" not in [t.strip().lower() for t in fields.get("connection", "").split(",")]:
        raise Fail("client sent no Connection: Upgrade")
    if "host" not in fields:
        raise Fail("client sent no Host")
    key = fields.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        raise Fail("client's Sec-WebSocket-Key %r is not 16 bytes in base64" % key)
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n" % accept)
    ext = answer_ext(fields.get("sec-websocket-extensions")) if answer_ext else None
    if ext:
        resp += "Sec-WebSocket-Extensions: %s\r\n" % ext
    sock.sendall((resp + "\r\n").encode())
    c = Conn(sock, "server", None)
    c.inbuf += rest
    return c, fields, parts[1]
