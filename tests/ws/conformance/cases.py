# The case table, after Autobahn|Testsuite's groups 1-7, 9, 12 and 13
# (same ids where Autobahn has the case; ids Autobahn lacks are marked
# "ember:" in the description). Every case is strict: the exact frames,
# close code and a FIN at the end, in time, or it fails.
#
# A case is fn(c, ctx): c is a wsconf.Conn after the opening handshake
# (as a client of the server under test, or in mirrored mode as the server
# of the client under test: masking follows c.role), ctx holds the limits.
import random

from wsconf import (BINARY, CLOSE, CONT, PING, PONG, T_BIG, T_SHORT, TEXT, Deflate, Fail,
                    close_payload)

CASES = []


class Case:
    def __init__(self, cid, desc, fn, offer=None, modes=("client", "server"), may_decline=False):
        self.id, self.desc, self.fn, self.offer = cid, desc, fn, offer
        self.modes, self.may_decline = modes, may_decline


def case(cid, desc, offer=None, modes=("client", "server")):
    def reg(fn):
        CASES.append(Case(cid, desc, fn, offer, modes))
        return fn
    return reg


def add(cid, desc, fn, **kw):
    CASES.append(Case(cid, desc, fn, **kw))


# ---- building blocks ----------------------------------------------------------

def echo_case(op, payload, chop=None, delay=0.0, timeout=T_SHORT):
    def fn(c, ctx):
        c.send_frame(op, payload, chop=chop, delay=delay)
        c.expect_message(op, payload, timeout=timeout)
        c.close_handshake()
    return fn


def fail_case(frames, code, before=(), chop=None, delay=0.0, frame_wise=False):
    """Send frames (bytes each; frame_wise: one at a time with a pause),
    expect the events in before (("msg", op, payload) or ("pong", p)),
    then a close with code and nothing else (no pong for a later ping)."""
    def fn(c, ctx):
        fs = [f(c) if callable(f) else f for f in frames]
        if frame_wise:
            for f in fs:
                c.send(f, chop=chop, delay=delay)
                c.pump(0.1)
        else:
            c.send(b"".join(fs), chop=chop, delay=delay)
        for ev in before:
            if ev[0] == "msg":
                c.expect_message(ev[1], ev[2])
            else:
                c.expect_pong(ev[1])
        c.expect_close(code)
    return fn


def F(op, payload=b"", **kw):
    """A frame to build on the case's connection (masked as its role wants)."""
    return lambda c: c.frame(op, payload, **kw)


# ---- 1 framing ------------------------------------------------------------------

SIZES = [0, 125, 126, 127, 128, 65535, 65536]
for i, n in enumerate(SIZES):
    add("1.1.%d" % (i + 1), "text message, %d bytes" % n, echo_case(TEXT, b"*" * n))
add("1.1.8", "text message, 65536 bytes, sent in 997-byte TCP pieces",
    echo_case(TEXT, b"*" * 65536, chop=997))
for i, n in enumerate(SIZES):
    add("1.2.%d" % (i + 1), "binary message, %d bytes" % n, echo_case(BINARY, b"\xfe" * n))
add("1.2.8", "binary message, 65536 bytes, sent in 997-byte TCP pieces",
    echo_case(BINARY, b"\xfe" * 65536, chop=997))
add("1.3.1", "ember: 16-bit length for a 5-byte payload (not minimal) -> 1002",
    fail_case([F(TEXT, b"hello", lenform=16)], 1002))
add("1.3.2", "ember: 64-bit length for a 200-byte payload (not minimal) -> 1002",
    fail_case([F(TEXT, b"a" * 200, lenform=64)], 1002))
add("1.3.3", "ember: 64-bit length with the top bit set -> 1002",
    fail_case([lambda c: bytes([0x82, (0x80 if c.role == "client" else 0) | 127]) +
               b"\x80\x00\x00\x00\x00\x00\x00\x10" + (b"\x00" * 4 if c.role == "client" else b"")], 1002))
add("1.3.4", "ember: a frame masked the wrong way for its direction -> 1002",
    fail_case([lambda c: c.frame(TEXT, b"hello", mask=c.role != "client")], 1002))


@case("1.3.5", "ember: 65536-byte binary frame, its 14-byte header in 1-byte TCP pieces")
def _c135(c, ctx):
    data = random.Random(135).randbytes(65536)
    f = c.frame(BINARY, data)
    c.send(f[:14], chop=1, delay=0.005)
    c.send(f[14:])
    c.expect_message(BINARY, data)
    c.close_handshake()


# ---- 2 pings and pongs ------------------------------------------------------------

def ping_case(payload, chop=None, delay=0.0):
    def fn(c, ctx):
        c.send_frame(PING, payload, chop=chop, delay=delay)
        c.expect_pong(payload)
        c.close_handshake()
    return fn


