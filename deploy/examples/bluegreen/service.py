#!/usr/bin/env python3
"""A small HTTP service for the blue/green example: it names its version.

  GET /         200, "VERSION\n"     (what the probe reads: which version answered)
  GET /version  200, "VERSION"
  GET /health   200 "ok" once ready, 503 before (--ready-after SECONDS),
                or never (--never-ready)
"""
import argparse
import http.server
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--version", required=True)
parser.add_argument("--ready-after", type=float, default=0.0)
parser.add_argument("--never-ready", action="store_true")
args = parser.parse_args()
started = time.monotonic()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Version", args.version)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/version":
            self.answer(200, args.version)
        elif self.path == "/health":
            ready = not args.never_ready and time.monotonic() - started >= args.ready_after
            self.answer(200 if ready else 503, "ok" if ready else "starting")
        else:
            self.answer(200, args.version + "\n")

    def log_message(self, *_):
        pass


http.server.ThreadingHTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
