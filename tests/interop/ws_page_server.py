#!/usr/bin/env python3
"""A tiny static server for the browser tests: GET /ws_chromium.html (and
other files of DIR), and GET /result?r=TEXT, which appends TEXT and a
newline to OUTFILE. Prints "listening on 127.0.0.1:PORT".

  ws_page_server.py --port N DIR OUTFILE"""
import argparse
import http.server
import os
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("dir")
    ap.add_argument("outfile")
    a = ap.parse_args()

    class H(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *x, **kw):
            super().__init__(*x, directory=a.dir, **kw)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path == "/result":
                r = urllib.parse.parse_qs(u.query).get("r", [""])[0]
                with open(a.outfile, "a") as f:
                    f.write(r + "\n")
                self.send_response(204)
                self.end_headers()
                return
            if u.path == "/favicon.ico":
                self.send_response(404)
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *x):
            pass

    s = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), H)
    print("listening on 127.0.0.1:%d" % s.server_address[1], flush=True)
    try:
        s.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    main()
