"""The test-facing control API, under /_fake/ on the fake's port.  No
signature needed; JSON in, JSON out.  See README.md for the full list.

route(app, method, path, query, data) -> (status, JSON-able object)
"""

import re
import urllib.parse

import control_asg
from state import DEFAULTS


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _settings(store, data):
    if not isinstance(data, dict):
        raise ControlError(400, "config: expected a JSON object")
    for key, value in data.items():
        if key not in DEFAULTS:
            raise ControlError(400, "config: unknown setting %r" % key)
        want = type(DEFAULTS[key])
        try:
            value = float(value) if want is float else want(value)
        except (TypeError, ValueError):
            raise ControlError(400, "config: %s must be a %s"
                               % (key, want.__name__))
        if key == "image_outcome" and value not in ("available", "failed"):
            raise ControlError(400, "image_outcome: available or failed")
        if key == "default_outcome" and value not in ("success", "fail",
                                                      "hang"):
            raise ControlError(400, "default_outcome: success, fail or hang")
        store.settings[key] = value
    return dict(store.settings)


def route(app, method, path, query, data):
    store = app.store
    q = dict(urllib.parse.parse_qsl(query))
    parts = [p for p in path.split("/") if p][1:]  # after "_fake"
    head = parts[0] if parts else ""
    arg = urllib.parse.unquote(parts[1]) if len(parts) > 1 else None

    with store.lock:
        store.advance()
        if head == "health" and method == "GET":
            return 200, {"ok": True, "port": app.port, "pid": app.pid}
        if head == "state" and method == "GET":
            return 200, store.snapshot()
        if head == "reset" and method == "POST":
            app.reset()
            return 200, {"reset": True}
        if head == "config":
            if method == "POST":
                return 200, _settings(store, data or {})
            if method == "GET":
                return 200, dict(store.settings)
        if head == "faults":
            if method == "GET":
                return 200, {"faults": app.faults.view()}
            if method == "DELETE":
                app.faults.clear()
                return 200, {"faults": []}
            if method == "POST":
                try:
                    added = app.faults.add(data)
                except (ValueError, TypeError) as err:
                    raise ControlError(400, "faults: %s" % err)
                return 200, {"added": added, "faults": app.faults.view()}
        if head == "calls":
            if method == "GET":
                return 200, app.calls.view(q.get("action"))
            if method == "DELETE":
                app.calls.clear()
                return 200, {"cleared": True}
        if head == "instances":
            return _instances(store, method, arg, data)
        if head == "images":
            return _images(store, method, arg, data)
        if head == "credentials":
            return _credentials(app, method, arg, data)
        if head in ("groups", "loadbalancers", "seed"):
            answer = control_asg.route(
                app, method, [urllib.parse.unquote(p) for p in parts], data)
            if answer is not None:
                return answer
        if head == "imds":
            if method == "POST":
                try:
                    app.imds.configure(dict(data or {}))
                except ValueError as err:
                    raise ControlError(400, str(err))
            if method in ("GET", "POST"):
                return 200, app.imds.view()
    raise ControlError(404, "no control endpoint %s %s" % (method, path))


def _instances(store, method, iid, data):
    if iid is None and method == "GET":
        return 200, {"instances": store.snapshot()["instances"]}
    inst = store.instances.get(iid or "")
    if inst is None:
        raise ControlError(404, "no instance %r" % iid)
    if method == "POST":
        data = data or {}
        bad = set(data) - {"outcome", "exit", "console", "healthy"}
        if bad:
            raise ControlError(400, "instance control: unknown %s"
                               % ", ".join(sorted(bad)))
        if "healthy" in data:  # never passes health checks when false
            inst["healthy"] = bool(data["healthy"])
        try:
            store.control_instance(inst, data.get("outcome"),
                                   data.get("exit"), data.get("console"))
        except ValueError as err:
            raise ControlError(400, str(err))
    elif method != "GET":
        raise ControlError(405, "GET or POST")
    view = [v for v in store.snapshot()["instances"]
            if v["instance_id"] == iid][0]
    view["user_data"] = inst["user_data"].decode("utf-8", "replace")
    return 200, view


def _images(store, method, image_id, data):
    data = data or {}
    if method == "POST" and image_id is None:
        bad = set(data) - {"image_id", "name", "owner_id", "owner_alias",
                           "public", "description", "state", "tags"}
        if bad:
            raise ControlError(400, "image seed: unknown %s"
                               % ", ".join(sorted(bad)))
        iid = data.get("image_id")
        if iid and not re.fullmatch(r"ami-([0-9a-f]{8}|[0-9a-f]{17})", iid):
            raise ControlError(400, "image_id must look like ami-<17 hex>")
        img = store.add_image(**data)
        return 200, {"image_id": img["image_id"]}
    if image_id is None and method == "GET":
        return 200, {"images": store.snapshot()["images"]}
    img = store.images.get(image_id or "")
    if img is None:
        raise ControlError(404, "no image %r" % image_id)
    if method == "POST":
        if "healthy" in data:  # its instances never pass health checks
            img["healthy"] = bool(data["healthy"])
        outcome = data.get("outcome")
        if outcome is None and "healthy" in data:
            pass
        elif outcome not in ("available", "failed"):
            raise ControlError(400, "image outcome: available or failed")
        else:
            img["outcome"] = outcome
        if data.get("now") and img["state"] == "pending":
            store.schedule(0, "image_done", image_id, 0)
            store.advance()
    return 200, [v for v in store.snapshot()["images"]
                 if v["image_id"] == image_id][0]


def _credentials(app, method, akid, data):
    creds = app.creds
    if method == "GET":
        return 200, {"access_keys": sorted(creds.keys)}
    if method == "DELETE" and akid:
        creds.remove(akid)
        return 200, {"access_keys": sorted(creds.keys)}
    if method == "POST":
        data = data or {}
        if not data.get("access_key_id") or not data.get("secret_access_key"):
            raise ControlError(400, "access_key_id and secret_access_key "
                               "are required")
        expires = None
        if data.get("expires_in") is not None:
            expires = app.store.now() + float(data["expires_in"])
        creds.add(data["access_key_id"], data["secret_access_key"],
                  data.get("session_token"), expires)
        return 200, {"access_keys": sorted(creds.keys)}
    raise ControlError(405, "GET, POST or DELETE")

