"""Fault injection for the fake Consul.

A rule (POST /_fake/faults, a JSON object or a list of them):
  kind    "error"   answer status (default 500) with message instead, and
                    Retry-After: retry_after (seconds) if given
          "reset"   drop the connection with a TCP RST, no answer
          "close"   close the connection cleanly (FIN), no answer
          "delay"   sleep ms (default 1000), then serve normally
          "mutate"  serve normally, then write key (value "value", or
                    "delete": true) behind the client's back: a concurrent
                    change between its read and its write
          "truncate" serve (the state changes), send the status, the headers
                    (the whole body's Content-Length) and half the body, then
                    close; with "reset": true, a TCP RST instead of a FIN
          "garbage" serve, then answer its status with body (default
                    "<html>gateway says hi") and a matching Content-Length
  method  only requests with this method (default any)
  path    only paths starting with this (default any)
  when    "before" (default): instead of serving; "after" (reset, close):
          serve, so the state changes, then lose the answer
  after   let this many matching requests through first (default 0)
  count   how many times to fire; -1 = forever (default 1)
Rules are tried in order; the first that fires wins.
"""

import threading

KINDS = ("error", "reset", "close", "delay", "mutate", "truncate", "garbage")
FIELDS = {"kind", "method", "path", "when", "after", "count", "status",
          "message", "ms", "key", "value", "delete", "retry_after",
          "body", "reset"}


def make_rule(spec):
    if not isinstance(spec, dict):
        raise ValueError("a fault rule is a JSON object")
    unknown = set(spec) - FIELDS
    if unknown:
        raise ValueError("unknown fault fields: %s" % ", ".join(sorted(unknown)))
    if spec.get("kind") not in KINDS:
        raise ValueError("fault kind must be one of %s" % ", ".join(KINDS))
    rule = {"kind": spec["kind"], "method": spec.get("method"),
            "path": spec.get("path", ""), "when": spec.get("when", "before"),
            "after": int(spec.get("after", 0)), "count": int(spec.get("count", 1)),
            "status": int(spec.get("status", 500)),
            "message": spec.get("message", "fake: injected error"),
            "ms": int(spec.get("ms", 1000)), "key": spec.get("key"),
            "value": spec.get("value", ""), "delete": bool(spec.get("delete")),
            "retry_after": spec.get("retry_after"),
            "body": spec.get("body", "<html>gateway says hi"),
            "reset": bool(spec.get("reset")),
            "seen": 0, "fired": 0}
    if rule["when"] not in ("before", "after"):
        raise ValueError("fault 'when' must be before or after")
    if rule["when"] == "after" and rule["kind"] not in ("reset", "close"):
        raise ValueError("'when': 'after' goes with reset or close")
    if rule["kind"] == "mutate" and not isinstance(rule["key"], str):
        raise ValueError("a mutate rule needs a key")
    return rule


class Faults:
    def __init__(self, store):
        self.lock = threading.Lock()
        self.rules = []
        self.store = store

    def add(self, specs):
        rules = [make_rule(s) for s in (specs if isinstance(specs, list)
                                        else [specs])]
        with self.lock:
            self.rules.extend(rules)

    def clear(self):
        with self.lock:
            self.rules = []

    def show(self):
        with self.lock:
            return [dict(r) for r in self.rules]

    def match(self, method, path):
        """The first rule that fires for this request, counted, or None."""
        with self.lock:
            for r in self.rules:
                if r["method"] not in (None, method) or \
                        not path.startswith(r["path"]):
                    continue
                r["seen"] += 1
                if r["seen"] <= r["after"]:
                    continue
                if r["count"] != -1 and r["fired"] >= r["count"]:
                    continue
                r["fired"] += 1
                return dict(r)
        return None

    def mutate(self, rule):
        if rule["delete"]:
            self.store.delete(rule["key"], False, None, "write")
        else:
            self.store.put(rule["key"], rule["value"].encode("utf-8"), 0, None,
                           "write")