add("2.1", "ping, no payload", ping_case(b""))
add("2.2", "ping with a small text payload", ping_case(b"Hello, world!"))
add("2.3", "ping with a small binary payload", ping_case(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"))
add("2.4", "ping with a 125-byte payload", ping_case(b"\xfe" * 125))
add("2.5", "ping with a 126-byte payload -> 1002", fail_case([F(PING, b"\xfe" * 126)], 1002))
add("2.6", "ping with a 125-byte payload, sent in 1-byte TCP pieces", ping_case(b"\xfe" * 125, chop=1, delay=0.002))


def unsolicited_pong(payload, then_ping=None):
    def fn(c, ctx):
        c.send_frame(PONG, payload)
        if then_ping is not None:
            c.send_frame(PING, then_ping)
            c.expect_pong(then_ping)
        c.expect_nothing(0.3)
        c.close_handshake()
    return fn


add("2.7", "unsolicited pong, no payload: ignored", unsolicited_pong(b""))
add("2.8", "unsolicited pong with payload: ignored", unsolicited_pong(b"unsolicited pong payload"))
add("2.9", "unsolicited pong, then ping: one pong, for the ping", unsolicited_pong(b"unsolicited", b"ping payload"))


def ten_pings(frame_wise):
    def fn(c, ctx):
        pl = [("payload-%d" % i).encode() for i in range(10)]
        if frame_wise:
            for p in pl:
                c.send_frame(PING, p, chop=1, delay=0.001)
        else:
            c.send(b"".join(c.frame(PING, p) for p in pl))
        for p in pl:
            c.expect_pong(p)
        c.close_handshake()
    return fn


add("2.10", "10 pings at once: 10 pongs in order", ten_pings(False))
add("2.11", "10 pings, each in 1-byte TCP pieces: 10 pongs in order", ten_pings(True))

# ---- 3 reserved bits ------------------------------------------------------------------

add("3.1", "text with RSV3 set -> 1002", fail_case([F(TEXT, b"Hello, world!", rsv=0x10)], 1002))
for cid, how in (("3.2", {}), ("3.3", {"frame_wise": True}), ("3.4", {"chop": 1})):
    add(cid, "text; text with RSV2; ping%s -> echo, 1002, no pong" %
        {"3.2": "", "3.3": " (frame by frame)", "3.4": " (1-byte TCP pieces)"}[cid],
        fail_case([F(TEXT, b"Hello, world!"), F(TEXT, b"Hello, world!", rsv=0x20), F(PING, b"")], 1002,
                  before=[("msg", TEXT, b"Hello, world!")], **how))
add("3.5", "binary with RSV2|RSV3 -> 1002", fail_case([F(BINARY, b"\x00\xff\xfe\xfd" * 64, rsv=0x30)], 1002))
add("3.6", "ping with RSV1|RSV3 -> 1002", fail_case([F(PING, b"Hello, world!", rsv=0x50)], 1002))
add("3.7", "close with RSV1|RSV2 -> 1002", fail_case([F(CLOSE, close_payload(1000), rsv=0x60)], 1002))

# ---- 4 opcodes ---------------------------------------------------------------------------

for base, grp, kind in ((3, "4.1", "non-control"), (11, "4.2", "control")):
    ops = [base, base + 1, base + 2, base + 3, base + 4]
    add(grp + ".1", "reserved %s opcode %d, empty -> 1002" % (kind, ops[0]), fail_case([F(ops[0])], 1002))
    add(grp + ".2", "reserved %s opcode %d with payload -> 1002" % (kind, ops[1]),
        fail_case([F(ops[1], b"reserved opcode payload")], 1002))
    for j, how in ((3, {}), (4, {"frame_wise": True}), (5, {"chop": 1})):
        op = ops[j - 1]
        add("%s.%d" % (grp, j), "text; reserved %s opcode %d; ping%s -> echo, 1002, no pong" %
            (kind, op, {3: "", 4: " (frame by frame)", 5: " (1-byte TCP pieces)"}[j]),
            fail_case([F(TEXT, b"Hello, world!"), F(op, b"x"), F(PING, b"")], 1002,
                      before=[("msg", TEXT, b"Hello, world!")], **how))

# ---- 5 fragmentation ------------------------------------------------------------------------

add("5.1", "ping in 2 fragments -> 1002",
    fail_case([F(PING, b"fragment1", fin=False), F(CONT, b"fragment2")], 1002))
add("5.2", "pong in 2 fragments -> 1002",
    fail_case([F(PONG, b"fragment1", fin=False), F(CONT, b"fragment2")], 1002))


def frags_case(op, pieces, pings=(), chop=None, frame_wise=False, pause=0.0):
    """A message in fragments (pings[i]: a ping payload sent after fragment
    i), echoed whole; each ping answered in order."""
    def fn(c, ctx):
        out = []
        for i, p in enumerate(pieces):
            out.append(c.frame(op if i == 0 else CONT, p, fin=i == len(pieces) - 1))
            if i < len(pings) and pings[i] is not None:
                out.append(c.frame(PING, pings[i]))
        if frame_wise:
            for f in out:
                c.send(f)
                c.pump(pause or 0.05)
        else:
            c.send(b"".join(out), chop=chop, delay=0.001 if chop else 0)
        for p in pings:
            if p is not None:
                c.expect_pong(p)
        c.expect_message(op, b"".join(pieces))
        c.close_handshake()
    return fn


add("5.3", "text in 2 fragments", frags_case(TEXT, [b"fragment1", b"fragment2"]))
add("5.4", "text in 2 fragments, 1-byte TCP pieces", frags_case(TEXT, [b"fragment1", b"fragment2"], chop=1))
add("5.5", "text in 2 fragments, frame by frame", frags_case(TEXT, [b"fragment1", b"fragment2"], frame_wise=True))
add("5.6", "text in 2 fragments, a ping between", frags_case(TEXT, [b"fragment1", b"fragment2"], [b"pongme!"]))
add("5.7", "text in 2 fragments, a ping between, 1-byte TCP pieces",
    frags_case(TEXT, [b"fragment1", b"fragment2"], [b"pongme!"], chop=1))
add("5.8", "text in 2 fragments, a ping between, frame by frame",
    frags_case(TEXT, [b"fragment1", b"fragment2"], [b"pongme!"], frame_wise=True))
for cid, how in (("5.9", {}), ("5.10", {"chop": 1}), ("5.11", {"frame_wise": True})):
    add(cid, "continuation (FIN) with no message open -> 1002%s" % ("" if not how else " (%s)" % list(how)[0]),
        fail_case([F(CONT, b"non-continuation payload"), F(TEXT, b"Hello, world!")], 1002, **how))
for cid, how in (("5.12", {}), ("5.13", {"chop": 1}), ("5.14", {"frame_wise": True})):
    add(cid, "continuation (no FIN) with no message open -> 1002%s" % ("" if not how else " (%s)" % list(how)[0]),
        fail_case([F(CONT, b"non-continuation payload", fin=False), F(TEXT, b"Hello, world!")], 1002, **how))
add("5.15", "text in 2 fragments; then continuation (no FIN), text -> echo, 1002",
    fail_case([F(TEXT, b"fragment1", fin=False), F(CONT, b"fragment2"),
               F(CONT, b"fragment3", fin=False), F(TEXT, b"fragment4")], 1002,
              before=[("msg", TEXT, b"fragment1fragment2")]))
add("5.16", "continuation (no FIN), text (no FIN), continuation (FIN) -> 1002",
    fail_case([F(CONT, b"fragment1", fin=False), F(TEXT, b"fragment2", fin=False), F(CONT, b"fragment3")], 1002))
add("5.17", "continuation (FIN), text (no FIN), continuation (FIN) -> 1002",
    fail_case([F(CONT, b"fragment1"), F(TEXT, b"fragment2", fin=False), F(CONT, b"fragment3")], 1002))
add("5.18", "text (no FIN), then text (FIN) inside the message -> 1002",
    fail_case([F(TEXT, b"fragment1", fin=False), F(TEXT, b"fragment2")], 1002))
add("5.19", "text in 5 fragments, pings between, 1 s pauses: pongs first, then the echo",
    frags_case(TEXT, [b"fragment%d" % i for i in range(1, 6)], [None, b"pongme 1!", None, b"pongme 2!"],
               frame_wise=True, pause=0.5))


@case("5.20", "text in 5 fragments, pings between: each pong while the message is still open")
def _c520(c, ctx):
    pieces = [b"fragment%d" % i for i in range(1, 6)]
    for i, p in enumerate(pieces):
        c.send_frame(TEXT if i == 0 else CONT, p, fin=i == 4)
        if i in (1, 3):
            c.send_frame(PING, b"pongme %d!" % i)
            c.expect_pong(b"pongme %d!" % i)
    c.expect_message(TEXT, b"".join(pieces))
    c.close_handshake()


# ---- 6 UTF-8 ------------------------------------------------------------------------------------

add("6.1.1", "empty text message", echo_case(TEXT, b""))
add("6.1.2", "text in 3 empty fragments", frags_case(TEXT, [b"", b"", b""]))
add("6.1.3", "text: empty, 'middle frame payload', empty fragments",
    frags_case(TEXT, [b"", b"middle frame payload", b""]))
HELLO = "Hello-µ@ßöäüàá-UTF-8!!".encode()
KOSME = "κόσμε".encode()
add("6.2.1", "valid UTF-8 text, one frame", echo_case(TEXT, HELLO))
add("6.2.2", "valid UTF-8 text in 2 fragments split between code points", frags_case(TEXT, [HELLO[:6], HELLO[6:]]))
add("6.2.3", "valid UTF-8 text, one frame in 1-byte TCP pieces", echo_case(TEXT, HELLO, chop=1, delay=0.001))
add("6.2.4", "valid UTF-8 text in 1-byte fragments (code points split across frames)",
    frags_case(TEXT, [KOSME[i:i + 1] for i in range(len(KOSME))]))
BAD = KOSME + b"\xed\xa0\x80" + b"edited"
add("6.3.1", "invalid UTF-8 (a surrogate) in one frame -> 1007", fail_case([F(TEXT, BAD)], 1007))
add("6.3.2", "invalid UTF-8 in one frame, 1-byte TCP pieces -> 1007", fail_case([F(TEXT, BAD)], 1007, chop=1))


def fail_fast(steps, desc_when):
    """steps: byte strings to send with a pause after each; the last but one
    holds the invalid bytes. A strict peer closes with 1007 before the last
    step is sent."""
    def fn(c, ctx):
        parts = steps(c)
        for p in parts[:-1]:
            c.send(p)
            c.pump(0.05)
        try:
            c.expect_close(1007, timeout=max(1.0, T_SHORT))
        except Fail as e:
            if "nothing" in str(e):
                # Not failed fast; find out whether it fails at all.
                c.send(parts[-1])
                try:
                    c.expect_close(1007)
                    raise Fail("closed 1007 only once the %s (not fail-fast)" % desc_when)
                except Fail as e2:
                    if "not fail-fast" in str(e2):
                        raise
                    raise Fail("no close within %.1fs of the invalid bytes, and after the rest: %s" %
                               (max(1.0, T_SHORT), e2))
            raise
    return fn


def ff_frames(first, second, third):
    return lambda c: [c.frame(TEXT, first, fin=False), c.frame(CONT, second, fin=False), c.frame(CONT, third)]


def ff_one_frame(chunks):
    def build(c):
        f = c.frame(TEXT, b"".join(chunks))
        hdr = len(f) - sum(len(x) for x in chunks)
        out, off = [], hdr
        for i, ch in enumerate(chunks):
            out.append(f[:off + len(ch)] if i == 0 else f[off:off + len(ch)])
            off += len(ch)
        return out
    return build


add("6.4.1", "fail-fast: fragment 2 of 3 is invalid UTF-8 (U+110000): 1007 before fragment 3",
    fail_fast(ff_frames(KOSME, b"\xf4\x90\x80\x80", b"edited"), "last fragment came"))
add("6.4.2", "fail-fast: fragment 2 of 3 completes an invalid sequence begun in fragment 1: 1007 before fragment 3",
    fail_fast(ff_frames(KOSME + b"\xf4", b"\x90\x80\x80", b"edited"), "last fragment came"))
add("6.4.3", "fail-fast within one frame: invalid bytes in its 2nd TCP piece: 1007 before the 3rd",
    fail_fast(ff_one_frame([KOSME, b"\xf4\x90\x80\x80", b"edited"]), "rest of the frame came"))
add("6.4.4", "fail-fast within one frame: \\xf4 then \\x90 in separate TCP pieces: 1007 before the rest",
    fail_fast(ff_one_frame([KOSME, b"\xf4", b"\x90", b"\x80\x80edited"]), "rest of the frame came"))

# The UTF-8 vectors (Markus Kuhn's decoder test, as Autobahn's 6.5-6.23):
# each sent as one text message; Python's strict decoder is the oracle.
VECTORS = [
    ("6.5", "valid sequences", ["cebae1bdb9cf83cebcceb5", "ce", "cebae1", "cebae1bdb9cf83cebcce"]),
    ("6.6", "prefixes of 'κόσμε'", ["ce", "ceba", "cebae1", "cebae1bd", "cebae1bdb9", "cebae1bdb9cf",
                                     "cebae1bdb9cf83", "cebae1bdb9cf83ce", "cebae1bdb9cf83cebc",
                                     "cebae1bdb9cf83cebcce", "cebae1bdb9cf83cebcceb5"]),
    ("6.7", "first possible sequence of each length", ["00", "c280", "e0a080", "f0908080"]),
    ("6.8", "first impossible: 5 and 6 bytes", ["f888808080", "fc8480808080"]),
    ("6.9", "last possible sequence of each length", ["7f", "dfbf", "efbfbf", "f48fbfbf"]),
    ("6.10", "last impossible", ["f7bfbfbf", "fbbfbfbfbf", "fdbfbfbfbfbf"]),
    ("6.11", "other boundaries", ["ed9fbf", "ee8080", "efbfbd", "f48fbfbf", "f4908080"]),
    ("6.12", "unexpected continuation bytes", ["80", "bf", "80bf", "80bf80", "80bf80bf", "80bf80bf80",
                                                "80bf80bf80bf", "808182838485868788898a8b8c8d8e8f"]),
    ("6.13", "lonely start bytes", ["c020c120c220", "e020e120ef20", "f020f720", "f820fb20", "fc20fd20"]),
    ("6.14", "sequences with the last byte missing", ["c0", "e080", "f08080", "f8808080", "fc80808080",
                                                       "df", "efbf", "f7bfbf", "fbbfbfbf", "fdbfbfbfbf"]),
    ("6.15", "concatenated incomplete sequences", ["c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf"]),
    ("6.16", "impossible bytes", ["fe", "ff", "fefeffff"]),
    ("6.17", "overlong ASCII '/'", ["c0af", "e080af", "f08080af", "f8808080af", "fc80808080af"]),
    ("6.18", "maximum overlong sequences", ["c1bf", "e09fbf", "f08fbfbf", "f887bfbfbf", "fc83bfbfbfbf"]),
    ("6.19", "overlong NUL", ["c080", "e08080", "f0808080", "f880808080", "fc8080808080"]),
    ("6.20", "single UTF-16 surrogates", ["eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"]),
    ("6.21", "paired UTF-16 surrogates", ["eda080edb080", "eda080edbfbf", "edadbfedb080", "edadbfedbfbf",
                                          "edae80edb080", "edae80edbfbf", "edafbfedb080", "edafbfedbfbf"]),
    ("6.22", "noncharacters (valid)", ["efbfbe", "efbfbf", "f09fbfbe", "f09fbfbf", "f48fbfbe", "f48fbfbf",
                                        "efb790", "efb7af"]),
    ("6.23", "replacement character and friends", ["efbfbd", "61efbfbd62", "c2a0", "e280a8"]),
]


def utf8_case(data, frag):
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    if frag:
        pieces = [data[i:i + 1] for i in range(len(data))]
        if valid:
            return frags_case(TEXT, pieces), valid
        fs = [F(TEXT if i == 0 else CONT, p, fin=i == len(pieces) - 1) for i, p in enumerate(pieces)]
        return fail_case(fs, 1007), valid
    return (echo_case(TEXT, data) if valid else fail_case([F(TEXT, data)], 1007)), valid


for grp, what, vecs in VECTORS:
    for i, hx in enumerate(vecs):
        data = bytes.fromhex(hx)
        fn, valid = utf8_case(data, False)
        add("%s.%d" % (grp, i + 1), "%s: %s, one frame -> %s" % (what, hx, "echo" if valid else "1007"), fn)
        fn, valid = utf8_case(data, True)
        add("%s.%d.f" % (grp, i + 1), "%s: %s, 1-byte fragments -> %s" % (what, hx, "echo" if valid else "1007"), fn)

# ---- 7 close handling --------------------------------------------------------------------------------


@case("7.1.1", "echo, then a clean close")
def _c711(c, ctx):
    c.send_frame(TEXT, b"Hello World!")
    c.expect_message(TEXT, b"Hello World!")
    c.close_handshake()


def after_close(extra):
    def fn(c, ctx):
        c.sent_close = True
        c.send(c.frame(CLOSE, close_payload(1000)) + b"".join(f(c) for f in extra))
        c.expect_close(1000)
    return fn


add("7.1.2", "close, then a second close: one close back", after_close([F(CLOSE, close_payload(1000))]))
add("7.1.3", "close, then a ping: no pong", after_close([F(PING, b"Hello World!")]))
add("7.1.4", "close, then text: no echo", after_close([F(TEXT, b"Hello World!")]))


@case("7.1.5", "first fragment, close, last fragment: no echo, close back")
def _c715(c, ctx):
    c.sent_close = True
    c.send(c.frame(TEXT, b"fragment1", fin=False) + c.frame(CLOSE, close_payload(1000)) +
           c.frame(CONT, b"fragment2"))
    c.expect_close(1000)


@case("7.1.6", "256 KiB text, close, ping: echo, then close back, no pong")
def _c716(c, ctx):
    big = b"BAsd7&jh23" * 26214
    c.sent_close = True
    c.send(c.frame(TEXT, big) + c.frame(CLOSE, close_payload(1000)) + c.frame(PING, b"Hello World!"))
    c.expect_message(TEXT, big, timeout=T_BIG)
    c.expect_close(1000)


def close_with(payload, codes, lenform=None):
    def fn(c, ctx):
        c.sent_close = True
        c.send_frame(CLOSE, payload, lenform=lenform)
        c.expect_close(codes)
    return fn


add("7.3.1", "close with no payload -> close with no code or 1000", close_with(b"", (None, 1000)))
add("7.3.2", "close with a 1-byte payload -> 1002", close_with(b"\x03", 1002))
add("7.3.3", "close 1000, no reason -> 1000", close_with(close_payload(1000), 1000))
add("7.3.4", "close 1000 with a reason -> 1000", close_with(close_payload(1000, "Hello World!"), 1000))
add("7.3.5", "close 1000 with a 123-byte reason -> 1000", close_with(close_payload(1000, "*" * 123), 1000))
add("7.3.6", "close 1000 with a 124-byte reason (126-byte control frame) -> 1002",
    close_with(close_payload(1000, "*" * 124), 1002))
add("7.5.1", "close 1000 with an invalid UTF-8 reason -> 1007",
    close_with(close_payload(1000) + KOSME + b"\xed\xa0\x80edited", 1007))
for i, code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]):
    add("7.7.%d" % (i + 1), "close with valid code %d -> that code (or 1000) back" % code,
        close_with(close_payload(code), (code, 1000) if code != 1000 else 1000))
