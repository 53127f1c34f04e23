"""The REST API of the fake: which (method, path) goes to which handler,
with which query parameters.  A parameter a real server does not know for
that endpoint is refused (400 "contains unrecognized parameter"), a path
it does not know is 400 "no handler found", a known path with the wrong
method is 405, as from a real node.

Each handler gets a Request (req.args: path parts; req.params; req.body:
parsed JSON or None) and returns (status, body) or raises EsError.
"""

import time

import es_settings
from es_common import EsError, illegal, matches, parse_bool, parse_time

COMMON = {"pretty", "human", "error_trace"}
IDX_OPTS = {"ignore_unavailable", "allow_no_indices", "expand_wildcards"}
MT = {"master_timeout"}


def _b(req, name, default=False):
    return parse_bool(name, req.params[name]) if name in req.params else default


def _types(req):
    """include_type_name, defaulted for the version (6.x: true, 7.x: false)."""
    return _b(req, "include_type_name", req.app.version.types_default())


def _need_body(req):
    if req.body is None:
        raise EsError(400, "parse_exception", "request body is required")
    if not isinstance(req.body, dict):
        raise EsError(400, "parse_exception", "request body must be an object")
    return req.body


def _deprecate(req, text):
    req.warnings.append('299 Elasticsearch-%s-fake "%s"' % (req.app.version.number, text))


# --- root and health ---------------------------------------------------------

def root(req):
    v = req.app.version
    version = {"number": v.number, "build_flavor": "default", "build_type": "deb",
               "build_hash": "fakefakefakefakefakefakefakefakefakefake",
               "build_date": "2023-01-01T00:00:00.000000000Z", "build_snapshot": False,
               "lucene_version": v.lucene,
               "minimum_wire_compatibility_version": "%d.8.0" % (v.major - 1),
               "minimum_index_compatibility_version": "%d.0.0" % (v.major - 1)}
    return 200, {"name": "fake-node-1", "cluster_name": "fake-cluster",
                 "cluster_uuid": "fakeclusteruuid0000000", "version": version,
                 "tagline": "You Know, for Search"}


def health(req):
    cl = req.app.cluster
    want = req.params.get("wait_for_status")
    if want is not None and want not in ("green", "yellow", "red"):
        raise illegal("unknown cluster health status [%s]" % want)
    timeout = parse_time("timeout", req.params.get("timeout", "30s"))
    with cl.changed:
        if req.args:
            cl.resolve(req.args[0])
        deadline = time.monotonic() + max(timeout, 0)
        rank = {"red": 0, "yellow": 1, "green": 2}
        while want is not None and rank[cl.status()] < rank[want]:
            left = deadline - time.monotonic()
            if left <= 0:
                ok = _b(req, "return_200_for_cluster_health_timeout")
                return (200 if ok else 408), cl.health_body(True)
            nxt = cl.next_change()
            cl.changed.wait(left if nxt is None else min(left, nxt + 0.01))
        return 200, cl.health_body(False)


# --- legacy templates ------------------------------------------------------

def legacy_put(req):
    cl = req.app.cluster
    if cl.version.composable:
        _deprecate(req, "Legacy index templates are deprecated in favor of "
                        "composable templates.")
    if "include_type_name" in req.params and cl.version.major == 7:
        _deprecate(req, "[types removal] Using include_type_name in put index "
                        "template requests is deprecated. The parameter will be "
                        "removed in the next major version.")
    return 200, cl.put_legacy(req.args[0], _need_body(req), _b(req, "create"),
                              _types(req))


def _legacy_select(req):
    cl = req.app.cluster
    names = req.args[0].split(",") if req.args else ["*"]
    return {n: t for n, t in cl.legacy.items() if any(matches(p, n) for p in names)}


def legacy_get(req):
    found = _legacy_select(req)
    cl = req.app.cluster
    body = {n: cl.legacy_view(t, _b(req, "flat_settings"), _types(req))
            for n, t in found.items()}
    if not found and req.args and "*" not in req.args[0]:
        return 404, {}
    return 200, body


def legacy_head(req):
    return (200 if _legacy_select(req) else 404), None


def legacy_delete(req):
    cl = req.app.cluster
    found = _legacy_select(req)
    if not found:
        raise EsError(404, "index_template_missing_exception",
                      "index_template [%s] missing" % req.args[0])
    for n in found:
        del cl.legacy[n]
    return 200, {"acknowledged": True}


# --- composable templates ----------------------------------------------------

