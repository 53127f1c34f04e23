"""Helpers for test_fake_aws.py: reading tests/vectors/sigv4 and a minimal
signed Query API client (EC2, Auto Scaling, ELB) for the fake (signing
with sigv4_verify's functions, which the vector tests vouch for)."""

import hashlib
import http.client
import json
import os
import time
import urllib.parse
import xml.etree.ElementTree as ET

import sigv4_verify as sv

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "..", "vectors", "sigv4")
KEY, SECRET = "AKIAUNITTEST00000001", "unit/test+secret"


def read_vector(name, fname):
    with open(os.path.join(VECTORS, name, fname), "rb") as f:
        return f.read()


def parse_http(raw):
    """request.txt -> (method, target, [(name, value)], body)."""
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" HTTP/", 1)[0]
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + line)
        elif line:
            name, _, value = line.partition(":")
            headers.append((name, value))
    # as http.server hands it over: raw bytes decoded as latin-1
    return method, target.encode("utf-8").decode("latin-1"), headers, body


class Client:
    """A minimal signed EC2 Query client for the fake on `port`."""

    def __init__(self, port):
        self.port = port

    def raw(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body, headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read(), resp
        finally:
            conn.close()

    def call(self, params, key=KEY, secret=SECRET, token=None,
             region="us-west-2", when=None, tamper=None, method="POST",
             service="ec2"):
        body = urllib.parse.urlencode(params).encode()
        query = ""
        if method == "GET":  # the Query API also takes GET /?Action=...
            query = urllib.parse.urlencode(params,
                                           quote_via=urllib.parse.quote)
            body = b""
        amz_date = time.strftime("%Y%m%dT%H%M%SZ",
                                 time.gmtime(when or time.time()))
        headers = [("Host", "127.0.0.1:%d" % self.port),
                   ("Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8"),
                   ("X-Amz-Date", amz_date)]
        if token:
            headers.append(("X-Amz-Security-Token", token))
        signed = sorted(n.lower() for n, _ in headers)
        creq = sv.canonical_request(method, "/", query, headers, signed,
                                    hashlib.sha256(body).hexdigest())
        scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
        sig = sv.sign(secret, amz_date[:8], region, service,
                      sv.string_to_sign(amz_date, scope, creq))
        headers.append(("Authorization", "%s Credential=%s/%s, "
                        "SignedHeaders=%s, Signature=%s" % (
                            sv.ALGORITHM, key, scope, ";".join(signed), sig)))
        if tamper:
            body = tamper(body)
        status, data, _ = self.raw(method, "/?" + query if query else "/",
                                   body, dict(headers))
        return status, ET.fromstring(data)

    def ctl(self, method, path, obj=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        status, data, _ = self.raw(method, path, body)
        return status, json.loads(data)


def error_code(doc):
    return doc.findtext("Errors/Error/Code")


def run_params(**extra):
    p = {"Action": "RunInstances", "Version": "2016-11-15",
         "ImageId": "ami-00000000000000001", "MinCount": "1",
         "MaxCount": "1"}
    p.update(extra)
    return p
