"""The fake's test hooks: fault injection, the request log, and the
control API under /_fake/ (no authentication, never logged).

    GET    /_fake/log          the request log, oldest first (JSON array)
    DELETE /_fake/log          empty it
    GET    /_fake/faults       faults still armed
    POST   /_fake/faults       arm one fault (JSON object, see below)
    DELETE /_fake/faults       disarm all
    POST   /_fake/health       {"status": "red"|"yellow"|"green"|null,
                                "then": STATUS|"computed", "after": SECONDS}
                               force the cluster health (null: computed from
                               the indices again), optionally changing to
                               "then" after SECONDS
    POST   /_fake/snapshots    {"duration": SECONDS, "fail": BOOL}
    POST   /_fake/reset        forget every index, template, repository,
                               fault and log entry
    GET    /_fake/state        index, template and repository names

A fault: {"method": "PUT" or "*", "path": REGEX (searched in the URL path),
"status": N, "reset": true, "delay": SECONDS, "retry_after": SECONDS,
"truncate": "close"|"reset", "garbage": TEXT, "count": N (default 1;
0 = forever), "skip": N (let the first N matches through)}.  status answers
an Elasticsearch-shaped error; reset closes the connection with a TCP RST;
delay sleeps first (then answers normally unless status or reset is also
given).  truncate and garbage serve the request (its change is made), then
spoil the answer: truncate sends the status, the headers (the whole body's
Content-Length) and half the body, then closes the connection (a FIN, or
an RST with "reset"); garbage sends the status with TEXT as the body.

The request log records method, path, query, user name, whether
authentication passed, status and the JSON body; never a header, so never
a password.
"""

import json
import re
import threading

from es_common import EsError

_FAULT_TYPES = {
    401: ("security_exception", "fake: injected authentication failure"),
    403: ("security_exception", "fake: injected authorization failure"),
    408: ("timeout_exception", "fake: injected timeout"),
    429: ("es_rejected_execution_exception",
          "rejected execution of coordinating operation [fake: injected]"),
    500: ("exception", "fake: injected internal error"),
    503: ("master_not_discovered_exception", "fake: injected unavailability"),
}


def fault_error(fault):
    status = int(fault["status"])
    etype, reason = _FAULT_TYPES.get(status, ("fake_injected_fault",
                                              "fake: injected HTTP %d" % status))
    headers = {}
    if fault.get("retry_after") is not None:
        headers["Retry-After"] = str(fault["retry_after"])
    return EsError(status, etype, reason, headers=headers)


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, spec):
        if not isinstance(spec, dict) or not any(
                spec.get(k) for k in ("status", "reset", "delay", "truncate", "garbage")):
            raise ValueError("a fault needs status, reset, delay, truncate or garbage")
        if spec.get("truncate") not in (None, "close", "reset"):
            raise ValueError('truncate: "close" or "reset"')
        f = dict(spec)
        f.setdefault("method", "*")
        f.setdefault("path", "")
        f.setdefault("count", 1)
        f.setdefault("skip", 0)
        re.compile(f["path"])
        with self.lock:
            self.items.append(f)

    def clear(self):
        with self.lock:
            self.items = []

    def take(self, method, path):
        """The first armed fault matching the request, counted as used."""
        with self.lock:
            for f in self.items:
                if f["method"] not in ("*", method) or not re.search(f["path"], path):
                    continue
                if f["skip"] > 0:
                    f["skip"] -= 1
                    continue
                if f["count"] != 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.items.remove(f)
                return f
        return None


def body_for_log(raw):
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return "<%d bytes, not JSON>" % len(raw)


class RequestLog:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.entries = []
        self.path = path

    def add(self, entry):
        with self.lock:
            entry["seq"] = len(self.entries) + 1
            self.entries.append(entry)
            if self.path:
                with open(self.path, "a") as f:
                    f.write(json.dumps(entry) + "\n")

    def clear(self):
        with self.lock:
            self.entries = []


def handle(app, method, parts, raw, query):
    """(status, body) for a control request."""
    try:
        body = json.loads(raw.decode()) if raw else None
    except ValueError as e:
        return 400, {"error": "bad JSON: %s" % e}
    what = parts[0] if parts else ""
    cl = app.cluster
    if what == "log" and method == "GET":
        with app.log.lock:
            return 200, list(app.log.entries)
    if what == "log" and method == "DELETE":
        app.log.clear()
        return 200, {"ok": True}
    if what == "faults" and method == "GET":
        with app.faults.lock:
            return 200, list(app.faults.items)
    if what == "faults" and method == "POST":
        try:
            app.faults.add(body)
        except (ValueError, re.error) as e:
            return 400, {"error": str(e)}
        return 200, {"ok": True}
    if what == "faults" and method == "DELETE":
        app.faults.clear()
        return 200, {"ok": True}
    if what == "health" and method == "POST" and isinstance(body, dict):
        ok = (None, "red", "yellow", "green")
        if body.get("status") not in ok or body.get("then") not in ok + ("computed",):
            return 400, {"error": "status: red, yellow, green or null"}
        cl.force_health(body.get("status"), body.get("then"), float(body.get("after", 0)))
        return 200, {"ok": True}
    if what == "snapshots" and method == "POST" and isinstance(body, dict):
        with cl.lock:
            app.snaps.duration = float(body.get("duration", app.snaps.duration))
            app.snaps.fail = bool(body.get("fail", app.snaps.fail))
        return 200, {"ok": True}
    if what == "reset" and method == "POST":
        cl.reset()
        with cl.lock:
            app.snaps.repos.clear()
        app.faults.clear()
        app.log.clear()
        if app.start_health:
            cl.force_health(app.start_health)
        return 200, {"ok": True}
    if what == "state" and method == "GET":
        with cl.lock:
            return 200, {"indices": sorted(cl.indices), "legacy": sorted(cl.legacy),
                         "composable": sorted(cl.composable),
                         "repositories": sorted(app.snaps.repos),
                         "health": cl.status()}
    return 404, {"error": "no control endpoint %s %s" % (method, "/".join(parts))}
