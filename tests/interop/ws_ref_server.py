#!/usr/bin/python3
"""A reference WebSocket echo server (python3-websockets): echoes every
message unchanged on any path; permessage-deflate accepted. Used to check
the conformance suite itself and as the peer of ember's client.

  ws_ref_server.py [--port N] [--max-message BYTES] [--no-compression]
                   [--subprotocol P]

Prints "listening on 127.0.0.1:PORT" once it listens; SIGTERM stops it."""
import argparse
import asyncio
import signal

import websockets


async def echo(ws, path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-message", type=int, default=16 << 20)
    ap.add_argument("--no-compression", action="store_true")
    ap.add_argument("--subprotocol")
    a = ap.parse_args()
    stop = asyncio.get_running_loop().create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(s, stop.set_result, None)
    kw = {"max_size": a.max_message, "max_queue": 64, "ping_interval": None}
    if a.no_compression:
        kw["compression"] = None
    if a.subprotocol:
        kw["subprotocols"] = [a.subprotocol]
    async with websockets.serve(echo, "127.0.0.1", a.port, **kw) as server:
        port = server.sockets[0].getsockname()[1]
        print("listening on 127.0.0.1:%d" % port, flush=True)
        await stop


asyncio.run(main())