def _composable_only(req):
    if not req.app.version.composable:
        # Before 7.8 the path is an index name starting with "_".
        raise EsError(400, "invalid_index_name_exception",
                      "Invalid index name [_index_template], must not start with '_'.",
                      index="_index_template", index_uuid="_na_")


def composable_put(req):
    _composable_only(req)
    return 200, req.app.cluster.put_composable(req.args[0], _need_body(req),
                                               _b(req, "create"))


def _composable_select(req):
    _composable_only(req)
    names = req.args[0].split(",") if req.args else ["*"]
    cl = req.app.cluster
    found = [t for n, t in cl.composable.items() if any(matches(p, n) for p in names)]
    if not found and req.args and "*" not in req.args[0]:
        raise EsError(404, "resource_not_found_exception",
                      "index template matching [%s] not found" % req.args[0])
    return found


def composable_get(req):
    cl = req.app.cluster
    return 200, {"index_templates": [
        {"name": t["name"], "index_template": cl.composable_view(t, _b(req, "flat_settings"))}
        for t in _composable_select(req)]}


def composable_head(req):
    try:
        return (200 if _composable_select(req) else 404), None
    except EsError as e:
        return e.status, None


def composable_delete(req):
    cl = req.app.cluster
    for t in _composable_select(req):
        del cl.composable[t["name"]]
    return 200, {"acknowledged": True}


# --- indices -----------------------------------------------------------------

def index_create(req):
    return 200, req.app.cluster.create_index(req.args[0], req.body or {}, _types(req))


def _resolve(req):
    return req.app.cluster.resolve(req.args[0], _b(req, "ignore_unavailable"),
                                   _b(req, "allow_no_indices", True))


def index_get(req):
    cl = req.app.cluster
    flat = _b(req, "flat_settings")
    return 200, {n: {"aliases": cl.indices[n]["aliases"],
                     "mappings": cl.mappings_view(cl.indices[n], _types(req)),
                     "settings": es_settings.render(cl.indices[n]["settings"], flat)}
                 for n in _resolve(req)}


def index_head(req):
    try:
        return (200 if _resolve(req) else 404), None
    except EsError as e:
        return e.status, None


def index_delete(req):
    return 200, req.app.cluster.delete_index(req.args[0])


def index_settings(req):
    cl = req.app.cluster
    return 200, {n: {"settings": es_settings.render(cl.indices[n]["settings"],
                                        _b(req, "flat_settings"))}
                 for n in _resolve(req)}


def index_mapping(req):
    cl = req.app.cluster
    return 200, {n: {"mappings": cl.mappings_view(cl.indices[n], _types(req))}
                 for n in _resolve(req)}


def index_close(req):
    return 200, req.app.cluster.set_state(req.args[0], "close")


def index_open(req):
    return 200, req.app.cluster.set_state(req.args[0], "open")


# --- aliases -------------------------------------------------------------------

def aliases_post(req):
    return 200, req.app.cluster.update_aliases(_need_body(req))


def aliases_all(req):
    out, _ = req.app.cluster.get_aliases(None, None)
    return 200, out


def alias_get(req):
    index, name = _alias_args(req)
    out, missing = req.app.cluster.get_aliases(index, name)
    if missing:
        e = EsError(404, None, "alias [%s] missing" % ",".join(missing)
                    if len(missing) == 1 else
                    "aliases [%s] missing" % ",".join(missing), bare=True)
        e.partial = out
        raise e
    return 200, out


def alias_head(req):
    index, name = _alias_args(req)
    out, missing = req.app.cluster.get_aliases(index, name)
    found = any(v["aliases"] for v in out.values())
    return (200 if found and not missing else 404), None


def _alias_args(req):
    """(index expression or None, alias expression or None) from the path."""
    if req.route_kind == "alias":        # /_alias[/{name}]
        return None, req.args[0] if req.args else None
    return req.args[0], req.args[1] if len(req.args) > 1 else None


def alias_put(req):
    action = {"index": req.args[0], "alias": req.args[1]}
    action.update(req.body or {})
    return 200, req.app.cluster.update_aliases({"actions": [{"add": action}]})


def alias_delete(req):
    return 200, req.app.cluster.update_aliases(
        {"actions": [{"remove": {"index": req.args[0], "alias": req.args[1]}}]})


# --- snapshots -------------------------------------------------------------------

def repo_put(req):
    return 200, req.app.snaps.put_repo(req.args[0], _need_body(req), _b(req, "verify", True))


