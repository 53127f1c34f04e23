#!/usr/bin/env python3
"""consul_fake.py: a strict fake of Consul's HTTP API, /v1/kv and /v1/txn.

Standard library only.  Binds 127.0.0.1 (port 0 unless --port), prints the
port on stdout line 1, and serves until killed or until its stdin reaches
end of file, so a test that dies cannot leave it running.

  consul_fake.py [--port N] [--tls-cert PEM --tls-key PEM]
                 [--acl-tokens FILE] [--max-txn-ops 64]
                 [--max-txn-bytes 524288] [--max-value 524288]

The API (semantics in kvstore.py):
  GET    /v1/kv/<key>[?recurse|?keys[&separator=/]|?raw][&index=N&wait=5s]
  PUT    /v1/kv/<key>[?cas=N][&flags=N]     body: the value; "true"/"false"
  DELETE /v1/kv/<key>[?recurse][?cas=N]     "true"/"false"
  PUT    /v1/txn                            KV operations, all or nothing:
         200 {"Results": [...], "Errors": null}
         409 {"Results": null, "Errors": [{"OpIndex": i, "What": "..."}]}
         413 over --max-txn-ops operations, --max-txn-bytes of body, or a
             value over --max-value; 400 for a malformed body
  Tokens: X-Consul-Token, "Authorization: Bearer", or ?token=.  With
  --acl-tokens (lines "TOKEN write|read") ACLs are on.
  Other paths: 404; other methods: 405.

Test control (no ACLs, never real Consul paths):
  GET    /_fake/log      every request: method, path, query, status, token
                         ("none", "valid", "unknown"; never the token),
                         ops (txn), bytes (request body)
  DELETE /_fake/log      forget them
  GET    /_fake/kv       every entry, as /v1/kv answers (Value base64)
  POST   /_fake/kv       {"key": "text", ...} written directly
  DELETE /_fake/kv       empty the store
  POST   /_fake/faults   a rule or a list of rules (see faults.py)
  GET    /_fake/faults   the rules, with seen and fired counts
  DELETE /_fake/faults   remove them
"""

import argparse
import io
import json
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults import Faults  # noqa: E402
from kvstore import BadRequest, Store  # noqa: E402

CONFIG = {"max_txn_ops": 64, "max_txn_bytes": 524288, "max_value": 524288}
STORE = Store()
FAULTS = Faults(STORE)
LOG = []
LOG_LOCK = threading.Lock()


