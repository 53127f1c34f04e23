#!/usr/bin/env python3
"""fault_proxy.py: an HTTP/1.1 proxy that injects faults, for tests.

  fault_proxy.py [--tls CERT KEY] UPSTREAM_URL
  fault_proxy.py ctl URL METHOD [JSON]

Binds 127.0.0.1 port 0, prints the port on stdout line 1, then serves
(plain HTTP, or TLS with --tls) until its stdin reaches end of file or it
is killed.  Every request (method, path, headers, body) is forwarded to
UPSTREAM_URL (plain http://HOST:PORT; a path in it is ignored) and the
answer relayed, unless a fault rule fires.  Bodies stream in pieces, both
ways (Content-Length or chunked); client connections are kept alive.
Standard library only.

Control (never forwarded, never faulted):
  POST /_fault     add rules (a JSON object or a list of them)
  DELETE /_fault   clear them
  GET /_fault      the rules with their seen/fired counts
The ctl subcommand does the same from sh (http or https, not verified):
  fault_proxy.py ctl http://127.0.0.1:PORT POST '{"kind":"reset"}'

Rule fields:
  kind    "status"   answer `status` (default 503) with `body`, plus
                     Retry-After: `retry_after` if given
          "reset"    TCP RST, no answer ("partial": true with when "after":
                     relay the status, headers and half the body, then RST)
          "close"    close cleanly, no answer
          "delay"    sleep `ms` (default 1000), then forward
          "truncate" forward; relay the status and headers (the upstream's
                     Content-Length) but only half of the body, then close
          "garbage"  forward; relay the status, replace the body with `body`
                     (default "<html>gateway says hi") and its length
  method  only this method; path: only paths starting with this (query
          included)
  when    "before" (default) or "after" (reset/close: forward, so the
          upstream's state changes, then lose the answer)
  after   let this many matching requests through first (default 0)
  count   how many times to fire (default 1; -1 forever)
Rules are tried in order; the first that fires wins.
"""
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PIECE = 64 * 1024
HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
       "transfer-encoding", "upgrade", "expect"}
KINDS = {"status", "reset", "close", "delay", "truncate", "garbage"}