def repo_get(req):
    return 200, req.app.snaps.get_repos(req.args[0] if req.args else None)


def repo_delete(req):
    return 200, req.app.snaps.delete_repo(req.args[0])


def repo_verify(req):
    return 200, req.app.snaps.verify_repo(req.args[0])


def snap_create(req):
    sn = req.app.snaps
    rec = sn.create(req.args[0], req.args[1], req.body or {})
    if not _b(req, "wait_for_completion"):
        return 200, {"accepted": True}
    app = req.app
    app.cluster.lock.release()      # let other requests in while it "runs"
    try:
        time.sleep(rec["duration_ms"] / 1000.0)
    finally:
        app.cluster.lock.acquire()
    return 200, {"snapshot": sn.info(rec)}


def snap_get(req):
    return 200, req.app.snaps.get(req.args[0], req.args[1])


def snap_status(req):
    return 200, req.app.snaps.status(req.args[0], req.args[1])


def snap_delete(req):
    return 200, req.app.snaps.delete(req.args[0], req.args[1])


def snap_restore(req):
    out = req.app.snaps.restore(req.args[0], req.args[1], req.body or {})
    return 200, out if _b(req, "wait_for_completion") else {"accepted": True}


# --- the table -------------------------------------------------------------------

IDX_GET = {"flat_settings", "include_defaults", "local"} | IDX_OPTS | MT
TYPES = {"include_type_name"}
# (path pattern, kind, {method: (handler, params, security action)})
ROUTES = [
    ("/", "root", {"GET": (root, set(), "cluster:monitor/main"),
                   "HEAD": (root, set(), "cluster:monitor/main")}),
    ("/_cluster/health", "health", None),
    ("/_cluster/health/{}", "health", None),
    ("/_template", "legacy", {"GET": (legacy_get, {"flat_settings", "local"} | MT | TYPES,
                                      "indices:admin/template/get")}),
    ("/_template/{}", "legacy", None),
    ("/_index_template", "composable",
     {"GET": (composable_get, {"flat_settings", "local"} | MT,
              "indices:admin/index_template/get")}),
    ("/_index_template/{}", "composable", None),
    ("/_aliases", "aliases", {"POST": (aliases_post, {"timeout"} | MT,
                                       "indices:admin/aliases"),
                              "GET": (aliases_all, {"local"}, "indices:admin/aliases/get")}),
    ("/_alias", "alias", None),
    ("/_alias/{}", "alias", None),
    ("/_snapshot", "repo", {"GET": (repo_get, {"local"} | MT,
                                    "cluster:admin/repository/get")}),
    ("/_snapshot/{}", "repo", None),
    ("/_snapshot/{}/_verify", "repo", {"POST": (repo_verify, {"timeout"} | MT,
                                                "cluster:admin/repository/verify")}),
    ("/_snapshot/{}/{}", "snap", None),
    ("/_snapshot/{}/{}/_status", "snap", {"GET": (snap_status, {"ignore_unavailable"} | MT,
                                                  "cluster:admin/snapshot/status")}),
    ("/_snapshot/{}/{}/_restore", "snap",
     {"POST": (snap_restore, {"wait_for_completion"} | MT, "cluster:admin/snapshot/restore")}),
    ("/{}", "index", None),
    ("/{}/_settings", "index", {"GET": (index_settings, IDX_GET,
                                        "indices:monitor/settings/get")}),
    ("/{}/_mapping", "index", {"GET": (index_mapping, {"local"} | IDX_OPTS | MT | TYPES,
                                       "indices:admin/mappings/get")}),
    ("/{}/_close", "index", {"POST": (index_close, {"timeout", "wait_for_active_shards"} |
                                      IDX_OPTS | MT, "indices:admin/close")}),
    ("/{}/_open", "index", {"POST": (index_open, {"timeout", "wait_for_active_shards"} |
                                     IDX_OPTS | MT, "indices:admin/open")}),
    ("/{}/_alias", "index_alias", {"GET": (alias_get, {"local"} | IDX_OPTS,
                                           "indices:admin/aliases/get")}),
    ("/{}/_alias/{}", "index_alias", None),
    ("/{}/_aliases/{}", "index_alias", None),
]
HEALTH_PARAMS = {"wait_for_status", "timeout", "level", "local", "wait_for_nodes",
                 "wait_for_active_shards", "wait_for_events", "expand_wildcards",
                 "wait_for_no_relocating_shards", "wait_for_no_initializing_shards",
                 "return_200_for_cluster_health_timeout"} | MT
