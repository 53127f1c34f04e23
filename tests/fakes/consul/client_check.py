#!/usr/bin/env python3
"""client_check.py: drive the fake Consul with a real client, Debian's
python3-consul, so the fake is known to speak Consul's API.

  client_check.py [CERTDIR]

Starts its own fakes (plain, ACLs on, and TLS when CERTDIR holds
tests/helpers/mkcerts.sh's localhost.pem, localhost.key and ca.pem) and
prints one "ok - ..." or "not ok - ..." line per check.  python3-consul
0.7.1 predates Consul's transaction API, so /v1/txn is driven through the
client's own HTTP layer (Consul.http.put) and callbacks.
"""

import json
import os
import subprocess
import sys
import time

import consul
from consul.base import CB

HERE = os.path.dirname(os.path.abspath(__file__))
FAILED = []


def check(desc, cond, evidence=""):
    print(("ok - " if cond else "not ok - ") + "client: " + desc)
    if not cond:
        FAILED.append(desc)
        print("#   " + str(evidence))


def raises(exc, fn):
    try:
        fn()
    except exc as err:
        return err
    return None


def start(*args):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "consul_fake.py")]
                         + list(args), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    return p, int(p.stdout.readline())


def raw(c, path, data):
    """PUT through the client's HTTP layer; the bare Response (code, body)."""
    return c.http.put(lambda r: r, path, data=data)


def kv_checks(c):
    check("put a new key", c.kv.put("app/a", "v1") is True)
    idx, e = c.kv.get("app/a")
    check("get it back, base64 decoded", e and e["Value"] == b"v1", e)
    check("CreateIndex = ModifyIndex on create, X-Consul-Index answered",
          e and e["CreateIndex"] == e["ModifyIndex"] and int(idx) >= e["ModifyIndex"], (idx, e))
    c.kv.put("app/a", "v2", flags=42)
    _, e2 = c.kv.get("app/a")
    check("an update keeps CreateIndex, raises ModifyIndex, stores flags",
          e2["CreateIndex"] == e["CreateIndex"] and e2["ModifyIndex"] > e["ModifyIndex"]
          and e2["Flags"] == 42, e2)
    check("cas with a stale index is refused", c.kv.put("app/a", "x", cas=e["ModifyIndex"]) is False)
    check("cas with the current index writes", c.kv.put("app/a", "v3", cas=e2["ModifyIndex"]) is True)
    check("cas=0 on an existing key is refused", c.kv.put("app/a", "x", cas=0) is False)
    check("cas=0 creates a new key", c.kv.put("app/b/c", "v", cas=0) is True)
    c.kv.put("app/empty", "")
    _, e = c.kv.get("app/empty")
    check("an empty value comes back as null", e is not None and e["Value"] is None, e)
    _, lst = c.kv.get("app/", recurse=True)
    check("recurse lists the prefix, sorted",
          [x["Key"] for x in lst] == ["app/a", "app/b/c", "app/empty"], lst)
    _, keys = c.kv.get("app/", keys=True, separator="/")
    check("keys with a separator", keys == ["app/a", "app/b/", "app/empty"], keys)
    check("a missing key is None", c.kv.get("app/none")[1] is None)
    _, e = c.kv.get("app/a")
    check("delete with a stale cas is refused", c.kv.delete("app/a", cas=1) is False)
    check("delete with the current cas", c.kv.delete("app/a", cas=e["ModifyIndex"]) is True)
    c.kv.delete("app/", recurse=True)
    check("delete recurse empties the prefix", c.kv.get("app/", recurse=True)[1] is None)
    idx, _ = c.kv.get("app/none")
    t0 = time.time()
    c.kv.get("app/none", index=idx, wait="300ms")
    check("a blocking query waits for ?wait", time.time() - t0 >= 0.25)


