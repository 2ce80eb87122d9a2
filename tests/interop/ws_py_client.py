#!/usr/bin/python3
"""python3-websockets as a client of an echo endpoint (ember's echo_server
GET /ws): text, UTF-8 text, binary, 16 MiB, a fragmented message, pings,
permessage-deflate on and off, and the close handshake. One line per
check ("ok: ..." or "FAIL: ..."); exit 1 when any failed.

  ws_py_client.py URL [--no-compression] [--big BYTES]"""
import argparse
import asyncio
import os
import sys

import websockets

failed = 0


def check(ok, what):
    global failed
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failed += 1


async def run(url, compression, big):
    tag = "python websockets (deflate %s)" % ("on" if compression else "off")
    kw = {"max_size": 32 << 20, "ping_interval": None, "open_timeout": 10, "close_timeout": 10}
    if not compression:
        kw["compression"] = None
    async with websockets.connect(url, **kw) as ws:
        names = [e.name for e in ws.extensions]
        if compression:
            check(names == ["permessage-deflate"], "%s: permessage-deflate negotiated (got %r)" % (tag, names))
        else:
            check(names == [], "%s: no extension negotiated (got %r)" % (tag, names))
        for msg, what in (("hello", "short text"), ("κόσμε ✓ 𝄞" * 50, "UTF-8 text"), ("", "empty text"),
                          (os.urandom(1000), "1000 random bytes"), (b"", "empty binary"),
                          (("compress me " * 5000), "60 KB compressible text")):
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), 30)
            check(got == msg and type(got) is type(msg), "%s: %s echoed" % (tag, what))
        data = os.urandom(big)
        await ws.send(data)
        got = await asyncio.wait_for(ws.recv(), 120)
        check(got == data, "%s: %d-byte binary echoed" % (tag, big))
        text = ("0123456789abcdef" * (big // 16))[:big]
        await ws.send(text)
        got = await asyncio.wait_for(ws.recv(), 120)
        check(got == text, "%s: %d-byte text echoed" % (tag, big))
        await ws.send(["frag-1 ", "frag-2 κό", "σμε frag-3"])
        got = await asyncio.wait_for(ws.recv(), 30)
        check(got == "frag-1 frag-2 κόσμε frag-3", "%s: text in 3 fragments echoed whole" % tag)
        await ws.send([b"\x00\x01", b"\x02", b"\x03" * 70000])
        got = await asyncio.wait_for(ws.recv(), 30)
        check(got == b"\x00\x01\x02" + b"\x03" * 70000, "%s: binary in 3 fragments echoed whole" % tag)
        pong = await ws.ping(b"ping-payload")
        try:
            await asyncio.wait_for(pong, 10)
            check(True, "%s: ping answered" % tag)
        except asyncio.TimeoutError:
            check(False, "%s: ping answered" % tag)
        for i in range(200):
            await ws.send("round trip %d" % i)
        got = [await asyncio.wait_for(ws.recv(), 30) for _ in range(200)]
        check(got == ["round trip %d" % i for i in range(200)], "%s: 200 pipelined messages echoed in order" % tag)
        await ws.close(1000, "bye")
        check(ws.close_code == 1000, "%s: close 1000 answered with %s" % (tag, ws.close_code))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--no-compression", action="store_true")
    ap.add_argument("--big", type=int, default=16 << 20)
    a = ap.parse_args()
    try:
        asyncio.run(run(a.url, not a.no_compression, a.big))
    except Exception as e:  # a dropped connection or a refused handshake
        check(False, "python websockets: %s: %s" % (type(e).__name__, e))
    return 1 if failed else 0


sys.exit(main())
