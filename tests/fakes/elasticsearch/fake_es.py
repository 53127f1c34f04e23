#!/usr/bin/env python3
"""fake_es: a strict fake of the Elasticsearch REST API (the parts
socorro-bootstrap uses), playing 6.8, 7.x or 8.x.  Python 3 standard
library only.  README.md (next to this file) is the manual.

    fake_es.py [--port N] [--port-file F] [--es-version 7.17.9] [--nodes N]
               [--user NAME:PASSWORD-FILE[:ro]]... [--health STATUS]
               [--path-repo DIR]... [--plugin NAME]... [--snapshot-seconds S]
               [--fault JSON]... [--log FILE] [--tls-cert F --tls-key F]

esctl.py (beside it) talks to it, and to its control API, from tests.

One port on 127.0.0.1 serves the Elasticsearch API and, under /_fake/, a
control API for tests (no authentication).  The first line on stdout is
`PORT <n>`.  SIGTERM or SIGINT stop it (exit 0).
"""

import argparse
import base64
import io
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree

import es_control  # noqa: E402
import es_routes  # noqa: E402
from es_common import COMMON_JSON_TYPES, EsError, Version  # noqa: E402
from es_snapshots import Snapshots  # noqa: E402
from es_state import Cluster  # noqa: E402


class App:
    """Everything the request handlers share."""

    def __init__(self, args, users):
        self.version = Version(args.es_version)
        self.cluster = Cluster(self.version, args.nodes)
        self.snaps = Snapshots(self.cluster, args.path_repo, args.plugin)
        self.snaps.duration = args.snapshot_seconds
        self.users = users             # name -> (password, read_only)
        self.faults = es_control.Faults()
        self.log = es_control.RequestLog(args.log)
        self.start_health = args.health
        for spec in args.fault:
            self.faults.add(json.loads(spec))
        if args.health:
            self.cluster.force_health(args.health)


