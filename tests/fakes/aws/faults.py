"""Fault injection rules and the call log.

A rule (POST /_fake/faults, JSON object or list of objects):
  kind     "throttle"  the API's throttling answer: EC2
                       RequestLimitExceeded, HTTP 503; Auto Scaling and
                       ELB Throttling, HTTP 400 (code/status may be
                       overridden)
           "error"     an error answer: status (default 503), code (default
                       Unavailable for 503, InternalError for 500), message
           "reset"     close the connection with a TCP RST, no answer
           "close"     close the connection cleanly (FIN), no answer
           "delay"     sleep `ms` milliseconds, then answer normally
           "hang"      sleep `ms` (default 60000), then reset
           "cut"       run the call; send its status, headers (the whole
                       body's Content-Length) and half its body, then RST:
                       a connection reset mid-body
           "truncate"  run the call; a complete answer (same status) whose
                       body is cut in half, Content-Length to match: a
                       malformed (cut) body
           "garbage"   run the call; answer its status with `body`
                       (default "<html>gateway says hi"), text/html
  target   "ec2" (default), "autoscaling", "elb", "imds", "api" (any of
           the three Query APIs) or "any"
  action   only calls of this action (or IMDS path prefix); default all
  when     "before" (default): instead of running the call;
           "after": run the call (state changes!), then apply the fault to
           the answer: a lost reply, for idempotency tests.  cut,
           truncate and garbage are always "after": they mangle the answer.
  after    let this many matching calls through first (default 0)
  every    fire on the Nth, 2Nth, ... matching call after that (default 1)
  count    how many times to fire; -1 = forever (default 1)
Rules are tried in order; the first that fires wins.  GET /_fake/faults
shows each rule with `seen` and `fired` counts.
"""

import threading
import time

KINDS = ("throttle", "error", "reset", "close", "delay", "hang", "cut",
         "truncate", "garbage")
# Kinds that mangle the call's own answer: they always fire "after".
ANSWER_KINDS = ("cut", "truncate", "garbage")
GARBAGE = "<html>gateway says hi"
TARGETS = ("ec2", "autoscaling", "elb", "imds", "api", "any")
# Throttling as each API answers it: (HTTP status, code, message).
THROTTLE = {"ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
            "autoscaling": (400, "Throttling", "Rate exceeded"),
            "elb": (400, "Throttling", "Rate exceeded")}
DEFAULT_CODES = {500: ("InternalError", "An internal error has occurred"),
                 503: ("Unavailable", "The server is overloaded and can't "
                       "handle the request.")}


def make_rule(spec):
    """Validate a JSON rule and fill in defaults.  Raises ValueError."""
    if not isinstance(spec, dict):
        raise ValueError("a fault rule is a JSON object")
    unknown = set(spec) - {"kind", "target", "action", "when", "after",
                           "every", "count", "status", "code", "message",
                           "ms", "body"}
    if unknown:
        raise ValueError("unknown fault fields: %s" % ", ".join(sorted(unknown)))
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError("fault kind must be one of %s" % ", ".join(KINDS))
    when = spec.get("when", "after" if kind in ANSWER_KINDS else "before")
    if kind in ANSWER_KINDS and when != "after":
        raise ValueError("fault kind %s mangles the answer: 'when' is after"
                         % kind)
    rule = {"kind": kind, "target": spec.get("target", "ec2"),
            "action": spec.get("action"), "when": when,
            "after": int(spec.get("after", 0)),
            "every": int(spec.get("every", 1)),
            "count": int(spec.get("count", 1)), "seen": 0, "fired": 0}
    if rule["target"] not in TARGETS:
        raise ValueError("fault target must be one of %s"
                         % ", ".join(TARGETS))
    if rule["when"] not in ("before", "after"):
        raise ValueError("fault 'when' must be before or after")
    if rule["every"] < 1 or rule["after"] < 0:
        raise ValueError("fault 'every' must be >= 1 and 'after' >= 0")
    if kind == "throttle":
        # None: the throttling answer of the API called (see answer()).
        rule["status"] = int(spec["status"]) if "status" in spec else None
        rule["code"] = spec.get("code")
        rule["message"] = spec.get("message")
    elif kind == "error":
        status = int(spec.get("status", 503))
        code, msg = DEFAULT_CODES.get(status, ("InternalError",
                                               "An internal error has "
                                               "occurred"))
        rule.update(status=status, code=spec.get("code", code),
                    message=spec.get("message", msg))
    if kind in ("delay", "hang"):
        rule["ms"] = int(spec.get("ms", 60000 if kind == "hang" else 1000))
    if kind == "garbage":
        rule["body"] = str(spec.get("body", GARBAGE))
    return rule


def answer(rule, api):
    """(status, code, message) of an error or throttle rule for a call of
    api ("ec2", "autoscaling", "elb")."""
    status, code, message = THROTTLE.get(api, THROTTLE["ec2"])
    if rule["kind"] == "error":
        status, code, message = 503, None, None
    return (rule["status"] or status, rule["code"] or code,
            rule["message"] or message)


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, specs):
        rules = [make_rule(s) for s in
                 (specs if isinstance(specs, list) else [specs])]
        with self.lock:
            self.rules += rules
        return rules

    def clear(self):
        with self.lock:
            self.rules = []

    def pick(self, target, action, when):
        """The rule that fires for this call at this point, or None."""
        with self.lock:
            for r in self.rules:
                if r["target"] not in (target, "any") and not (
                        r["target"] == "api" and target != "imds"):
                    continue
                if r["when"] != when:
                    continue
                if r["action"] and not (action == r["action"] or (
                        target == "imds" and action.startswith(r["action"]))):
                    continue
                r["seen"] += 1
                n = r["seen"] - r["after"]
                if n <= 0 or n % r["every"] != 0:
                    continue
                if r["count"] >= 0 and r["fired"] >= r["count"]:
                    continue
                r["fired"] += 1
                return dict(r)
        return None

    def view(self):
        with self.lock:
            return [dict(r) for r in self.rules]


class CallLog:
    """Every EC2 and IMDS request (not control calls): what, who, answer.
    Parameters are kept minus secrets: UserData is replaced by its length."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        with self.lock:
            self.calls = []
            self.connections = 0

    def connection(self):
        with self.lock:
            self.connections += 1

    def add(self, kind, action, params, access_key, status, code, detail=None):
        clean = {}
        for k, v in (params or {}).items():
            if k == "UserData":
                v = "<%d base64 chars>" % len(v)
            elif k.startswith("X-Amz-") and k not in ("X-Amz-Date",
                                                      "X-Amz-Credential"):
                continue
            clean[k] = v
        entry = {"seq": len(self.calls) + 1, "time": time.time(),
                 "kind": kind, "action": action, "params": clean,
                 "access_key": access_key, "status": status, "error": code}
        if detail:
            entry["detail"] = detail
        with self.lock:
            entry["seq"] = len(self.calls) + 1
            self.calls.append(entry)

    def view(self, action=None):
        with self.lock:
            calls = [c for c in self.calls
                     if action is None or c["action"] == action]
            counts, errors = {}, {}
            for c in self.calls:
                counts[c["action"]] = counts.get(c["action"], 0) + 1
                if c["error"]:
                    errors[c["error"]] = errors.get(c["error"], 0) + 1
            return {"calls": calls, "counts": counts, "errors": errors,
                    "total": len(self.calls),
                    "connections": self.connections}
