#!/usr/bin/env python3
"""A reference receiver of mladmin's ML service contract (docs/ml-service-api.md).

Standard library only: http.server for HTTP(S), sqlite3 for storage. It keeps the documents
mladmin sends, treats a repeated (sourceType, sourceId, version) as a no-op, treats a delete of a
missing document as a success, rejects items it cannot store (nothing to index: no title and no text, for one) by name, and
answers a repeated Idempotency-Key with the answer it gave the first time.

With --test-switches it also serves /_test/ endpoints that make it slow, failing, rate limiting,
refusing or hanging, and that report its counters (mladmin's own tests use them).
"""

import argparse
import email.utils
import json
import os
import random
import sqlite3
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SOURCE_TYPES = ("journal_entries", "goals")
MAX_BODY_BYTES = 64 * 1024 * 1024


class Store:
    """The documents, the versions seen of each, and the answers given per Idempotency-Key."""

    def __init__(self, path, broken_repeats):
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS documents (
              source_type TEXT NOT NULL, source_id TEXT NOT NULL, user_id TEXT, title TEXT,
              text TEXT NOT NULL, metadata TEXT NOT NULL, version TEXT NOT NULL, updated_at TEXT,
              PRIMARY KEY (source_type, source_id));
            CREATE TABLE IF NOT EXISTS seen_versions (
              source_type TEXT NOT NULL, source_id TEXT NOT NULL, version TEXT NOT NULL,
              PRIMARY KEY (source_type, source_id, version));
            CREATE TABLE IF NOT EXISTS answers (batch_id TEXT PRIMARY KEY, answer TEXT NOT NULL);
            """
        )
        self.broken_repeats = broken_repeats
        self.reject_ids = {}  # sourceId -> reason, set by the test switch rejectSourceIds
        self.counters = {"appliedUpserts": 0, "repeats": 0, "deletes": 0, "rejected": 0,
                         "replayedBatches": 0}

    def apply_batch(self, batch_id, batch):
        """Applies one batch in one transaction; returns the answer's JSON object."""
        with self.lock:
            if not self.broken_repeats:
                row = self.db.execute("SELECT answer FROM answers WHERE batch_id = ?", (batch_id,)).fetchone()
                if row is not None:
                    self.counters["replayedBatches"] += 1
                    return json.loads(row[0])
            rejected = []
            self.db.execute("BEGIN")
            try:
                for item in batch.get("upserts") or []:
                    problem = self._check_upsert(item) or self.reject_ids.get(item.get("sourceId"))
                    if problem:
                        rejected.append({"sourceType": str(item.get("sourceType", "")),
                                         "sourceId": str(item.get("sourceId", "")), "reason": problem})
                        continue
                    key = (item["sourceType"], item["sourceId"], item["version"])
                    seen = self.db.execute(
                        "SELECT 1 FROM seen_versions WHERE source_type=? AND source_id=? AND version=?",
                        key).fetchone()
                    if seen is not None:
                        self.counters["repeats"] += 1
                        if not self.broken_repeats:
                            continue  # a repeat is a no-op
                        self.counters["appliedUpserts"] += 1  # the broken mode applies it again
                    else:
                        self.counters["appliedUpserts"] += 1
                    self.db.execute("INSERT OR IGNORE INTO seen_versions VALUES (?, ?, ?)", key)
                    self.db.execute(
                        "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (item["sourceType"], item["sourceId"], item.get("userId"), item.get("title"),
                         item["text"], json.dumps(item.get("metadata") or {}), item["version"],
                         str(item.get("updatedAt", ""))))
                for item in batch.get("deletes") or []:
                    if item.get("sourceType") not in SOURCE_TYPES or not item.get("sourceId"):
                        rejected.append({"sourceType": str(item.get("sourceType", "")),
                                         "sourceId": str(item.get("sourceId", "")),
                                         "reason": "a delete needs a known sourceType and a sourceId"})
                        continue
                    key = (item["sourceType"], item["sourceId"])
                    # A delete of a missing document is a success; the versions seen go too, so
                    # that the same content sent again later is stored again.
                    self.db.execute("DELETE FROM documents WHERE source_type=? AND source_id=?", key)
                    self.db.execute("DELETE FROM seen_versions WHERE source_type=? AND source_id=?", key)
                    self.counters["deletes"] += 1
                self.counters["rejected"] += len(rejected)
                answer = {"rejected": rejected}
                self.db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (batch_id, json.dumps(answer)))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return answer

    @staticmethod
    def _check_upsert(item):
        if not isinstance(item, dict):
            return "an upsert must be a JSON object"
        if item.get("sourceType") not in SOURCE_TYPES:
            return "unknown sourceType"
        if not isinstance(item.get("sourceId"), str) or not item["sourceId"]:
            return "sourceId must be a non-empty string"
        if not isinstance(item.get("version"), str) or not item["version"]:
            return "version must be a non-empty string"
        if item.get("title") is not None and not isinstance(item.get("title"), str):
            return "title must be a string"
        if not isinstance(item.get("text"), str):
            return "text must be a string"
        if not item["text"].strip() and not (item.get("title") or "").strip():
            return "nothing to index: title and text are empty"
        if item.get("metadata") is not None and not isinstance(item.get("metadata"), dict):
            return "metadata must be a JSON object"
        return None

    def document(self, source_type, source_id):
        with self.lock:
            row = self.db.execute(
                "SELECT version, updated_at, user_id, title FROM documents WHERE source_type=? AND source_id=?",
                (source_type, source_id)).fetchone()
        if row is None:
            return None
        return {"sourceType": source_type, "sourceId": source_id, "version": row[0], "updatedAt": row[1],
                "userId": row[2], "title": row[3]}

    def all_documents(self):
        with self.lock:
            rows = self.db.execute(
                "SELECT source_type, source_id, version, user_id FROM documents ORDER BY 1, 2").fetchall()
        return [{"sourceType": r[0], "sourceId": r[1], "version": r[2], "userId": r[3]} for r in rows]

    def stats(self):
        with self.lock:
            count = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
            return dict(self.counters, documents=count)