class Request:
    def __init__(self, app, method, parts, params, body, kind, args):
        self.app, self.method, self.parts = app, method, parts
        self.params, self.body = params, body
        self.route_kind, self.args = kind, args
        self.warnings = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as Elasticsearch does
    server_version = "fake-es"
    sys_version = ""
    # One write per answer, sent at once: no Nagle/delayed-ACK stalls on
    # kept-alive connections (40 ms a request otherwise).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.serve()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_GET

    # --- plumbing ---------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def answer(self, status, body, headers=None, warnings=()):
        app = self.server.app
        data = b""
        if body is not None and self.command != "HEAD":
            pretty = "pretty" in self.query
            data = (json.dumps(body, indent=2 if pretty else None) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        if app.version.product_header:
            self.send_header("X-Elastic-Product", "Elasticsearch")
        for w in warnings:
            self.send_header("Warning", w)
        for k, v in (headers or {}).items():
            for item in (v if isinstance(v, list) else [v]):
                self.send_header(k, item)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
        return status

    def reset(self):
        """Close the connection with a TCP reset, answering nothing."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def spoil(self, fault, answer):
        """Send answer (a whole HTTP response, already served) cut in half
        and the connection closed ("truncate": "close", or "reset" for a TCP
        RST), or with its body replaced by the text of "garbage"."""
        head, _, payload = answer.partition(b"\r\n\r\n")
        if fault.get("truncate"):
            if not payload:    # HEAD: cut the headers instead
                head, payload = head[:len(head) // 2], b""
                self.wfile.write(head)
            else:
                self.wfile.write(head + b"\r\n\r\n" + payload[:len(payload) // 2])
            self.wfile.flush()
            if fault["truncate"] == "reset":
                self.reset()
            else:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return
        junk = str(fault["garbage"]).encode("utf-8")
        lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(
            (b"content-length:", b"content-type:"))]
        lines += [b"Content-Type: text/html", b"Content-Length: %d" % len(junk)]
        self.wfile.write(b"\r\n".join(lines) + b"\r\n\r\n" + junk)
        self.wfile.flush()

    # --- one request ------------------------------------------------------

    def serve(self):
        app = self.server.app
        url = urllib.parse.urlsplit(self.path)
        self.query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        raw = self.read_body()
        entry = {"method": self.command, "path": url.path, "query": self.query,
                 "user": None, "auth": "none", "status": None,
                 "content_type": self.headers.get("Content-Type"),
                 "body": es_control.body_for_log(raw)}
        try:
            if parts[:1] == ["_fake"]:
                entry["status"] = self.answer(*es_control.handle(
                    app, self.command, parts[1:], raw, self.query))
                return
            fault = app.faults.take(self.command, url.path)
            if fault and fault.get("delay"):
                time.sleep(float(fault["delay"]))
            if fault and fault.get("reset"):
                entry["status"] = "reset"
                self.reset()
                return
            if fault and fault.get("status"):
                e = es_control.fault_error(fault)
                entry["status"] = self.answer(e.status, e.body(), e.headers)
                return
            spoil = fault and (fault.get("truncate") or fault.get("garbage"))
            if spoil:
                real, self.wfile = self.wfile, io.BytesIO()
            entry["status"] = self.api(app, parts, raw, url, entry)
            if spoil:
                self.wfile, answer = real, self.wfile.getvalue()
                self.spoil(fault, answer)
        finally:
            if parts[:1] != ["_fake"]:
                app.log.add(entry)

    def api(self, app, parts, raw, url, entry):
        req = None
        try:
            user = self.authenticate(app, url, entry)
            found = es_routes.route(parts)
            if found is None:
                raise EsError(400, None, "no handler found for uri [%s] and method [%s]"
                              % (self.path, self.command), bare=True)
            kind, methods, args = found
            if self.command not in methods:
                allowed = ", ".join(sorted(methods))
                raise EsError(405, None, "Incorrect HTTP method for uri [%s] and method "
                              "[%s], allowed: [%s]" % (self.path, self.command, allowed),
                              bare=True, headers={"Allow": ",".join(sorted(methods))})
            handler, allowed_params, action = methods[self.command]
            self.check_params(app, url.path, allowed_params)
            if user is not None and app.users[user][1] and \
                    self.command not in ("GET", "HEAD"):
                raise EsError(403, "security_exception", "action [%s] is unauthorized "
                              "for user [%s]" % (action, user))
            body = self.parse_body(raw)
            req = Request(app, self.command, parts, self.query, body, kind, args)
            with app.cluster.lock:
                status, out = handler(req)
            return self.answer(status, out, warnings=req.warnings)
        except EsError as e:
            body = e.body() if self.command != "HEAD" else None
            return self.answer(e.status, body, e.headers,
                               warnings=req.warnings if req else ())

    def authenticate(self, app, url, entry):
        if not app.users:
            return None
        where = url.path + ("?" + url.query if url.query else "")
        challenge = {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'}
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            raise EsError(401, "security_exception", "missing authentication "
                          "credentials for REST request [%s]" % where,
                          headers=challenge, header={"WWW-Authenticate": [
                              challenge["WWW-Authenticate"]]})
        try:
            name, _, password = base64.b64decode(auth[6:], validate=True) \
                .decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            name, password = "", None
        entry["user"] = name
        if name not in app.users or app.users[name][0] != password:
            entry["auth"] = "bad"
            raise EsError(401, "security_exception", "unable to authenticate user [%s] "
                          "for REST request [%s]" % (name, where), headers=challenge,
                          header={"WWW-Authenticate": [challenge["WWW-Authenticate"]]})
        entry["auth"] = "ok"
        return name

    def check_params(self, app, path, allowed):
        allowed = set(allowed) | es_routes.COMMON
        if not app.version.has_include_type_name:
            allowed.discard("include_type_name")
        unknown = sorted(k for k in self.query if k not in allowed)
        if unknown:
            many = len(unknown) > 1
            raise EsError(400, "illegal_argument_exception",
                          "request [%s] contains unrecognized parameter%s: %s"
                          % (path, "s" if many else "",
                             ", ".join("[%s]" % k for k in unknown)))

    def parse_body(self, raw):
        if not raw:
            return None
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in COMMON_JSON_TYPES:
            raise EsError(406, None, "Content-Type header [%s] is not supported"
                          % (self.headers.get("Content-Type") or ""), bare=True)
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise EsError(400, "x_content_parse_exception",
                          "Failed to parse request body: %s" % e)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def load_users(specs):
    users = {}
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "ro"):
            raise SystemExit("fake_es: --user NAME:PASSWORD-FILE[:ro], not %r" % spec)
        with open(parts[1]) as f:
            password = f.read().rstrip("\n")
        users[parts[0]] = (password, len(parts) == 3)
    return users


def main():
    ap = argparse.ArgumentParser(prog="fake_es.py")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port number here")
    ap.add_argument("--es-version", default="7.17.9")
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--health", choices=("green", "yellow", "red"))
    ap.add_argument("--path-repo", action="append", default=[])
    ap.add_argument("--plugin", action="append", default=[])
    ap.add_argument("--snapshot-seconds", type=float, default=0.0)
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--log", help="append one JSON line per request")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    try:
        app = App(args, load_users(args.user))
    except ValueError as e:
        raise SystemExit("fake_es: %s" % e)
    server = Server(("127.0.0.1", args.port), Handler)
    server.app = app
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(args.port_file + ".tmp", args.port_file)
    print("PORT %d" % port, flush=True)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever(poll_interval=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
