#!/usr/bin/env python3
"""ember's WebSocket conformance suite (after Autobahn|Testsuite groups
1-7, 9, 12, 13; the cases are in cases.py). Standard library only.

  ws_conformance.py --url ws://127.0.0.1:PORT/ws [--cases PAT,...] [--skip PAT,...]
                    [--max-message BYTES] [--list] [-q]
      client mode: a raw client of the echo server at URL (it must echo
      every message unchanged, text as text, binary as binary).

  ws_conformance.py --client CMD [--cases ...]
      mirrored mode: the suite is a raw server on 127.0.0.1 and runs
      CMD ws://127.0.0.1:PORT/<case id> once per case (CMD --compress URL
      for the permessage-deflate cases: the client must offer it); the
      client must echo every message it receives and answer pings and
      closes.

One line per case: id, description, PASS or FAIL with the reason; then a
summary. Exit status 0 when every selected case passed, 1 otherwise, 2
on a usage error. PAT is a case id or an fnmatch pattern ("6.4.*", "9.*").
"""
import argparse
import fnmatch
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import wsconf  # noqa: E402
from wsconf import Deflate, Fail, client_connect, server_accept, pmd_parse, T_SHORT  # noqa: E402


class Ctx:
    def __init__(self, max_message):
        self.max_message = max_message


def select_cases(args, mode):
    pats = [p for p in (args.cases or "*").split(",") if p]
    skips = [p for p in (args.skip or "").split(",") if p]

    def match(cid, ps):
        return any(cid == p or fnmatch.fnmatchcase(cid, p) or cid.startswith(p + ".") for p in ps)
    return [c for c in cases.CASES if mode in c.modes and match(c.id, pats) and not match(c.id, skips)]


def run_client_case(cs, host, port, path, ctx):
    offers = []
    if cs.offer:
        offers = [p for _, p in pmd_parse(cs.offer)]
    c, fields = client_connect(host, port, path, cs.offer)
    try:
        if cs.offer and not (cs.may_decline and not fields.get("sec-websocket-extensions")):
            c.deflate = cases.check_pmd_answer(offers, fields.get("sec-websocket-extensions"))
        elif fields.get("sec-websocket-extensions"):
            raise Fail("server answered extensions %r that were not offered" % fields["sec-websocket-extensions"])
        cs.fn(c, ctx)
    finally:
        c.s.close()


def server_deflate(answer, offer):
    """Mirrored mode: our answer (the case's offer string) against what the
    client offered; the Deflate for our side of it."""
    if not offer or "permessage-deflate" not in offer:
        raise Fail("client did not offer permessage-deflate (offer %r)" % offer)
    p = pmd_parse(answer)[0][1]
    if "client_max_window_bits" in p and not any("client_max_window_bits" in o for _, o in pmd_parse(offer)):
        raise Fail("client's offer %r has no client_max_window_bits, which this case needs" % offer)
    return Deflate(tx_bits=int(p.get("server_max_window_bits") or 15), tx_reset="server_no_context_takeover" in p,
                   rx_bits=int(p.get("client_max_window_bits") or 15), rx_reset="client_no_context_takeover" in p)


def run_server_case(cs, lsock, port, cmd, ctx, log):
    url = "ws://127.0.0.1:%d/%s" % (port, cs.id)
    argv = [a.replace("{url}", url) for a in shlex.split(cmd)]
    if not any("{url}" in a for a in shlex.split(cmd)):
        argv.append(url)
    if cs.offer:
        argv.insert(len(argv) - 1, "--compress")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        # An offer's bare client_max_window_bits has no place in an answer (RFC 7692 7.1.2.2).
        ans = re.sub(r";\s*client_max_window_bits(?!\s*=)", "", cs.offer or "")
        answer = (lambda off: ans if off and "permessage-deflate" in off else None) if cs.offer else None
        c, fields, path = server_accept(lsock, T_SHORT * 3, answer)
        try:
            if path != "/" + cs.id:
                raise Fail("client asked for %r, not /%s" % (path, cs.id))
            if cs.offer:
                c.deflate = server_deflate(ans, fields.get("sec-websocket-extensions"))
            cs.fn(c, ctx)
        finally:
            c.s.close()
        try:
            p.wait(T_SHORT * 2)
        except subprocess.TimeoutExpired:
            raise Fail("client still running %.0fs after the connection ended" % (T_SHORT * 2))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url")
    ap.add_argument("--client", metavar="CMD")
    ap.add_argument("--cases")
    ap.add_argument("--skip")
    ap.add_argument("--max-message", type=int, default=16 << 20)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("-q", action="store_true", help="print only failures and the summary")
    ap.add_argument("--via-proxy", action="store_true",
                    help="through a proxy: a TCP reset after a completed close handshake passes")
    args = ap.parse_args()
    mode = "server" if args.client else "client"
    wsconf.RESET_AFTER_CLOSE_OK = args.via_proxy
    sel = select_cases(args, mode)
    if args.list:
        for cs in sel:
            print("%-10s %s" % (cs.id, cs.desc))
        return 0
    if not args.url and not args.client:
        ap.error("--url or --client is required")
    ctx = Ctx(args.max_message)
    failed, t_all = [], time.monotonic()
    lsock = None
    log = None
    if mode == "client":
        u = urllib.parse.urlsplit(args.url)
        host, port, path = u.hostname, u.port or 80, (u.path or "/") + ("?" + u.query if u.query else "")
    else:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        port = lsock.getsockname()[1]
        log = open(os.environ.get("WSCONF_CLIENT_LOG", os.devnull), "ab")
    for cs in sel:
        t0 = time.monotonic()
        try:
            if mode == "client":
                run_client_case(cs, host, port, path, ctx)
            else:
                run_server_case(cs, lsock, port, args.client, ctx, log)
            res = "PASS"
        except Fail as e:
            res = "FAIL: %s" % e
        except (OSError, socket.timeout) as e:
            res = "FAIL: %s: %s" % (type(e).__name__, e)
        ms = (time.monotonic() - t0) * 1000
        if res != "PASS":
            failed.append(cs.id)
        if not args.q or res != "PASS":
            print("%-10s %-70s %s (%.0f ms)" % (cs.id, cs.desc[:70], res, ms), flush=True)
    n = len(sel)
    print("summary: %d cases, %d passed, %d failed (%.1f s)%s" %
          (n, n - len(failed), len(failed), time.monotonic() - t_all,
           "" if not failed else "; failed: " + " ".join(failed)))
    return 1 if failed or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