def parse_duration(text):
    """Go duration subset Consul takes for ?wait= ("10s", "5m", "100ms")."""
    m = re.fullmatch(r"(\d+)(ms|s|m)?", text or "")
    if not m:
        raise BadRequest(400, "Invalid wait time")
    n, unit = int(m.group(1)), m.group(2) or "s"
    return n / 1000 if unit == "ms" else n * (60 if unit == "m" else 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "consul-fake"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and
        # the client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10)
            self.connection.do_handshake()  # errors end just this thread
            self.connection.settimeout(None)

    # --- plumbing -----------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, body=b"", ctype="application/json", extra=None):
        if isinstance(body, (dict, list, bool)) or body is None:
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
            ctype = "text/plain; charset=utf-8"
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def abort(self, how):
        """Drop the connection without an answer: "reset" (RST) or "close"."""
        if how == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.close_connection = True
        self.status = "reset" if how == "reset" else "closed"
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def token(self):
        tok = self.headers.get("X-Consul-Token")
        auth = self.headers.get("Authorization", "")
        if not tok and auth.startswith("Bearer "):
            tok = auth[7:].strip()
        if not tok:
            tok = (self.query.get("token") or [""])[0]
        return tok

    def record(self, body):
        tok = self.token()
        state = "none"
        if tok:
            state = "valid" if STORE.tokens is None or tok in STORE.tokens \
                else "unknown"
        entry = {"method": self.command, "path": self.path_only,
                 "query": {k: v[0] for k, v in self.query.items()
                           if k != "token"},
                 "status": self.status, "token": state, "bytes": len(body),
                 "ops": self.ops, "time": time.time()}
        with LOG_LOCK:
            LOG.append(entry)

    # --- dispatch -----------------------------------------------------------

    def handle_any(self):
        url = urlsplit(self.path)
        self.path_only = url.path
        self.query = parse_qs(url.query, keep_blank_values=True)
        self.status, self.ops = None, None
        body = self.read_body()
        if url.path.startswith("/_fake/"):
            self.control(url.path, body)
            return
        try:
            self.serve_api(url, body)
        finally:  # also when the client went away before its answer
            self.record(body)

    def serve_api(self, url, body):
        rule = FAULTS.match(self.command, url.path)
        kind, when = (rule["kind"], rule["when"]) if rule else (None, None)
        if kind == "delay":
            time.sleep(rule["ms"] / 1000)
        if kind in ("error", "reset", "close") and when == "before":
            if kind == "error":
                extra = {}
                if rule["retry_after"] is not None:
                    extra["Retry-After"] = str(rule["retry_after"])
                self.answer(rule["status"], rule["message"], extra=extra)
            else:
                self.abort(kind)
            return
        # "after", truncate, garbage: the request is served (state changes),
        # its answer lost or spoiled.
        held = (kind in ("reset", "close") and when == "after") or \
            kind in ("truncate", "garbage")
        if held:
            real, self.wfile = self.wfile, io.BytesIO()
        try:
            self.route(url.path, body)
        except BadRequest as err:
            self.answer(err.status, err.text)
        if held:
            self.wfile, answer = real, self.wfile.getvalue()
            if kind in ("reset", "close"):
                self.abort(kind)
            else:
                self.spoil(rule, answer)
        if kind == "mutate":
            FAULTS.mutate(rule)

    def spoil(self, rule, answer):
        """Send answer (a whole HTTP response) cut in half, or with its body
        replaced by rule["body"]."""
        head, _, payload = answer.partition(b"\r\n\r\n")
        if rule["kind"] == "truncate":
            self.wfile.write(head + b"\r\n\r\n" + payload[:len(payload) // 2])
            self.wfile.flush()
            if rule["reset"]:  # RST at once: no FIN (shutdown) before it
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
            else:
                self.abort("close")
            self.status = "cut"
            return
        junk = rule["body"].encode("utf-8")
        lines = [ln for ln in head.split(b"\r\n")
                 if not ln.lower().startswith((b"content-length:", b"content-type:"))]
        lines += [b"Content-Type: text/html", b"Content-Length: %d" % len(junk)]
        self.wfile.write(b"\r\n".join(lines) + b"\r\n\r\n" + junk)
        self.wfile.flush()
        self.status = "garbage"

    do_GET = do_PUT = do_DELETE = do_POST = do_HEAD = do_PATCH = handle_any

    def route(self, path, body):
        if path.startswith("/v1/kv/") or path == "/v1/kv":
            key = unquote(path[len("/v1/kv/"):])
            handler = {"GET": self.kv_get, "PUT": self.kv_put,
                       "DELETE": self.kv_delete}.get(self.command)
            if handler is None:
                raise BadRequest(405, "method %s not allowed" % self.command)
            handler(key, body)
        elif path == "/v1/txn":
            if self.command != "PUT":
                raise BadRequest(405, "method %s not allowed" % self.command)
            self.txn(body)
        elif path == "/v1/status/leader":
            self.answer(200, "127.0.0.1:8300")
        else:
            self.answer(404, "")

    def uint_param(self, name):
        v = self.query.get(name)
        if v is None:
            return None
        if not re.fullmatch(r"\d+", v[0]) or int(v[0]) >= 1 << 64:
            raise BadRequest(400, "Invalid %s: %r" % (name, v[0]))
        return int(v[0])

    def check_dc(self):
        dc = (self.query.get("dc") or ["dc1"])[0]
        if dc not in ("", "dc1"):
            raise BadRequest(500, "No path to datacenter")

    # --- /v1/kv -------------------------------------------------------------

    def kv_get(self, key, _body):
        self.check_dc()
        policy = STORE.policy(self.token())
        min_index = self.uint_param("index")
        if min_index:
            wait = parse_duration((self.query.get("wait") or ["5m"])[0])
            STORE.wait(min_index, min(wait, 600))
        q = self.query
        if "keys" in q or "recurse" in q:
            idx, entries, hidden = STORE.list(key, policy)
            extra = {"X-Consul-Index": str(idx), "X-Consul-KnownLeader": "true",
                     "X-Consul-LastContact": "0"}
            if hidden:
                extra["X-Consul-Results-Filtered-By-ACLs"] = "true"
            if "keys" in q:
                sep = (q.get("separator") or [""])[0]
                out = []
                for e in entries:
                    k = e.key
                    if sep:
                        cut = k.find(sep, len(key))
                        if cut >= 0:
                            k = k[:cut + len(sep)]
                    if not out or out[-1] != k:
                        out.append(k)
                body = json.dumps(out).encode()
            else:
                body = ("[" + ",".join(e.json_text() for e in entries)
                        + "]").encode()
            if not entries:
                self.answer(404, b"", extra=extra)
            else:
                self.answer(200, body, extra=extra)
            return
        idx, e = STORE.get(key, policy)
        extra = {"X-Consul-Index": str(idx), "X-Consul-KnownLeader": "true",
                 "X-Consul-LastContact": "0"}
        if e is None:
            self.answer(404, b"", extra=extra)
        elif "raw" in q:
            self.answer(200, e.value, ctype="application/octet-stream",
                        extra=extra)
        else:
            self.answer(200, [e.to_json()], extra=extra)

    def kv_put(self, key, body):
        self.check_dc()
        if not key:
            raise BadRequest(400, "Missing key name")
        for p in ("acquire", "release"):
            if p in self.query:
                raise BadRequest(400, "the fake has no sessions (?%s)" % p)
        if len(body) > CONFIG["max_value"]:
            raise BadRequest(413, "Request body(%d bytes) too large, max size: "
                             "%d bytes" % (len(body), CONFIG["max_value"]))
        policy = STORE.policy(self.token())
        flags = self.uint_param("flags") or 0
        ok = STORE.put(key, body, flags, self.uint_param("cas"), policy)
        self.answer(200, ok)

    def kv_delete(self, key, _body):
        self.check_dc()
        policy = STORE.policy(self.token())
        recurse = "recurse" in self.query
        cas = self.uint_param("cas")
        if recurse and cas is not None:
            raise BadRequest(400, "Conflicting flags: cas and recurse")
        if not key and not recurse:
            raise BadRequest(400, "Missing key name")
        self.answer(200, STORE.delete(key, recurse, cas, policy))

    # --- /v1/txn ------------------------------------------------------------

    def txn(self, body):
        self.check_dc()
        if len(body) > CONFIG["max_txn_bytes"]:
            raise BadRequest(413, "Request body(%d bytes) too large, max size: "
                             "%d bytes" % (len(body), CONFIG["max_txn_bytes"]))
        try:
            raw = json.loads(body)
        except ValueError as err:
            raise BadRequest(400, "Failed to parse body: %s" % err) from None
        if not isinstance(raw, list):
            raise BadRequest(400, "Failed to parse body: not a JSON array")
        self.ops = len(raw)
        if len(raw) > CONFIG["max_txn_ops"]:
            raise BadRequest(413, "Transaction contains too many operations "
                             "(%d > %d)" % (len(raw), CONFIG["max_txn_ops"]))
        ops = [Store.check_op(op) for op in raw]
        for _verb, key, value, _f, _i in ops:
            if len(value) > CONFIG["max_value"]:
                raise BadRequest(413, "Value for key %r is too large (%d > %d "
                                 "bytes)" % (key, len(value),
                                             CONFIG["max_value"]))
        policy = STORE.policy(self.token())
        results, errors = STORE.txn(ops, policy)
        if errors:
            self.answer(409, {"Results": None, "Errors": errors})
        else:
            self.answer(200, {"Results": results, "Errors": None},
                        extra={"X-Consul-Index": str(STORE.index)})

    # --- control ------------------------------------------------------------

    def control(self, path, body):
        try:
            data = json.loads(body) if body else None
        except ValueError:
            self.answer(400, "not JSON")
            return
        what = (self.command, path)
        try:
            if what == ("GET", "/_fake/log"):
                with LOG_LOCK:
                    self.answer(200, list(LOG))
            elif what == ("DELETE", "/_fake/log"):
                with LOG_LOCK:
                    LOG.clear()
                self.answer(200, True)
            elif what == ("GET", "/_fake/kv"):
                self.answer(200, STORE.dump())
            elif what == ("POST", "/_fake/kv"):
                STORE.seed(data or {})
                self.answer(200, True)
            elif what == ("DELETE", "/_fake/kv"):
                STORE.clear()
                self.answer(200, True)
            elif what == ("POST", "/_fake/faults"):
                FAULTS.add(data)
                self.answer(200, True)
            elif what == ("GET", "/_fake/faults"):
                self.answer(200, FAULTS.show())
            elif what == ("DELETE", "/_fake/faults"):
                FAULTS.clear()
                self.answer(200, True)
            else:
                self.answer(404, "no such control endpoint")
        except (ValueError, TypeError, AttributeError) as err:
            self.answer(400, str(err))


class QuietServer(ThreadingHTTPServer):
    """No traceback for a client that went away or refused our TLS."""

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        if not isinstance(err, (OSError, ssl.SSLError)):
            super().handle_error(request, client_address)


def load_tokens(path):
    tokens = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("read", "write"):
                sys.exit("%s:%d: want 'TOKEN read|write'" % (path, n))
            tokens[parts[0]] = parts[1]
    return tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--acl-tokens")
    ap.add_argument("--max-txn-ops", type=int, default=64)
    ap.add_argument("--max-txn-bytes", type=int, default=524288)
    ap.add_argument("--max-value", type=int, default=524288)
    args = ap.parse_args()
    CONFIG.update(max_txn_ops=args.max_txn_ops, max_txn_bytes=args.max_txn_bytes,
                  max_value=args.max_value)
    if args.acl_tokens:
        STORE.tokens = load_tokens(args.acl_tokens)

    server = QuietServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in the request's thread, not in accept().
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    print(server.server_address[1], flush=True)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(65536):
                pass
        except OSError:
            pass
        server.shutdown()

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
