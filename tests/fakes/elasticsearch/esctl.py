#!/usr/bin/env python3
"""esctl.py: a small client for tests, to reach the fake (and its control
API) without curl.  Standard library only; quick to start.

    esctl.py URL METHOD PATH [JSON]   print the answer's body; exit 0 on 2xx
    esctl.py URL writes               how many PUT, POST and DELETE requests
                                      the fake's request log holds
    esctl.py URL setting INDEX KEY    one flat setting of INDEX ("-" if unset)

ESCTL_AUTH=USER:PASSWORD in the environment adds basic authentication.
"""

import http.client
import json
import os
import sys
import urllib.parse


def call(url, method, path, body=None):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        import ssl
        ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if os.environ.get("ESCTL_AUTH"):
        import base64
        token = base64.b64encode(os.environ["ESCTL_AUTH"].encode()).decode()
        headers["Authorization"] = "Basic " + token
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read().decode()


def main(argv):
    url, what = argv[0], argv[1]
    if what == "writes":
        _, body = call(url, "GET", "/_fake/log")
        print(sum(1 for e in json.loads(body) if e["method"] in ("PUT", "POST", "DELETE")))
        return 0
    if what == "setting":
        index, key = argv[2], argv[3]
        status, body = call(url, "GET", "/%s/_settings?flat_settings=true" % index)
        if status != 200:
            print("-")
            return 1
        print(json.loads(body)[index]["settings"].get(key, "-"))
        return 0
    status, body = call(url, what, argv[2], argv[3] if len(argv) > 3 else None)
    sys.stdout.write(body)
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
