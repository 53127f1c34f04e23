#!/usr/bin/env python3
"""fakectl.py: drive and inspect the fake Consul from shell tests.

  fakectl.py URL value KEY        print KEY's value (exit 1 if absent)
  fakectl.py URL index KEY        print KEY's ModifyIndex
  fakectl.py URL count PREFIX     print how many keys start with PREFIX
  fakectl.py URL seed K=V...      write keys directly (no ACL, one index)
  fakectl.py URL clear            empty the store, the log and the faults
  fakectl.py URL clear-log        forget the requests seen so far
  fakectl.py URL fault JSON       add a fault rule (see faults.py)
  fakectl.py URL log              one line per request: METHOD PATH STATUS
                                  ops=N token=none|valid|unknown query=...
  fakectl.py URL txns             "N M": txn requests, and the most
                                  operations any one of them carried

URL is the fake's http://127.0.0.1:PORT (control is plain HTTP only).
"""

import base64
import json
import sys
import urllib.request


def call(url, method, path, data=None):
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url + path, data=body, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def entries(url):
    return {e["Key"]: e for e in call(url, "GET", "/_fake/kv")}


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    url, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "value":
        e = entries(url).get(args[0])
        if e is None:
            return 1
        v = base64.b64decode(e["Value"]) if e["Value"] else b""
        sys.stdout.buffer.write(v + b"\n")
    elif cmd == "index":
        print(entries(url)[args[0]]["ModifyIndex"])
    elif cmd == "count":
        print(sum(1 for k in entries(url) if k.startswith(args[0])))
    elif cmd == "seed":
        call(url, "POST", "/_fake/kv", dict(a.split("=", 1) for a in args))
    elif cmd == "clear":
        for p in ("/_fake/kv", "/_fake/log", "/_fake/faults"):
            call(url, "DELETE", p)
    elif cmd == "clear-log":
        call(url, "DELETE", "/_fake/log")
    elif cmd == "fault":
        call(url, "POST", "/_fake/faults", json.loads(args[0]))
    elif cmd == "log":
        for e in call(url, "GET", "/_fake/log"):
            q = "&".join("%s=%s" % kv for kv in sorted(e["query"].items()))
            print("%s %s %s ops=%s token=%s query=%s" % (
                e["method"], e["path"], e["status"], e["ops"], e["token"], q))
    elif cmd == "txns":
        ops = [e["ops"] for e in call(url, "GET", "/_fake/log")
               if e["path"] == "/v1/txn"]
        print(len(ops), max((o or 0 for o in ops), default=0))
    else:
        sys.exit("fakectl.py: unknown command %s" % cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
