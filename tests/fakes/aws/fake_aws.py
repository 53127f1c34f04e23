#!/usr/bin/env python3
"""fake_aws: a strict fake of the AWS EC2, Auto Scaling and classic ELB
Query APIs and of EC2 instance metadata (IMDSv2), for socorro-bootstrap's
tests.  Python 3
standard library only.  README.md (next to this file) is the manual.

    fake_aws.py [--port N] [--port-file F] [--state-dir D]
                [--credentials AKID:SECRET[:TOKEN]]... [--credentials-file F]
                [--region R] [--account-id N] [--image AMI[:NAME]]...
                [--set KEY=VALUE]... [--seed N] [-q]
                [--tls CERT KEY [--tls-port-file F]]
    fake_aws.py ctl PORT METHOD PATH [JSON]   (talk to the control API)

One port on 127.0.0.1 serves three things:
    /_fake/...   control API for tests (no signature)
    /latest/...  instance metadata, IMDSv2
    anything else: the Query APIs of EC2 (2016-11-15), Auto Scaling
                 (2011-01-01) and classic ELB (2012-06-01), told apart by
                 their Version; every request's SigV4 signature verified,
                 with the API's own signing name in its scope
The first line on stdout is `PORT <n>`.  With --tls CERT KEY, a second
port serves the same (one state) over TLS with that certificate: the
second line is `TLSPORT <n>`.  SIGTERM or SIGINT stop it cleanly
(exit 0); with --state-dir, state.json and calls.json are left there.
"""

import sys


def ctl(argv):
    """fake_aws.py ctl PORT METHOD PATH [JSON]: print the answer's body;
    exit 0 on 2xx, 1 otherwise."""
    import http.client
    if len(argv) not in (3, 4):
        raise SystemExit("usage: fake_aws.py ctl PORT METHOD PATH [JSON]")
    port, method, path = argv[:3]
    data = argv[3].encode() if len(argv) == 4 else None
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    conn.request(method.upper(), path, data)
    resp = conn.getresponse()
    sys.stdout.write(resp.read().decode())
    conn.close()
    return 0 if 200 <= resp.status < 300 else 1


# `ctl` needs none of the fake: answer it before importing the rest
# (tests call it hundreds of times).
if __name__ == "__main__" and sys.argv[1:2] == ["ctl"]:
    sys.exit(ctl(sys.argv[2:]))

import argparse  # noqa: E402
import email.utils  # noqa: E402
import http.server  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import struct  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import asg_actions  # noqa: E402
import control  # noqa: E402
import ec2_actions  # noqa: E402
import elb_actions  # noqa: E402
import faults  # noqa: E402
import imds  # noqa: E402
import query_xml  # noqa: E402
import sigv4_verify  # noqa: E402
from ec2_query import API_VERSION, Ec2Error, error_xml, request_id  # noqa
from state import Store  # noqa: E402

# The Query APIs on the one port, told apart by their Version parameter
# (or, without one, by the service of the credential scope), as one
# AWS_ENDPOINT_URL serves them all: name -> (version, signing name,
# handler).
APIS = {
    "ec2": (API_VERSION, "ec2", ec2_actions.handle),
    "autoscaling": ("2011-01-01", "autoscaling", asg_actions.handle),
    "elb": ("2012-06-01", "elasticloadbalancing", elb_actions.handle),
}


def pick_api(params, headers):
    """The API a request is for: by Version, else by the Authorization
    header's credential scope, else EC2."""
    for name, (version, _, _) in APIS.items():
        if params.get("Version") == version:
            return name
    auth = headers.get("Authorization", "")
    for name, (_, service, _) in APIS.items():
        if "/%s/aws4_request" % service in auth:
            return name
    return "ec2"


def api_error(api, code, message, status, rid):
    """(status, body) of an error in the API's own shape."""
    if api == "ec2":
        return status, error_xml(code, message, rid)
    if code in query_xml.AUTH_CODES:
        code, status, message = query_xml.AUTH_CODES[code]
    return status, query_xml.error_xml(api, code, message, rid, status)

DEFAULT_CREDENTIALS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
XML_TYPE = "text/xml;charset=UTF-8"