for i, code in enumerate([1012, 1013, 1014]):
    add("7.7.%d" % (i + 14), "ember: close with IANA-registered code %d -> that code (or 1000) back" % code,
        close_with(close_payload(code), (code, 1000)))
for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999]):
    add("7.9.%d" % (i + 1), "close with invalid code %d -> 1002" % code, close_with(close_payload(code), 1002))
add("7.9.10", "ember: close with invalid code 1015 (TLS failure, never on the wire) -> 1002",
    close_with(close_payload(1015), 1002))
add("7.13.1", "close with code 5000 -> 1002", close_with(close_payload(5000), 1002))
add("7.13.2", "close with code 65535 -> 1002", close_with(close_payload(65535), 1002))

# ---- 9 limits and volume ------------------------------------------------------------------------------------

MIB = 1 << 20


def big_payload(n, op):
    if op == TEXT:
        unit = b"*" * 1023 + b"\n"
    else:
        unit = bytes(range(256)) * 4
    return (unit * (n // len(unit) + 1))[:n]


for grp, op in (("9.1", TEXT), ("9.2", BINARY)):
    for i, n in enumerate([64 << 10, 256 << 10, MIB, 4 * MIB, 8 * MIB, 16 * MIB]):
        add("%s.%d" % (grp, i + 1), "%s message of %s%s" % ("text" if op == TEXT else "binary",
                                                            "%d KiB" % (n >> 10) if n < MIB else "%d MiB" % (n >> 20),
                                                            " (exactly the default limit: must pass)" if n == 16 * MIB else ""),
            lambda c, ctx, n=n, op=op: echo_case(op, big_payload(n, op), timeout=T_BIG)(c, ctx))


def frag_big(op, n, size):
    def fn(c, ctx):
        data = big_payload(n, op)
        frames = [c.frame(op if o == 0 else CONT, data[o:o + size], fin=o + size >= n) for o in range(0, n, size)]
        c.send(b"".join(frames))
        c.expect_message(op, data, timeout=T_BIG)
        c.close_handshake()
    return fn


for grp, op in (("9.3", TEXT), ("9.4", BINARY)):
    for i, size in enumerate([64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, MIB, 4 * MIB]):
        add("%s.%d" % (grp, i + 1), "4 MiB %s message in fragments of %d bytes" %
            ("text" if op == TEXT else "binary", size), frag_big(op, 4 * MIB, size))
for grp, op in (("9.5", TEXT), ("9.6", BINARY)):
    for i, chop in enumerate([64, 128, 256, 512, 1024, 2048]):
        add("%s.%d" % (grp, i + 1), "1 MiB %s message sent in %d-byte TCP pieces" %
            ("text" if op == TEXT else "binary", chop),
            lambda c, ctx, op=op, chop=chop: echo_case(op, big_payload(MIB, op), chop=chop, timeout=T_BIG)(c, ctx))


def round_trips(op, size, count=1000):
    def fn(c, ctx):
        data = big_payload(size, op)
        for _ in range(count):
            c.send_frame(op, data)
            c.expect_message(op, data)
        c.close_handshake()
    return fn


for grp, op in (("9.7", TEXT), ("9.8", BINARY)):
    for i, size in enumerate([0, 16, 64, 256, 1024, 4096]):
        add("%s.%d" % (grp, i + 1), "1000 round trips of %d-byte %s messages" %
            (size, "text" if op == TEXT else "binary"), round_trips(op, size))


@case("9.9.1", "ember: 100,000 one-byte binary fragments of one message")
def _c991(c, ctx):
    n = 100000
    key = b"\x01\x02\x03\x04"
    c.send(b"".join(c.frame(BINARY if i == 0 else CONT, b"\x07", fin=i == n - 1, key=key) for i in range(n)))
    c.expect_message(BINARY, b"\x07" * n, timeout=T_BIG)
    c.close_handshake()


@case("9.9.2", "ember: 10,000 small text messages sent at once, echoed in order")
def _c992(c, ctx):
    msgs = [b"message %d" % i for i in range(10000)]
    c.send(b"".join(c.frame(TEXT, m) for m in msgs))
    for m in msgs:
        c.expect_message(TEXT, m, timeout=T_BIG)
    c.close_handshake()


def over_limit(fragmented):
    def fn(c, ctx):
        n = ctx.max_message + 1
        data = big_payload(n, BINARY)
        if fragmented:
            h = n // 2
            c.send(c.frame(BINARY, data[:h], fin=False) + c.frame(CONT, data[h:]))
        else:
            c.send_frame(BINARY, data)
        c.expect_close(1009, timeout=T_BIG)
    return fn


add("9.10.1", "ember: binary message one byte over the limit, one frame -> 1009", over_limit(False))
add("9.10.2", "ember: binary message one byte over the limit, 2 fragments -> 1009", over_limit(True))


@case("9.10.3", "ember: limit - 1 then limit bytes, back to back: both echoed")
def _c9103(c, ctx):
    for n in (ctx.max_message - 1, ctx.max_message):
        data = big_payload(n, BINARY)
        c.send_frame(BINARY, data)
        c.expect_message(BINARY, data, timeout=T_BIG)
    c.close_handshake()


# ---- 12 / 13 permessage-deflate ---------------------------------------------------------------------------
# Client mode: the case's offer is ours and the server answers. Mirrored
# mode: the client is asked to offer (--compress) and the case's offer is
# our answer (13.10, window 8, and 13.11, three offers, are client mode
# only: neither is an answer a server may give or keep).

def check_pmd_answer(offers, answer):
    """The server's Sec-WebSocket-Extensions against our offers (RFC 7692
    7.1): returns a Deflate for the negotiated parameters."""
    from wsconf import pmd_parse
    if not answer:
        raise Fail("server declined permessage-deflate")
    exts = pmd_parse(answer)
    if len(exts) != 1 or exts[0][0] != "permessage-deflate":
        raise Fail("server answered extensions %r" % answer)
    p = exts[0][1]
    for k in p:
        if k not in ("server_no_context_takeover", "client_no_context_takeover",
                     "server_max_window_bits", "client_max_window_bits"):
            raise Fail("unknown parameter %r in %r" % (k, answer))
    if answer.count("max_window_bits") != len([k for k in p if k.endswith("max_window_bits")]):
        raise Fail("duplicate parameter in %r" % answer)
    for k in ("server_no_context_takeover", "client_no_context_takeover"):
        if k in p and p[k] is not None:
            raise Fail("%s with a value in %r" % (k, answer))
    for k in ("server_max_window_bits", "client_max_window_bits"):
        if k in p and (p[k] is None or not p[k].isdigit() or not 8 <= int(p[k]) <= 15 or p[k][0] == "0"):
            raise Fail("%s needs a value 8..15 in the answer: %r" % (k, answer))
    ok = None
    for o in offers:
        if "server_no_context_takeover" in o and "server_no_context_takeover" not in p:
            continue
        if "server_max_window_bits" in o and int(p.get("server_max_window_bits", 15)) > int(o["server_max_window_bits"]):
            continue
        if "client_max_window_bits" in p:
            if "client_max_window_bits" not in o:
                continue
            if o["client_max_window_bits"] and int(p["client_max_window_bits"]) > int(o["client_max_window_bits"]):
                continue
        ok = o
        break
    if ok is None:
        raise Fail("answer %r fits none of the offers" % answer)
    tx_bits = int(p.get("client_max_window_bits") or ok.get("client_max_window_bits") or 15)
    return Deflate(tx_bits=tx_bits, tx_reset="client_no_context_takeover" in p,
                   rx_bits=int(p.get("server_max_window_bits", 15)),
                   rx_reset="server_no_context_takeover" in p)


def corpus(kind, n, seed):
    r = random.Random(seed)
    if kind == "text":
        words = ["ember", "websocket", "deflate", "frame", "window", "context", "takeover", "λόγος", "κόσμε",
                 "message", "echo", "server", "client", "byte"]
        out, total = [], 0
        while total < n:
            out.append(r.choice(words))
            total += len(out[-1]) + 1
        return " ".join(out).encode()[:n].decode("utf-8", "ignore").encode()
    if kind == "random":
        return r.randbytes(n)
    # "far": a random block repeated at distances past 512 bytes: a server
    # that uses a bigger window than it announced makes back-references
    # our inflater (with the announced window) cannot follow.
    block = r.randbytes(700)
    return (block * (n // 700 + 1))[:n]


def pmd_messages(op, kind, sizes, repeat=1, chop=None):
    def fn(c, ctx):
        for rep in range(repeat):
            for n in sizes:
                data = corpus(kind, n, n + rep * 7 if kind != "far" else 1)
                if op == TEXT:
                    data = data.decode("utf-8", "ignore").encode()
                if c.deflate:
                    c.send(c.frame(op, c.deflate.compress(data), rsv=0x40), chop=chop)
                else:  # declined (allowed for window 8: zlib cannot deflate with it)
                    c.send(c.frame(op, data), chop=chop)
                c.expect_message(op, data, timeout=T_BIG)
        c.close_handshake()
    return fn


PMD = "permessage-deflate; client_max_window_bits"
SIZES_PMD = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072]
for grp, op, kind in (("12.1", TEXT, "text"), ("12.2", BINARY, "text"), ("12.3", TEXT, "text"),
                      ("12.4", BINARY, "random"), ("12.5", BINARY, "far")):
    for i, n in enumerate(SIZES_PMD):
        chop = 61 if grp == "12.3" else None
        add("%s.%d" % (grp, i + 1), "deflate: 20 %s messages of %d bytes (%s%s), context takeover" %
            ("text" if op == TEXT else "binary", n, kind, ", 61-byte TCP pieces" if chop else ""),
            pmd_messages(op, kind, [n], repeat=20, chop=chop), offer=PMD)

OFFERS13 = [
    ("permessage-deflate", "default offer"),
    ("permessage-deflate; client_no_context_takeover", "client_no_context_takeover"),
    ("permessage-deflate; server_no_context_takeover", "server_no_context_takeover"),
    ("permessage-deflate; server_no_context_takeover; client_no_context_takeover", "no context takeover both ways"),
    ("permessage-deflate; server_max_window_bits=9", "server_max_window_bits=9"),
    ("permessage-deflate; server_max_window_bits=15", "server_max_window_bits=15"),
    ("permessage-deflate; client_max_window_bits=9", "client_max_window_bits=9"),
    ("permessage-deflate; client_max_window_bits=15", "client_max_window_bits=15"),
    ("permessage-deflate; server_max_window_bits=9; client_max_window_bits=9; server_no_context_takeover; "
     "client_no_context_takeover", "window 9 and no context takeover both ways"),
    ("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
     "window 8 both ways (declining is allowed)"),
    ("permessage-deflate; server_max_window_bits=10; client_max_window_bits=10, permessage-deflate; "
     "client_max_window_bits, permessage-deflate", "three offers, best first"),
]
for i, (offer, what) in enumerate(OFFERS13):
    for j, (op, kind) in enumerate(((TEXT, "text"), (BINARY, "far"))):
        add("13.%d.%d" % (i + 1, j + 1), "deflate, %s: 10 rounds of %s messages 64 B-64 KiB, each echo inflated with "
            "the announced window and takeover" % (what, "text" if op == TEXT else "repeating binary"),
            pmd_messages(op, kind, [64, 1000, 4096, 65536], repeat=10), offer=offer,
            modes=("client",) if i >= 9 else ("client", "server"), may_decline="=8" in offer)


@case("12.9.1", "ember: deflate: compressed ping (RSV1 on a control frame) -> 1002", offer=PMD)
def _c1291(c, ctx):
    fail_case([F(PING, b"abc", rsv=0x40)], 1002)(c, ctx)


@case("12.9.2", "ember: deflate: RSV1 on a continuation frame -> 1002", offer=PMD)
def _c1292(c, ctx):
    z = c.deflate.compress(b"fragment1fragment2")
    fail_case([F(TEXT, z[:4], fin=False, rsv=0x40), F(CONT, z[4:], rsv=0x40)], 1002)(c, ctx)


@case("12.9.3", "ember: deflate: corrupt compressed data -> 1007 (or 1002)", offer=PMD)
def _c1293(c, ctx):
    fail_case([F(BINARY, b"\xff\xff\xff\xff\xff\xff", rsv=0x40)], (1007, 1002))(c, ctx)


@case("12.9.4", "ember: deflate: a message that inflates past the limit (zip bomb) -> 1009", offer=PMD,
      )
def _c1294(c, ctx):
    z = c.deflate.compress(b"\x00" * (ctx.max_message + 1))
    c.send_frame(BINARY, z, rsv=0x40)
    c.expect_close(1009, timeout=T_BIG)


@case("12.9.5", "ember: deflate: uncompressed message between compressed ones (RSV1 clear) echoed", offer=PMD,
      )
def _c1295(c, ctx):
    for m in (b"first compressed " * 20, b"plain one", b"second compressed " * 20):
        if m.startswith(b"plain"):
            c.send_frame(TEXT, m)
        else:
            c.send_frame(TEXT, c.deflate.compress(m), rsv=0x40)
        c.expect_message(TEXT, m)
    c.close_handshake()


@case("12.9.6", "ember: deflate: compressed text in 3 fragments (RSV1 on the first only)", offer=PMD,
      )
def _c1296(c, ctx):
    m = "κόσμε ember deflate ".encode() * 100
    z = c.deflate.compress(m)
    a, b = len(z) // 3, 2 * len(z) // 3
    c.send(c.frame(TEXT, z[:a], fin=False, rsv=0x40) + c.frame(CONT, z[a:b], fin=False) + c.frame(CONT, z[b:]))
    c.expect_message(TEXT, m)
    c.close_handshake()


@case("12.9.7", "ember: deflate: compressed text that inflates to invalid UTF-8 -> 1007", offer=PMD,
      )
def _c1297(c, ctx):
    fail_case([lambda c: c.frame(TEXT, c.deflate.compress(BAD), rsv=0x40)], 1007)(c, ctx)