def txn_checks(c):
    b64 = "dmFsdWU="  # "value"
    ops = [{"KV": {"Verb": "cas", "Key": "t/%d" % i, "Value": b64, "Index": 0}}
           for i in range(64)]
    res = c.http.put(CB.json(), "/v1/txn", data=json.dumps(ops))
    check("a txn of 64 cas ops applies", len(res["Results"]) == 64 and res["Errors"] is None,
          res)
    mi = {r["KV"]["Key"]: r["KV"]["ModifyIndex"] for r in res["Results"]}
    check("one index for the whole txn", len(set(mi.values())) == 1, mi)
    check("write results carry no value", all(r["KV"]["Value"] is None for r in res["Results"]))
    r = raw(c, "/v1/txn", json.dumps(ops + ops[:1]))
    check("65 ops: 413 Transaction contains too many operations",
          r.code == 413 and "too many operations (65 > 64)" in r.body, r)
    idx = mi["t/0"]
    bad = [{"KV": {"Verb": "cas", "Key": "t/0", "Value": b64, "Index": idx}},
           {"KV": {"Verb": "cas", "Key": "t/1", "Value": b64, "Index": idx - 1}},
           {"KV": {"Verb": "delete-cas", "Key": "t/2", "Index": idx - 1}}]
    r = raw(c, "/v1/txn", json.dumps(bad))
    body = json.loads(r.body) if r.code == 409 else {}
    check("a stale cas rolls the txn back: 409 with Errors[{OpIndex, What}]",
          r.code == 409 and [e["OpIndex"] for e in body.get("Errors", [])] == [1, 2]
          and "index is stale" in body["Errors"][0]["What"], r)
    check("nothing of a rolled-back txn was applied",
          c.kv.get("t/0")[1]["ModifyIndex"] == idx and c.kv.get("t/2")[1] is not None)
    r = raw(c, "/v1/txn", json.dumps([{"KV": {"Verb": "cas", "Key": "t/0", "Value": b64}}]))
    check("cas without Index is refused as malformed (400)", r.code == 400, r)
    r = raw(c, "/v1/txn", json.dumps([{"KV": {"Verb": "set", "Key": "x", "Value": "!!"}}]))
    check("a Value that is not base64 is 400", r.code == 400, r)
    big = [{"KV": {"Verb": "set", "Key": "big", "Value": "A" * 700000}}]
    r = raw(c, "/v1/txn", json.dumps(big))
    check("a txn body over 512 KiB is 413", r.code == 413, r)
    r = c.http.put(CB.json(), "/v1/txn", data=json.dumps(
        [{"KV": {"Verb": "get", "Key": "t/5"}}, {"KV": {"Verb": "delete-tree", "Key": "t/"}}]))
    check("get and delete-tree in one txn",
          r["Results"][0]["KV"]["Value"] == b64 and c.kv.get("t/", recurse=True)[1] is None, r)


def acl_checks(port, tokens):
    w = consul.Consul(port=port, token=tokens["write"])
    check("ACLs: a write token writes", w.kv.put("s/a", "1") is True)
    err = raises(consul.ACLPermissionDenied, lambda: consul.Consul(port=port).kv.put("s/a", "2"))
    check("ACLs: no token is refused (403)", err is not None)
    err = raises(consul.ACLPermissionDenied,
                 lambda: consul.Consul(port=port, token="nope").kv.get("s/a"))
    check("ACLs: an unknown token is 403 ACL not found", err and "ACL not found" in str(err), err)
    ro = consul.Consul(port=port, token=tokens["read"])
    check("ACLs: a read token reads", ro.kv.get("s/a")[1]["Value"] == b"1")
    err = raises(consul.ACLPermissionDenied, lambda: ro.kv.put("s/a", "2"))
    check("ACLs: a read token cannot write", err is not None)
    r = raw(ro, "/v1/txn", json.dumps([{"KV": {"Verb": "set", "Key": "s/b", "Value": ""}}]))
    check("ACLs: a denied txn op is 409 Permission denied",
          r.code == 409 and "Permission denied" in r.body, r)
    _, lst = consul.Consul(port=port).kv.get("s/", recurse=True)
    check("ACLs: anonymous lists see nothing", lst is None)


def main():
    plain, port = start()
    try:
        c = consul.Consul(port=port)
        kv_checks(c)
        txn_checks(c)
    finally:
        plain.stdin.close()
        plain.wait()
    tokfile = os.path.join(os.environ.get("TMPDIR", "/tmp"), "client-check-tokens.%d" % os.getpid())
    tokens = {"write": "w-%d" % os.getpid(), "read": "r-%d" % os.getpid()}
    with open(tokfile, "w") as f:
        f.write("%s write\n%s read\n" % (tokens["write"], tokens["read"]))
    acl, port = start("--acl-tokens", tokfile)
    try:
        acl_checks(port, tokens)
    finally:
        acl.stdin.close()
        acl.wait()
        os.unlink(tokfile)
    if len(sys.argv) > 1:
        d = sys.argv[1]
        tls, port = start("--tls-cert", os.path.join(d, "localhost.pem"),
                          "--tls-key", os.path.join(d, "localhost.key"))
        try:
            c = consul.Consul(host="localhost", port=port, scheme="https",
                              verify=os.path.join(d, "ca.pem"))
            check("TLS: put and get over https with the test CA",
                  c.kv.put("tls", "x") and c.kv.get("tls")[1]["Value"] == b"x")
        finally:
            tls.stdin.close()
            tls.wait()
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