class Faults:
    """What the test switches ask of the next POST /v1/batches requests."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.hang_next = 0
        self.delay_ms = 0
        self.delay_next = 0
        self.fail_next = 0
        self.fail_status = 503
        self.rate_limit_next = 0
        self.retry_after = "1"
        self.retry_after_seconds = None
        self.refuse_next = 0
        self.refuse_status = 400
        self.refuse_body = '{"detail": "refused by the test switch"}'
        self.malformed_next = 0
        self.fail_rate = 0.0
        self.random = random.Random(0)

    def update(self, spec):
        with self.lock:
            if spec.get("reset"):
                self.reset()
            for name, attr in (("hangNext", "hang_next"), ("delayMs", "delay_ms"), ("delayNext", "delay_next"),
                               ("failNext", "fail_next"), ("failStatus", "fail_status"),
                               ("rateLimitNext", "rate_limit_next"), ("refuseNext", "refuse_next"),
                               ("refuseStatus", "refuse_status"), ("malformedNext", "malformed_next")):
                if name in spec:
                    setattr(self, attr, int(spec[name]))
            if "retryAfter" in spec:
                self.retry_after = str(spec["retryAfter"])
                self.retry_after_seconds = None
            if "retryAfterSeconds" in spec:  # an HTTP date that many seconds after the 429
                self.retry_after_seconds = float(spec["retryAfterSeconds"])
            if "failRate" in spec:  # each request fails with failStatus with this probability
                self.fail_rate = float(spec["failRate"])
                self.random = random.Random(int(spec.get("seed", 0)))
            if "refuseBody" in spec:
                self.refuse_body = str(spec["refuseBody"])

    def take(self):
        """The fault for the next request: (kind, detail) or None; consumes one of its count."""
        with self.lock:
            if self.hang_next > 0:
                self.hang_next -= 1
                return ("hang", None)
            delay = 0
            if self.delay_next > 0:
                self.delay_next -= 1
                delay = self.delay_ms
            if self.fail_next > 0:
                self.fail_next -= 1
                return ("fail", (delay, self.fail_status))
            if self.fail_rate > 0 and self.random.random() < self.fail_rate:
                return ("fail", (delay, self.fail_status))
            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                retry_after = self.retry_after
                if self.retry_after_seconds is not None:
                    retry_after = email.utils.formatdate(time.time() + self.retry_after_seconds, usegmt=True)
                return ("rate_limit", (delay, retry_after))
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return ("refuse", (delay, self.refuse_status, self.refuse_body))
            if self.malformed_next > 0:
                self.malformed_next -= 1
                return ("malformed", (delay,))
            return ("delay", (delay,)) if delay else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as mladmin reuses its connections
    # The headers and the body go out in two writes: with Nagle's algorithm the second waits for
    # the client's delayed ACK of the first, about 40 ms a request on a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = "mladmin-reference-receiver"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("receiver: " + (fmt % args) + "\n")

    # --- plumbing -------------------------------------------------------------------------------

    def _send(self, status, obj=None, raw=None, headers=()):
        body = raw.encode() if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("the body is larger than %d bytes" % MAX_BODY_BYTES)
        return self.rfile.read(length) if length else b""

    def _authorized(self):
        token = self.server.token
        if not token:
            return True
        if self.headers.get("Authorization", "") == "Bearer " + token:
            return True
        self._send(401, {"detail": "missing or wrong bearer token"}, headers=[("WWW-Authenticate", "Bearer")])
        return False

    def _route(self):
        path = urllib.parse.urlsplit(self.path).path
        for marker in ("/v1/", "/_test/"):
            i = path.find(marker)
            if i >= 0:
                return path[i:]
        return path

    # --- methods --------------------------------------------------------------------------------

    def do_POST(self):
        route = self._route()
        try:
            body = self._read_body()
        except ValueError as e:
            self.close_connection = True
            self._send(413, {"detail": str(e)})
            return
        if route == "/_test/faults" and self.server.test_switches:
            spec = json.loads(body or b"{}")
            self.server.faults.update(spec)
            if "rejectSourceIds" in spec:
                with self.server.store.lock:
                    self.server.store.reject_ids = {str(k): str(v) for k, v in spec["rejectSourceIds"].items()}
            self._send(200, {"ok": True})
            return
        if route != "/v1/batches":
            self._send(404, {"detail": "no such endpoint"})
            return
        arrived = time.time() * 1000.0
        batch_id = self.headers.get("Idempotency-Key", "")
        fault = self.server.faults.take() if self.server.test_switches else None
        with self.server.log_lock:
            self.server.request_log.append({"batchId": batch_id, "at": arrived,
                                            "peer": "%s:%d" % self.client_address[:2],
                                            "fault": fault[0] if fault else None})
        if fault:
            kind, detail = fault
            if kind == "hang":
                self.server.stopping.wait(3600)
                self.close_connection = True
                return
            if detail[0]:
                time.sleep(detail[0] / 1000.0)
            if kind == "fail":
                self._send(detail[1], {"detail": "failing by the test switch"})
                return
            if kind == "rate_limit":
                self._send(429, {"detail": "slow down"}, headers=[("Retry-After", detail[1])])
                return
            if kind == "refuse":
                self._send(detail[1], raw=detail[2])
                return
            if kind == "malformed":
                self._send(200, raw="this is not JSON")
                return
        if not self._authorized():
            return
        if not batch_id:
            self._send(400, {"detail": "the Idempotency-Key header is required"})
            return
        try:
            batch = json.loads(body)
            if not isinstance(batch, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as e:
            self._send(400, {"detail": "invalid JSON: %s" % e})
            return
        self._send(200, self.server.store.apply_batch(batch_id, batch))

    def do_GET(self):
        route = self._route()
        if self.server.test_switches and route == "/_test/stats":
            stats = self.server.store.stats()
            with self.server.log_lock:
                stats["requests"] = len(self.server.request_log)
                stats["requestLog"] = list(self.server.request_log)
            self._send(200, stats)
            return
        if self.server.test_switches and route == "/_test/documents":
            self._send(200, {"documents": self.server.store.all_documents()})
            return
        parts = route.split("/")
        if len(parts) == 5 and parts[1] == "v1" and parts[2] == "documents":
            if not self._authorized():
                return
            doc = self.server.store.document(urllib.parse.unquote(parts[3]), urllib.parse.unquote(parts[4]))
            if doc is None:
                self._send(404, {"detail": "no such document"})
            else:
                self._send(200, doc)
            return
        self._send(404, {"detail": "no such endpoint"})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed at start)")
    p.add_argument("--db", default="ml-service.db", help="SQLite file (default: ml-service.db)")
    p.add_argument("--token", default=os.environ.get("ML_SERVICE_TOKEN", ""),
                   help="bearer token to require (default: $ML_SERVICE_TOKEN; empty: none)")
    p.add_argument("--tls-cert", help="PEM certificate chain: serve https")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--test-switches", action="store_true", help="serve the /_test/ endpoints")
    p.add_argument("--broken-repeats", action="store_true",
                   help="break the contract: apply a repeated version again (to see `check` fail)")
    p.add_argument("--nagle", action="store_true",
                   help="leave Nagle's algorithm on (http.server's default): each answer then waits "
                        "~40 ms for the client's delayed ACK (to see `check` note it)")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = p.parse_args()
    if args.nagle:
        Handler.disable_nagle_algorithm = False

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.verbose = args.verbose
    server.token = args.token
    server.test_switches = args.test_switches
    server.store = Store(args.db, args.broken_repeats)
    server.faults = Faults()
    server.request_log = []
    server.log_lock = threading.Lock()
    server.stopping = threading.Event()
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    host, port = server.server_address[:2]
    print("listening on %s://%s:%d" % (scheme, host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()


if __name__ == "__main__":
    main()