ALIAS_RW = {
    "PUT": (alias_put, {"timeout"} | MT, "indices:admin/aliases"),
    "POST": (alias_put, {"timeout"} | MT, "indices:admin/aliases"),
    "GET": (alias_get, {"local"} | IDX_OPTS, "indices:admin/aliases/get"),
    "HEAD": (alias_head, {"local"} | IDX_OPTS, "indices:admin/aliases/get"),
    "DELETE": (alias_delete, {"timeout"} | MT, "indices:admin/aliases"),
}
FILLED = {
    "/_cluster/health": {"GET": (health, HEALTH_PARAMS, "cluster:monitor/health")},
    "/_template/{}": {
        "PUT": (legacy_put, {"create", "cause", "order", "timeout"} | MT | TYPES,
                "indices:admin/template/put"),
        "GET": (legacy_get, {"flat_settings", "local"} | MT | TYPES,
                "indices:admin/template/get"),
        "HEAD": (legacy_head, {"flat_settings", "local"} | MT, "indices:admin/template/get"),
        "DELETE": (legacy_delete, {"timeout"} | MT, "indices:admin/template/delete"),
    },
    "/_index_template/{}": {
        "PUT": (composable_put, {"create", "cause"} | MT, "indices:admin/index_template/put"),
        "GET": (composable_get, {"flat_settings", "local"} | MT,
                "indices:admin/index_template/get"),
        "HEAD": (composable_head, {"flat_settings", "local"} | MT,
                 "indices:admin/index_template/get"),
        "DELETE": (composable_delete, {"timeout"} | MT, "indices:admin/index_template/delete"),
    },
    "/_alias": {"GET": (alias_get, {"local"} | IDX_OPTS, "indices:admin/aliases/get")},
    "/_alias/{}": {"GET": ALIAS_RW["GET"], "HEAD": ALIAS_RW["HEAD"]},
    "/_snapshot/{}": {
        "PUT": (repo_put, {"verify", "timeout"} | MT, "cluster:admin/repository/put"),
        "GET": (repo_get, {"local"} | MT, "cluster:admin/repository/get"),
        "DELETE": (repo_delete, {"timeout"} | MT, "cluster:admin/repository/delete"),
    },
    "/_snapshot/{}/{}": {
        "PUT": (snap_create, {"wait_for_completion"} | MT, "cluster:admin/snapshot/create"),
        "GET": (snap_get, {"ignore_unavailable", "verbose", "index_details",
                           "include_repository", "sort", "size", "order", "offset",
                           "after", "from_sort_value"} | MT, "cluster:admin/snapshot/get"),
        "DELETE": (snap_delete, MT, "cluster:admin/snapshot/delete"),
    },
    "/{}": {
        "PUT": (index_create, {"wait_for_active_shards", "timeout"} | MT | TYPES,
                "indices:admin/create"),
        "GET": (index_get, IDX_GET | TYPES, "indices:admin/get"),
        "HEAD": (index_head, IDX_GET, "indices:admin/get"),
        "DELETE": (index_delete, {"timeout"} | IDX_OPTS | MT, "indices:admin/delete"),
    },
    "/{}/_alias/{}": ALIAS_RW,
    "/{}/_aliases/{}": ALIAS_RW,
}
FILLED["/_cluster/health/{}"] = FILLED["/_cluster/health"]
FILLED["/_template/{}"]["POST"] = FILLED["/_template/{}"]["PUT"]
FILLED["/_index_template/{}"]["POST"] = FILLED["/_index_template/{}"]["PUT"]
FILLED["/_snapshot/{}"]["POST"] = FILLED["/_snapshot/{}"]["PUT"]
FILLED["/_snapshot/{}/{}"]["POST"] = FILLED["/_snapshot/{}/{}"]["PUT"]
TABLE = [(pat, kind, methods if methods is not None else FILLED[pat])
         for pat, kind, methods in ROUTES]


def route(parts):
    """(kind, methods, args) for the decoded path parts, or None.  A literal
    part of a pattern beats a {} placeholder ("/_alias" is not an index)."""
    best = None
    for pat, kind, methods in TABLE:
        pp = [p for p in pat.split("/") if p]
        if len(pp) != len(parts):
            continue
        args, score = [], 0
        for want, got in zip(pp, parts):
            if want == "{}":
                args.append(got)
            elif want == got:
                score += 1
            else:
                break
        else:
            if best is None or score > best[0]:
                best = (score, kind, methods, args)
    return None if best is None else best[1:]