class App:
    """Everything the request handlers share."""

    def __init__(self, args, static_creds, settings, images):
        self.args = args
        self.static_creds = static_creds
        self.store = Store(settings, args.seed, images)
        self.creds = sigv4_verify.Credentials()
        self.faults = faults.Faults()
        self.calls = faults.CallLog()
        self.imds = imds.Imds(self.store, self.creds)
        self.port = None
        self.tls_port = None
        self.pid = os.getpid()
        self.reset()

    def reset(self):
        """Back to start-up: no instances, faults, calls; seed images,
        start-up settings and credentials only."""
        with self.store.lock:
            self.store.reset()
            self.creds.keys.clear()
            for akid, secret, token in self.static_creds:
                self.creds.add(akid, secret, token)
            self.faults.clear()
            self.calls.clear()
            self.imds.reset()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS does
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle
    # and the client's delayed ACK would add 40 ms to every answer.
    disable_nagle_algorithm = True
    server_version = "AmazonEC2"
    sys_version = ""

    @property
    def app(self):
        return self.server.app

    def setup(self):
        # On the TLS port the handshake happens here, in the request's
        # thread (not in accept): a client that refuses the certificate
        # is logged and dropped without holding up the others.
        self.tls_failed = False
        if isinstance(self.request, ssl.SSLSocket):
            # Blocking: with a timeout Python polls the socket, and a poll
            # here (gVisor) can sleep through the client's last flight.
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError) as err:
                self.tls_failed = True
                self.app.calls.add("tls", "handshake", None, None, 0, "tls",
                                   str(err)[:200])
        super().setup()
        self.app.calls.connection()

    def handle(self):
        if not self.tls_failed:
            super().handle()

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.app.store.now(), usegmt=True)

    def log_message(self, fmt, *args):
        if not self.app.args.quiet:
            sys.stderr.write("fake_aws: %s\n" % (fmt % args))

    # ------------------------------------------------------------ plumbing
    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, ctype, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def drop(self, rst):
        """End the connection without an answer: RST, or a clean FIN."""
        self.close_connection = True
        if rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()  # really closed once rfile/wfile are

    def mangle(self, rule, answer):
        """cut, truncate, garbage: the call's answer (status, body, type,
        headers), spoilt."""
        status, body, ctype, extra = answer
        kind = rule["kind"]
        if kind == "garbage":
            self.send(status, rule["body"].encode(), "text/html", extra)
        elif kind == "truncate":
            self.send(status, body[:len(body) // 2], ctype, extra)
        else:  # cut: headers promise the whole body, half comes, then RST
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.drop(rst=True)

    def fault(self, rule, xml, api="ec2", answer=None):
        """Apply a fault rule.  True if it answered (or dropped) the call.
        answer: (status, body, type, headers) of the call, for the kinds
        that spoil it."""
        if rule is None:
            return False
        kind = rule["kind"]
        if kind in faults.ANSWER_KINDS:
            if answer is None:
                return False
            self.mangle(rule, answer)
            return True
        if kind == "delay":
            time.sleep(rule["ms"] / 1000.0)
            return False
        if kind == "hang":
            time.sleep(rule["ms"] / 1000.0)
        if kind in ("reset", "hang", "close"):
            self.drop(rst=kind != "close")
            return True
        status, code, message = faults.answer(rule, api)
        if xml:
            status, body = api_error(api, code, message, status,
                                     request_id())
            self.send(status, body, XML_TYPE)
        else:
            self.send(status, message.encode(), "text/plain")
        return True

    def do_GET(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.send(400, b"bad request body", "text/plain")
            self.close_connection = True
            return
        if self.path == "/_fake" or self.path.startswith("/_fake/"):
            self.control(body)
        elif self.path.startswith("/latest/") or self.path == "/latest":
            self.metadata()
        else:
            self.api(body)

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    # ------------------------------------------------------------ control
    def control(self, body):
        path, _, query = self.path.partition("?")
        try:
            data = json.loads(body) if body.strip() else None
        except ValueError:
            return self.send(400, b'{"error": "body is not JSON"}\n',
                             "application/json")
        try:
            status, obj = control.route(self.app, self.command, path, query,
                                        data)
        except control.ControlError as err:
            status, obj = err.status, {"error": str(err)}
        self.send(status, (json.dumps(obj, indent=2, default=str) + "\n")
                  .encode(), "application/json")

    # ------------------------------------------------------------ IMDS
    def metadata(self):
        app = self.app
        path = urllib.parse.urlsplit(self.path).path
        if self.fault(app.faults.pick("imds", path, "before"), xml=False):
            app.calls.add("imds", path, None, None, 0, "fault")
            return
        with app.store.lock:
            app.store.advance()
            status, body, extra = app.imds.handle(self.command, self.path,
                                                  self.headers)
        app.calls.add("imds", path, None, None, status,
                      None if status == 200 else str(status))
        extra.setdefault("Server", "EC2ws")
        if self.fault(app.faults.pick("imds", path, "after"), xml=False,
                      answer=(status, body, "text/plain", extra)):
            return
        self.send(status, body, "text/plain", extra)

    # ------------------------------------------------------------ Query APIs
    def api(self, body):
        """EC2, Auto Scaling or ELB: one Query API call."""
        app = self.app
        rid = request_id()
        path, _, query = self.path.partition("?")
        params, problem = {}, None
        try:
            params = self.query_params(query, body)
        except Ec2Error as err:
            problem = err
        action = params.get("Action", "")
        api = pick_api(params, self.headers)
        version, service, handle = APIS[api]

        if self.fault(app.faults.pick(api, action, "before"), True, api):
            app.calls.add(api, action, params, None, 0, "fault")
            return
        akid, detail = None, None
        try:
            if self.command not in ("GET", "POST"):
                raise Ec2Error("InvalidAction", "HTTP method %s is not "
                               "supported by this web service." % self.command)
            if path != "/":
                raise Ec2Error("InvalidAction", "The path %s is not valid "
                               "for this web service." % path)
            try:
                akid = sigv4_verify.verify_request(
                    app.creds, self.command, self.path,
                    list(self.headers.items()), body, app.store.now(),
                    app.store.settings["region"], service)
            except sigv4_verify.AuthError as err:
                detail = err.detail
                raise Ec2Error(err.code, err.message, err.status)
            if problem:
                raise problem
            if not action:
                raise Ec2Error("MissingAction", "The request must contain "
                               "the parameter Action")
            if not params.get("Version"):
                raise Ec2Error("MissingParameter", "The request must contain "
                               "the parameter Version")
            if params["Version"] != version:
                raise Ec2Error("NoSuchVersion", "An invalid or unrecognized "
                               "version was specified for the request: %s "
                               "(the fake speaks %s)" % (params["Version"],
                                                        version))
            with app.store.lock:
                app.store.advance()
                out = handle(app.store, action, params, rid)
            status, code = 200, None
        except Ec2Error as err:
            status, out = api_error(api, err.code, err.message, err.status,
                                    rid)
            code = err.code
        app.calls.add(api, action, params, akid, status, code, detail)
        if self.fault(app.faults.pick(api, action, "after"), True, api,
                      (status, out, XML_TYPE, {})):
            return
        self.send(status, out, XML_TYPE)

    def query_params(self, query, body):
        """Parameters from the query string and, for POST, the form body.
        Presigned-URL X-Amz-* parameters are left out.  Raises Ec2Error."""
        pairs = []
        try:
            pairs += urllib.parse.parse_qsl(query, keep_blank_values=True,
                                            strict_parsing=bool(query),
                                            errors="strict")
            if self.command == "POST" and body:
                ctype = self.headers.get("Content-Type", "")
                if not ctype.startswith("application/x-www-form-urlencoded"):
                    raise Ec2Error("MalformedQueryString", "POST body must be "
                                   "application/x-www-form-urlencoded, not "
                                   "'%s'" % ctype)
                pairs += urllib.parse.parse_qsl(body.decode("utf-8"),
                                                keep_blank_values=True,
                                                strict_parsing=True,
                                                errors="strict")
        except (ValueError, UnicodeDecodeError) as err:
            raise Ec2Error("MalformedQueryString", "The query string is "
                           "malformed: %s" % err)
        params = {}
        for k, v in pairs:
            if k.startswith("X-Amz-"):
                continue
            if k in params:
                raise Ec2Error("MalformedQueryString", "Parameter %s given "
                               "more than once" % k)
            params[k] = v
        return params


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = None  # an ssl.SSLContext: this port speaks TLS

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls is not None:
            # Before the handshake, or Nagle holds back its last flight.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = self.tls.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False)
        return sock, addr


# ---------------------------------------------------------------- start-up

def parse_creds(text, where):
    parts = text.strip().split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise SystemExit("fake_aws: %s: expected AKID:SECRET[:TOKEN]" % where)
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def build(argv):
    """Parse options, bind the port: -> (server, app).  Used by main() and
    by test_fake_aws.py to run the fake in-process."""
    ap = argparse.ArgumentParser(prog="fake_aws.py",
                                 description="Fake EC2 + IMDSv2 on 127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port number here")
    ap.add_argument("--pid-file", help="write the process id here")
    ap.add_argument("--state-dir", help="write port, pid; on exit "
                    "state.json and calls.json")
    ap.add_argument("--credentials", action="append", default=[],
                    metavar="AKID:SECRET[:TOKEN]",
                    help="accepted key (repeatable); TOKEN makes a session "
                    "token required")
    ap.add_argument("--credentials-file", metavar="FILE",
                    help="one AKID:SECRET[:TOKEN] per line")
    ap.add_argument("--region", default="us-west-2")
    ap.add_argument("--account-id", default="123456789012")
    ap.add_argument("--image", action="append", default=[],
                    metavar="AMI-ID[:NAME]", help="seed a public image")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting, as POST /_fake/config takes")
    ap.add_argument("--seed", type=int, help="seed for generated ids")
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="no request log on stderr")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                    help="also serve everything over TLS on a second port")
    ap.add_argument("--tls-port-file", help="write the TLS port here")
    args = ap.parse_args(argv)

    creds = [parse_creds(c, "--credentials") for c in args.credentials]
    if args.credentials_file:
        with open(args.credentials_file) as f:
            for n, line in enumerate(f, 1):
                if line.strip() and not line.lstrip().startswith("#"):
                    creds.append(parse_creds(line, "%s:%d" % (
                        args.credentials_file, n)))
    if not creds:
        creds = [DEFAULT_CREDENTIALS + (None,)]
    images = []
    for spec in args.image:
        iid, _, name = spec.partition(":")
        images.append({"image_id": iid, "name": name or iid,
                       "owner_id": "137112412989", "owner_alias": "amazon",
                       "public": True})
    settings = {"region": args.region, "account_id": args.account_id}
    app = App(args, creds, settings, images)
    extra = {}
    for kv in args.set:
        k, _, v = kv.partition("=")
        extra[k] = json.loads(v) if v[:1] in "[{\"" else v
    try:
        control._settings(app.store, extra)
    except control.ControlError as err:
        raise SystemExit("fake_aws: --set: %s" % err)
    app.store.startup = dict(app.store.settings)

    server = Server(("127.0.0.1", args.port), Handler)
    server.app = app
    app.port = server.server_address[1]
    server.tls_server = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        tls = Server(("127.0.0.1", 0), Handler)
        tls.app, tls.tls = app, ctx
        server.tls_server = tls
        app.tls_port = tls.server_address[1]
    return server, app


def main(argv):
    if argv[:1] == ["ctl"]:
        return ctl(argv[1:])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server, app = build(argv)
    args = app.args
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
        write_atomic(os.path.join(args.state_dir, "pid"), "%d\n" % app.pid)
        write_atomic(os.path.join(args.state_dir, "port"), "%d\n" % app.port)
    if args.pid_file:
        write_atomic(args.pid_file, "%d\n" % app.pid)
    servers = [server] + ([server.tls_server] if server.tls_server else [])
    if server.tls_server and args.tls_port_file:
        write_atomic(args.tls_port_file, "%d\n" % app.tls_port)
    if args.port_file:
        write_atomic(args.port_file, "%d\n" % app.port)
    sys.stdout.write("PORT %d\n" % app.port)
    if server.tls_server:
        sys.stdout.write("TLSPORT %d\n" % app.tls_port)
    sys.stdout.flush()

    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    while not stop.wait(0.5):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    if args.state_dir:
        with app.store.lock:
            app.store.advance()
            write_atomic(os.path.join(args.state_dir, "state.json"),
                         json.dumps(app.store.snapshot(), indent=2,
                                    default=str))
        write_atomic(os.path.join(args.state_dir, "calls.json"),
                     json.dumps(app.calls.view(), indent=2, default=str))
    for f in (args.pid_file, args.port_file, args.tls_port_file):
        if f and os.path.exists(f):
            os.unlink(f)
    if not args.quiet:
        sys.stderr.write("fake_aws: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
