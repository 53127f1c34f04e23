#!/usr/bin/env python3
"""pg_fault_server.py: a PostgreSQL server (or proxy) that fails on request.

  pg_fault_server.py [--upstream HOST:PORT] RULES_FILE

Binds 127.0.0.1 port 0, prints the port on stdout line 1, then serves until
its stdin reaches end of file or it is killed.  Standard library only.
It speaks just enough of protocol 3.0 for a client's startup: SSLRequest
is always answered 'N' (no TLS here), then the StartupMessage is read.
With --upstream, a connection no rule fails is relayed to a real server
(the StartupMessage forwarded, then bytes both ways); without, it is
closed.

RULES_FILE is read when a connection arrives (a missing file: no rules);
when its text changes, the counts start again.  One rule per line, the
first one with fires left decides the connection; "#" starts a comment:

  error SQLSTATE [count=N]  after the startup, a FATAL ErrorResponse with
                            that code (53300 too_many_connections, 57P03
                            cannot_connect_now, or any), then close
  cut [count=N]             after the startup, part of a message (the
                            header of an AuthenticationOk, 2 bytes of its
                            body), then a TCP reset
  silent [count=N]          read the startup, then never answer
  mute [count=N]            read nothing, never answer (not even the
                            SSLRequest)
  garbage [count=N]         after the startup, bytes that are no message:
                            an 'R' whose length is 2 (less than 4)
  http [count=N]            after the startup, an HTTP answer (its first
                            bytes read as a message 1.4 GB long)
  pass [count=N]            relay to the upstream
  reset-query TEXT [count=N]  relay; when a Query ('Q') from the client
                            holds TEXT, forward it, relay the first 3 bytes
                            of the server's answer, then reset the client
                            and close the upstream (count: how many
                            queries it fires on)
count defaults to -1 (forever).  Every connection is logged on stderr:
"conn N: RULE".
"""
import os
import select
import socket
import struct
import sys
import threading

LOCK = threading.Lock()
STATE = {"text": None, "rules": [], "conns": 0}
SSL_REQUEST = 80877103
CANCEL_REQUEST = 80877102
MESSAGES = {"53300": "sorry, too many clients already",
            "57P03": "the database system is starting up"}


def parse_rules(text):
    rules = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        rule = {"kind": words[0], "arg": None, "count": -1, "line": " ".join(words)}
        for w in words[1:]:
            if w.startswith("count="):
                rule["count"] = int(w[6:])
            elif rule["arg"] is None:
                rule["arg"] = w
        if rule["kind"] not in ("error", "cut", "silent", "mute", "garbage", "http", "pass",
                                "reset-query"):
            raise ValueError("unknown rule: " + line)
        rules.append(rule)
    return rules


def pick(path):
    """The rule for a new connection (its count taken), and the connection's number."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    with LOCK:
        if text != STATE["text"]:
            STATE["text"], STATE["rules"] = text, parse_rules(text)
        STATE["conns"] += 1
        n = STATE["conns"]
        for r in STATE["rules"]:
            if r["count"] == 0:
                continue
            if r["kind"] != "reset-query" and r["count"] > 0:
                r["count"] -= 1
            return r, n
    return {"kind": "pass", "arg": None, "count": -1, "line": "pass (no rule)"}, n


def take(rule):
    """reset-query: True (and counted) if it may fire once more."""
    with LOCK:
        if rule["count"] == 0:
            return False
        if rule["count"] > 0:
            rule["count"] -= 1
        return True


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_startup(s):
    """Answer SSLRequests 'N'; return the StartupMessage (or CancelRequest) bytes."""
    while True:
        head = read_exact(s, 8)
        length, code = struct.unpack("!II", head)
        body = read_exact(s, length - 8)
        if code == SSL_REQUEST:
            s.sendall(b"N")
            continue
        return head + body, code


def message(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def error_response(code):
    fields = b""
    for k, v in (("S", "FATAL"), ("V", "FATAL"), ("C", code),
                 ("M", MESSAGES.get(code, "injected failure " + code))):
        fields += k.encode() + v.encode() + b"\0"
    return message(b"E", fields + b"\0")


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def hold(s):
    """Never answer: wait until the client gives up."""
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass


def relay(client, startup, upstream, rule):
    """Bytes both ways, in one thread (so a reset is one: no other thread
    holds the socket); reset-query watches the client's Query messages."""
    host, port = upstream.rsplit(":", 1)
    up = socket.create_connection((host, int(port)))
    up.sendall(startup)
    needle = rule["arg"].encode() if rule["kind"] == "reset-query" else None
    pending, armed = b"", False
    try:
        while True:
            ready, _, _ = select.select([client, up], [], [])
            if client in ready:
                data = client.recv(65536)
                if not data:
                    break
                if needle is not None:
                    pending += data
                # Frame the client's messages to see each Query whole.
                while needle is not None and len(pending) >= 5:
                    length = struct.unpack("!I", pending[1:5])[0]
                    if len(pending) < 1 + length:
                        break
                    msg, pending = pending[:1 + length], pending[1 + length:]
                    if msg[:1] == b"Q" and needle in msg and take(rule):
                        sys.stderr.write("reset after a query holding %r\n" % rule["arg"])
                        sys.stderr.flush()
                        armed = True
                up.sendall(data)
            if up in ready:
                data = up.recv(65536)
                if not data:
                    break
                if armed:
                    client.sendall(data[:3])
                    reset(client)
                    return
                client.sendall(data)
    except OSError:
        pass
    finally:
        up.close()
    client.close()


def serve(client, rules_path, upstream):
    rule, n = pick(rules_path)
    sys.stderr.write("conn %d: %s\n" % (n, rule["line"]))
    sys.stderr.flush()
    kind = rule["kind"]
    try:
        if kind == "mute":
            hold(client)
            return
        startup, code = read_startup(client)
        if code == CANCEL_REQUEST and upstream is None:
            return
        if kind == "error":
            client.sendall(error_response(rule["arg"]))
        elif kind == "cut":
            client.sendall(b"R" + struct.pack("!I", 8) + b"\0\0")
            reset(client)
            return
        elif kind == "silent":
            hold(client)
        elif kind == "garbage":
            client.sendall(b"R" + struct.pack("!I", 2) + b"\0\0\0\0")
        elif kind == "http":
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        elif upstream is not None:
            relay(client, startup, upstream, rule)
            return
    except (EOFError, OSError):
        pass
    try:
        client.close()
    except OSError:
        pass


def main():
    args = sys.argv[1:]
    upstream = None
    if len(args) >= 2 and args[0] == "--upstream":
        upstream, args = args[1], args[2:]
    if len(args) != 1:
        sys.stderr.write("usage: pg_fault_server.py [--upstream HOST:PORT] RULES_FILE\n")
        sys.exit(64)
    rules_path = args[0]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)

    def accept():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=serve, args=(c, rules_path, upstream), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    while sys.stdin.buffer.read(65536):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