class Rules:
    """The fault rules, shared by every connection's thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, doc):
        items = doc if isinstance(doc, list) else [doc]
        for r in items:
            if not isinstance(r, dict) or r.get("kind") not in KINDS:
                raise ValueError("a rule needs a kind, one of " + ", ".join(sorted(KINDS)))
            if r.get("when", "before") not in ("before", "after"):
                raise ValueError('when is "before" or "after"')
        with self.lock:
            for r in items:
                rule = dict(r)
                rule.setdefault("count", 1)
                rule.setdefault("after", 0)
                rule.setdefault("when", "before")
                rule["seen"] = 0
                rule["fired"] = 0
                self.rules.append(rule)

    def clear(self):
        with self.lock:
            self.rules = []

    def dump(self):
        with self.lock:
            return json.dumps(self.rules)

    def pick(self, method, path):
        """The rule that fires for this request (a copy), or None."""
        with self.lock:
            for r in self.rules:
                if "method" in r and r["method"].upper() != method.upper():
                    continue
                if "path" in r and not path.startswith(r["path"]):
                    continue
                r["seen"] += 1
                if r["seen"] <= r["after"]:
                    continue
                if r["count"] != -1 and r["fired"] >= r["count"]:
                    continue
                r["fired"] += 1
                return dict(r)
        return None


class Gone(Exception):
    """The client's connection is done with (reset, closed, or failed)."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault_proxy"
    tls_failed = False

    def setup(self):
        ctx = self.server.tls
        if ctx is not None:
            try:
                self.request.settimeout(30)
                self.request = ctx.wrap_socket(self.request, server_side=True)
                self.request.settimeout(None)
            except (OSError, ValueError):
                self.tls_failed = True
        super().setup()

    def handle(self):
        if self.tls_failed:
            return
        try:
            super().handle()
        except (Gone, OSError, ssl.SSLError):
            pass

    def log_message(self, fmt, *args):
        pass

    def handle_one_request(self):
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        if self.path == "/_fault" or self.path.startswith("/_fault?"):
            self.control()
        else:
            self.proxy()
        self.wfile.flush()

    # --- the client side --------------------------------------------------
    def body_pieces(self):
        """The request body, decoded, in pieces (empty if it has none)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise Gone()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size > 0:
                    data = self.rfile.read(min(size, PIECE))
                    if not data:
                        raise Gone()
                    size -= len(data)
                    yield data
                self.rfile.readline(65537)
        else:
            left = int(self.headers.get("Content-Length", "0") or "0")
            while left > 0:
                data = self.rfile.read(min(left, PIECE))
                if not data:
                    raise Gone()
                left -= len(data)
                yield data

    def drain(self):
        for _ in self.body_pieces():
            pass

    def answer(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self):
        """A TCP RST: linger 0, then close the descriptor itself."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            fd = self.connection.detach()
            os.close(fd)
        except OSError:
            pass
        raise Gone()

    def control(self):
        try:
            if self.command == "POST":
                self.server.rules.add(json.loads(b"".join(self.body_pieces()) or b"null"))
                self.answer(200, b"ok\n")
            elif self.command == "DELETE":
                self.drain()
                self.server.rules.clear()
                self.answer(200, b"cleared\n")
            elif self.command == "GET":
                self.answer(200, self.server.rules.dump().encode(), "application/json")
            else:
                self.drain()
                self.answer(405, b"GET, POST or DELETE\n")
        except ValueError as e:
            self.answer(400, ("bad rule: %s\n" % e).encode())

    # --- forwarding -------------------------------------------------------
    def proxy(self):
        rule = self.server.rules.pick(self.command, self.path)
        kind = rule["kind"] if rule else None
        before = rule is not None and rule["when"] == "before"
        if kind == "reset" and before:
            self.reset()
        if kind == "close" and before:
            self.drain()
            self.close_connection = True
            return
        if kind == "status":
            self.drain()
            extra = []
            if "retry_after" in rule:
                extra.append(("Retry-After", str(rule["retry_after"])))
            status = int(rule.get("status", 503))
            body = rule.get("body", "fault_proxy: injected %d\n" % status).encode()
            self.answer(status, body, extra=extra)
            return
        if kind == "delay":
            time.sleep(float(rule.get("ms", 1000)) / 1000.0)
        try:
            conn, resp = self.forward()
        except (OSError, http.client.HTTPException) as e:
            self.answer(502, ("fault_proxy: upstream: %s\n" % e).encode())
            self.close_connection = True
            return
        try:
            self.relay(resp, rule)
        finally:
            conn.close()

    def forward(self):
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=600)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP:
                conn.putheader(k, v)
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for data in self.body_pieces():
                if chunked:
                    conn.send(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    conn.send(data)
            if chunked:
                conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the upstream answered early: relay what it said
        return conn, conn.getresponse()

    def relay(self, resp, rule):
        kind = rule["kind"] if rule else None
        if kind in ("reset", "close") and not rule.get("partial"):
            resp.read()
            if kind == "reset":
                self.reset()
            self.close_connection = True
            return
        bodiless = (self.command == "HEAD" or resp.status in (204, 304)
                    or 100 <= resp.status < 200)
        headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
        if kind in ("truncate", "reset", "garbage"):
            body = resp.read()
            if kind == "garbage":
                cut = rule.get("body", "<html>gateway says hi").encode()
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(cut))))
            else:
                cut = body[:len(body) // 2]
                if resp.getheader("Content-Length") is None:
                    headers.append(("Content-Length", str(len(body))))
            self.head(resp, headers)
            if not bodiless:
                self.wfile.write(cut)
            if kind == "reset":
                self.reset()
            if kind == "truncate":
                self.close_connection = True
            return
        length = resp.getheader("Content-Length")
        chunk_out = not bodiless and (resp.chunked or length is None)
        if chunk_out:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Transfer-Encoding", "chunked"))
        self.head(resp, headers)
        if bodiless:
            return
        while True:
            data = resp.read(PIECE)
            if not data:
                break
            if chunk_out:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
        if chunk_out:
            self.wfile.write(b"0\r\n\r\n")

    def head(self, resp, headers):
        self.send_response_only(resp.status, resp.reason)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()


def ctl(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: fault_proxy.py ctl URL METHOD [JSON]\n")
        return 64
    url, method = argv[0].rstrip("/") + "/_fault", argv[1].upper()
    data = argv[2].encode() if len(argv) == 3 else None
    rq = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        rq.add_header("Content-Type", "application/json")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(rq, timeout=30, context=ctx) as r:
            sys.stdout.buffer.write(r.read())
            return 0
    except urllib.error.HTTPError as e:
        sys.stderr.write("fault_proxy ctl: HTTP %d: %s" % (e.code, e.read().decode("latin-1")))
    except (OSError, urllib.error.URLError) as e:
        sys.stderr.write("fault_proxy ctl: %s: %s\n" % (url, e))
    return 1


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that went away is not news


def main(argv):
    if argv and argv[0] == "ctl":
        return ctl(argv[1:])
    tls = None
    if len(argv) == 4 and argv[0] == "--tls":
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(argv[1], argv[2])
        argv = argv[3:]
    if len(argv) != 1 or not argv[0].startswith("http://"):
        sys.stderr.write("usage: fault_proxy.py [--tls CERT KEY] http://HOST:PORT\n"
                         "       fault_proxy.py ctl URL METHOD [JSON]\n")
        return 64
    server = Server(("127.0.0.1", 0), Handler)
    server.upstream = urlsplit(argv[0])
    server.rules = Rules()
    server.tls = tls
    print(server.server_address[1], flush=True)

    def watch_stdin():
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
