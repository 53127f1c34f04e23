#!/usr/bin/env python3
"""http_fault_server.py: an HTTP/1.1 server on 127.0.0.1 that fails on request.

Binds 127.0.0.1 port 0, prints the port on stdout line 1, then serves until
killed or until its stdin reaches end of file (so a test that dies cannot
leave it running).  Standard library only.

Paths (counters are per server, per key= parameter, default the path):
  /ok                          200 "hello\\n"
  /status/<code>-then-200?count=N   <code> N times, then 200 "ok\\n"
  /retry-after?count=N&secs=S  429 with Retry-After: S, N times, then 200
  /drop?count=N                close the socket without an answer N times,
                               then 200 "ok\\n"
  /reset?count=N               headers and part of the body, then a TCP
                               reset, N times; then the whole body
  /slow?ms=N                   wait N ms, then 200 "slow\\n"
  /big?bytes=N                 200 with N bytes of "x"
  /echo[?drop=N]               200 JSON: method, path, headers, body_len,
                               body_sha256, body (text), chunked, conn,
                               client_port; drop=N drops the first N
                               requests (after reading their body)
"""
import hashlib
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
COUNTS = {}
CONNS = [0]


def take(key, limit):
    """True (and counts) while key has been hit fewer than limit times."""
    with LOCK:
        n = COUNTS.get(key, 0)
        COUNTS[key] = n + 1
        return n < limit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with LOCK:
            CONNS[0] += 1
            self.conn_id = CONNS[0]

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body, True
                body += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n), False

    def drop(self):
        self.close_connection = True

    def handle_any(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        key = q.get("key", url.path)
        count = int(q.get("count", "1"))
        body, chunked = self.read_body()
        p = url.path
        if p == "/ok":
            self.send(200, b"hello\n")
        elif p.startswith("/status/") and p.endswith("-then-200"):
            code = int(p[len("/status/"):-len("-then-200")])
            if take(key, count):
                self.send(code, b"failing\n")
            else:
                self.send(200, b"ok\n")
        elif p == "/retry-after":
            if take(key, count):
                self.send(429, b"slow down\n", extra=[("Retry-After", q.get("secs", "1"))])
            else:
                self.send(200, b"ok\n")
        elif p == "/drop":
            if take(key, count):
                self.drop()
            else:
                self.send(200, b"ok\n")
        elif p == "/reset":
            if take(key, count):
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"x" * 1000)
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.drop()
            else:
                self.send(200, b"y" * 100000)
        elif p == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000.0)
            self.send(200, b"slow\n")
        elif p == "/big":
            self.send(200, b"x" * int(q.get("bytes", "0")))
        elif p == "/echo":
            if take(key, int(q.get("drop", "0"))):
                self.drop()
                return
            doc = {
                "method": self.command,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items()},
                "body_len": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "body": body.decode("latin-1"),
                "chunked": chunked,
                "conn": self.conn_id,
                "client_port": self.client_address[1],
            }
            self.send(200, json.dumps(doc).encode(), "application/json")
        else:
            self.send(404, b"not found\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


def watch_stdin(server):
    sys.stdin.buffer.read()
    server.shutdown()


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=watch_stdin, args=(server,), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
