#!/usr/bin/env python3
"""A receiver for bench/ml_sink.sh that acknowledges every batch at once and keeps nothing.

It answers each POST /v1/batches with 200 and {"rejected": []} after reading the body, without
parsing it: it measures what mladmin's side of the sink costs when the service costs (almost)
nothing. It is not a receiver to start from (examples/ml-service/receiver.py is: it stores the
documents and keeps the idempotency rules of docs/ml-service-api.md). Standard library only.

Usage: bench/ack_receiver.py [--port 0] [--token TOKEN]; prints "listening on URL" when ready,
and on SIGTERM the batches and bytes it took.
"""

import argparse
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = b'{"rejected": []}'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as mladmin reuses its connections
    # The headers and the body go out in two writes: with Nagle's algorithm the second waits for
    # the client's delayed ACK of the first, about 40 ms a request on a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.server.token and self.headers.get("Authorization", "") != "Bearer " + self.server.token:
            self._answer(401, b'{"detail": "missing or wrong bearer token"}')
            return
        if not self.path.endswith("/v1/batches"):
            self._answer(404, b'{"detail": "no such endpoint"}')
            return
        self.server.batches += 1
        self.server.bytes += length
        self._answer(200, ANSWER)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed at start)")
    p.add_argument("--token", default="", help="the bearer token to require (none: any)")
    args = p.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.token = args.token
    server.batches = 0
    server.bytes = 0

    def stop(signum, frame):
        sys.stdout.write("took %d batches, %d bytes\n" % (server.batches, server.bytes))
        sys.stdout.flush()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    host, port = server.server_address[:2]
    print("listening on http://%s:%d" % (host, port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
