"""The cluster the fake keeps: indices, legacy and composable index
templates, aliases and health.  Every method runs under Cluster.lock and
raises EsError where a real server answers an error.
"""

import threading
import time
import uuid

import es_settings as S
from es_common import EsError, bad_request, check_index_name, illegal, matches, \
    split_names

RANK = {"red": 0, "yellow": 1, "green": 2}


def not_found(name):
    return EsError(404, "index_not_found_exception", "no such index [%s]" % name,
                   **{"resource.type": "index_or_alias", "resource.id": name,
                      "index_uuid": "_na_", "index": name})


def _uid():
    return uuid.uuid4().hex[:22]


class Cluster:
    def __init__(self, version, nodes=1):
        self.version = version
        self.nodes = nodes
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.reset()

    def reset(self):
        with self.lock:
            self.indices = {}      # name -> index record
            self.legacy = {}       # name -> legacy template record
            self.composable = {}   # name -> composable template record
            self.forced = None     # (status, then_status, at) or None
            self.changed.notify_all()

    # --- health -------------------------------------------------------------

    def force_health(self, status, then=None, after=0.0):
        with self.lock:
            self.forced = None if status is None else \
                (status, then, time.monotonic() + after)
            self.changed.notify_all()

    def status(self):
        if self.forced is not None:
            status, then, at = self.forced
            if then is not None and time.monotonic() >= at:
                self.forced = None if then == "computed" else (then, None, 0)
                return self.status()
            return status
        for ix in self.indices.values():
            if ix["state"] == "open" and \
                    int(ix["settings"]["index.number_of_replicas"]) > self.nodes - 1:
                return "yellow"
        return "green"

    def next_change(self):
        """Seconds until a scheduled health change, or None."""
        if self.forced and self.forced[1] is not None:
            return max(0.0, self.forced[2] - time.monotonic())
        return None

    def health_body(self, timed_out):
        opened = [ix for ix in self.indices.values() if ix["state"] == "open"]
        primaries = sum(int(ix["settings"]["index.number_of_shards"]) for ix in opened)
        replicas = sum(int(ix["settings"]["index.number_of_shards"]) *
                       min(int(ix["settings"]["index.number_of_replicas"]),
                           self.nodes - 1) for ix in opened)
        status = self.status()
        total = primaries + sum(int(ix["settings"]["index.number_of_shards"]) *
                                int(ix["settings"]["index.number_of_replicas"])
                                for ix in opened)
        active = primaries + replicas if status != "red" else replicas
        return {
            "cluster_name": "fake-cluster", "status": status, "timed_out": timed_out,
            "number_of_nodes": self.nodes, "number_of_data_nodes": self.nodes,
            "active_primary_shards": primaries if status != "red" else 0,
            "active_shards": active, "relocating_shards": 0,
            "initializing_shards": 0, "unassigned_shards": total - active,
            "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
            "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number":
                100.0 if total == 0 else 100.0 * active / total,
        }

    # --- resolving names ----------------------------------------------------

    def aliases_of(self):
        """alias name -> [index names], in index creation order."""
        out = {}
        for ix in self.indices.values():
            for a in ix["aliases"]:
                out.setdefault(a, []).append(ix["name"])
        return out

    def resolve(self, expr, ignore_unavailable=False, allow_no_indices=True):
        names, aliases = [], self.aliases_of()
        for part in split_names(expr):
            if part in ("_all", "*"):
                found = list(self.indices)
            elif "*" in part:
                found = [n for n in self.indices if matches(part, n)]
                for a, ixs in aliases.items():
                    if matches(part, a):
                        found += ixs
            elif part in self.indices:
                found = [part]
            elif part in aliases:
                found = aliases[part]
            elif ignore_unavailable:
                found = []
            else:
                raise not_found(part)
            names += [n for n in found if n not in names]
        if not names and not allow_no_indices:
            raise not_found(expr)
        return names

    # --- indices ------------------------------------------------------------

    def _matching_templates(self, name):
        """Settings, mappings, aliases from the templates matching name: the
        best composable one if any matches, else every legacy one by order."""
        hits = [t for t in self.composable.values()
                if any(matches(p, name) for p in t["index_patterns"])]
        if hits:
            best = max(hits, key=lambda t: t.get("priority") or 0)
            tpl = best["template"]
            return [(tpl.get("settings") or {}, tpl.get("mappings") or {},
                     tpl.get("aliases") or {})]
        legacy = sorted((t for t in self.legacy.values()
                         if any(matches(p, name) for p in t["index_patterns"])),
                        key=lambda t: t["order"])
        return [(t["settings"], t["mappings"], t["aliases"]) for t in legacy]

    def create_index(self, name, body, include_type_name):
        check_index_name(name)
        if name in self.indices:
            ix = self.indices[name]
            raise bad_request("resource_already_exists_exception",
                              "index [%s/%s] already exists" % (name, ix["uuid"]),
                              index_uuid=ix["uuid"], index=name)
        if name in self.aliases_of():
            raise bad_request("invalid_index_name_exception",
                              "Invalid index name [%s], already exists as alias" % name,
                              index=name, index_uuid="_na_")
        for key in body:
            if key not in ("settings", "mappings", "aliases"):
                raise EsError(400, "parse_exception",
                              "unknown key [%s] for create index" % key)
        flat = S.flatten(body.get("settings") or {})
        S.validate(flat)
        mapping = S.typeless(body.get("mappings") or {}, self.version, include_type_name)
        merged_flat, merged_map, merged_aliases = {}, {}, {}
        for t_set, t_map, t_al in self._matching_templates(name):
            merged_flat.update(t_set)
            merged_map = S.merge_mappings(merged_map, t_map)
            merged_aliases.update(t_al)
        merged_flat.update(flat)
        merged_map = S.merge_mappings(merged_map, mapping)
        merged_aliases.update(self._check_aliases(body.get("aliases") or {}))
        S.validate_mapping(merged_map, merged_flat)
        for a in merged_aliases:
            if a in self.indices or a == name:
                raise bad_request("invalid_alias_name_exception",
                                  "Invalid alias name [%s]: an index or data stream "
                                  "exists with the same name as the alias" % a)
        settings = {
            "index.number_of_shards": str(self.version.default_shards),
            "index.number_of_replicas": "1",
        }
        settings.update(merged_flat)
        settings.update({
            "index.uuid": _uid(), "index.provided_name": name,
            "index.creation_date": str(int(time.time() * 1000)),
            "index.version.created": str(self.version.version_id),
        })
        mappings_in = body.get("mappings") or {}
        self.indices[name] = {
            "name": name, "uuid": settings["index.uuid"], "settings": settings,
            "mappings": merged_map, "aliases": merged_aliases, "state": "open",
            "type": next(iter(mappings_in)) if include_type_name and mappings_in
            else "_doc",
        }
        self.changed.notify_all()
        return {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _check_aliases(self, aliases):
        if not isinstance(aliases, dict):
            raise illegal("aliases must be an object")
        for a, d in aliases.items():
            check_index_name(a, "alias")
            if not isinstance(d, dict):
                raise illegal("alias [%s] definition must be an object" % a)
        return aliases

    def restore_index(self, name, record):
        """Put a copy of a snapshotted index in place (snapshot restore)."""
        ix = dict(record)
        ix["name"] = name
        ix["settings"] = dict(record["settings"])
        ix["settings"]["index.provided_name"] = name
        ix["state"] = "open"
        self.indices[name] = ix
        self.changed.notify_all()

    def mappings_view(self, ix, include_type_name):
        if include_type_name and ix["mappings"]:
            return {ix.get("type", "_doc"): ix["mappings"]}
        return ix["mappings"]

    def delete_index(self, expr):
        names = self.resolve(expr, allow_no_indices=True)
        for n in names:
            del self.indices[n]
        self.changed.notify_all()
        return {"acknowledged": True}

    def set_state(self, expr, state):
        for n in self.resolve(expr):
            self.indices[n]["state"] = state
        self.changed.notify_all()
        return {"acknowledged": True, "shards_acknowledged": state == "open",
                "indices": {}} if state == "close" else \
            {"acknowledged": True, "shards_acknowledged": True}

    # --- aliases --------------------------------------------------------------

    def update_aliases(self, body):
        actions = body.get("actions") if isinstance(body, dict) else None
        if not isinstance(actions, list) or not actions:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: no actions specified;")
        plan = []
        for act in actions:
            if not isinstance(act, dict) or len(act) != 1:
                raise EsError(400, "x_content_parse_exception",
                              "[alias_action] expected exactly one action")
            (kind, spec), = act.items()
            if kind not in ("add", "remove", "remove_index"):
                raise EsError(400, "x_content_parse_exception",
                              "[1:13] [aliases] unknown field [%s]" % kind)
            plan += self._plan_action(kind, spec)
        for kind, index, alias, definition in plan:   # all checked: apply
            if kind == "add":
                self.indices[index]["aliases"][alias] = definition
            elif kind == "remove":
                self.indices[index]["aliases"].pop(alias, None)
            else:
                del self.indices[index]
        return {"acknowledged": True}

    def _plan_action(self, kind, spec):
        def many(one, several):
            v = spec.get(one, spec.get(several))
            return [v] if isinstance(v, str) else list(v or [])
        index_exprs = many("index", "indices")
        if not index_exprs:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: One of [index/indices] is required;")
        indices = []
        for e in index_exprs:
            indices += [n for n in self.resolve(e, allow_no_indices=False)
                        if n not in indices]
        if kind == "remove_index":
            return [("remove_index", n, None, None) for n in indices]
        aliases = many("alias", "aliases")
        if not aliases:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: One of [alias/aliases] is required;")
        out = []
        for a in aliases:
            if kind == "add":
                check_index_name(a, "alias")
                if a in self.indices:
                    raise bad_request("invalid_alias_name_exception",
                                      "Invalid alias name [%s]: an index or data "
                                      "stream exists with the same name as the "
                                      "alias" % a)
                definition = {k: v for k, v in spec.items()
                              if k in ("filter", "routing", "index_routing",
                                       "search_routing", "is_write_index", "is_hidden")}
                out += [("add", n, a, definition) for n in indices]
            else:
                hit = [n for n in indices if any(matches(a, x) for x in
                                                 self.indices[n]["aliases"])]
                if not hit and spec.get("must_exist", True) is not False:
                    raise EsError(404, "aliases_not_found_exception",
                                  "aliases [%s] missing" % a,
                                  **{"resource.type": "aliases", "resource.id": a})
                for n in hit:
                    out += [("remove", n, x, None) for x in self.indices[n]["aliases"]
                            if matches(a, x)]
        return out

    def get_aliases(self, index_expr, name_expr):
        """GET [/{index}]/_alias[/{name}]: ({index: {"aliases": {...}}}, missing)."""
        names = self.resolve(index_expr) if index_expr else list(self.indices)
        wanted = split_names(name_expr) if name_expr else None
        out, seen = {}, set()
        for n in names:
            found = {}
            for a, d in self.indices[n]["aliases"].items():
                if wanted is None or any(matches(w, a) for w in wanted):
                    found[a] = d
                    seen.add(a)
            if found or (wanted is None):
                out[n] = {"aliases": found}
        missing = [w for w in (wanted or []) if "*" not in w and w not in seen
                   and w != "_all"]
        return out, missing

    # --- legacy templates -----------------------------------------------------

    def put_legacy(self, name, body, create, include_type_name):
        _check_template_name(name, legacy=True)
        if create and name in self.legacy:
            raise illegal("index_template [%s] already exists" % name)
        allowed = {"index_patterns", "order", "version", "settings", "mappings",
                   "aliases"}
        if self.version.major == 6:
            allowed.add("template")  # the 5.x name, deprecated in 6.x
        for key in body:
            if key not in allowed:
                raise illegal("unknown key [%s] in the template " % key)
        patterns = body.get("index_patterns", body.get("template"))
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: index patterns are missing;")
        flat = S.flatten(body.get("settings") or {})
        S.validate(flat)
        mapping = S.typeless(body.get("mappings") or {}, self.version, include_type_name)
        S.validate_mapping(mapping, flat)
        order = body.get("order", 0)
        if not isinstance(order, int) or isinstance(order, bool):
            raise illegal("failed to parse [order]: not an integer")
        rec = {"name": name, "index_patterns": list(patterns), "order": order,
               "settings": flat, "mappings": mapping,
               "aliases": self._check_aliases(body.get("aliases") or {})}
        if body.get("version") is not None:
            rec["version"] = body["version"]
        self.legacy[name] = rec
        return {"acknowledged": True}

    def legacy_view(self, rec, flat_settings, include_type_name):
        out = {"order": rec["order"]}
        if "version" in rec:
            out["version"] = rec["version"]
        out["index_patterns"] = rec["index_patterns"]
        out["settings"] = S.render(rec["settings"], flat_settings)
        mapping = rec["mappings"]
        out["mappings"] = {"_doc": mapping} if include_type_name and mapping else mapping
        out["aliases"] = rec["aliases"]
        return out

    # --- composable templates -------------------------------------------------

    def put_composable(self, name, body, create):
        _check_template_name(name, legacy=False)
        if create and name in self.composable:
            raise illegal("index template [%s] already exists" % name)
        allowed = {"index_patterns", "template", "composed_of", "priority", "version",
                   "_meta", "data_stream"}
        if self.version.at_least(7, 11):
            allowed.add("allow_auto_create")
        for key in body:
            if key not in allowed:
                raise EsError(400, "x_content_parse_exception",
                              "[1:2] [index_template] unknown field [%s]" % key)
        patterns = body.get("index_patterns")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: index patterns are missing;")
        priority = body.get("priority")
        if priority is not None and (not isinstance(priority, int) or priority < 0):
            raise illegal("index template priority must be >= 0")
        composed = body.get("composed_of") or []
        if composed:
            raise illegal("index_template [%s] invalid, cause [index template [%s] "
                          "specifies component templates %s that do not exist]"
                          % (name, name, composed))
        self._check_overlap(name, patterns, priority or 0)
        tpl_in = body.get("template") or {}
        for key in tpl_in:
            if key not in ("settings", "mappings", "aliases"):
                raise EsError(400, "x_content_parse_exception",
                              "[1:2] [template] unknown field [%s]" % key)
        tpl = {}
        if "settings" in tpl_in:
            tpl["settings"] = S.flatten(tpl_in["settings"] or {})
            S.validate(tpl["settings"])
        if "mappings" in tpl_in:
            tpl["mappings"] = S.typeless(tpl_in["mappings"] or {}, self.version, False)
            S.validate_mapping(tpl["mappings"], tpl.get("settings") or {})
        if "aliases" in tpl_in:
            tpl["aliases"] = self._check_aliases(tpl_in["aliases"] or {})
        rec = {"name": name, "index_patterns": list(patterns), "template": tpl,
               "composed_of": []}
        for key in ("priority", "version", "_meta", "data_stream", "allow_auto_create"):
            if body.get(key) is not None:
                rec[key] = body[key]
        self.composable[name] = rec
        return {"acknowledged": True}

    def _check_overlap(self, name, patterns, priority):
        for other in self.composable.values():
            if other["name"] == name or (other.get("priority") or 0) != priority:
                continue
            if any(_overlap(a, b) for a in patterns for b in other["index_patterns"]):
                raise illegal(
                    "index template [%s] has index patterns %s matching patterns from "
                    "existing templates [%s] with patterns (%s => %s) that have the "
                    "same priority [%d], multiple index templates may not match "
                    "during index creation, please use a different priority"
                    % (name, _plist(patterns), other["name"], other["name"],
                       _plist(other["index_patterns"]), priority))

    def composable_view(self, rec, flat_settings):
        tpl = {}
        for key, value in rec["template"].items():
            tpl[key] = S.render(value, flat_settings) if key == "settings" else value
        out = {"index_patterns": rec["index_patterns"], "template": tpl,
               "composed_of": rec["composed_of"]}
        for key in ("priority", "version", "_meta", "data_stream", "allow_auto_create"):
            if key in rec:
                out[key] = rec[key]
        return out


def _plist(p):
    return "[" + ", ".join(p) + "]"


def _overlap(a, b):
    """Whether two index patterns can match a common name (prefix test on
    the part before the first *, as good as the automaton for a*-style
    patterns)."""
    if "*" not in a:
        return matches(b, a)
    if "*" not in b:
        return matches(a, b)
    pa, pb = a.split("*", 1)[0], b.split("*", 1)[0]
    return pa.startswith(pb) or pb.startswith(pa)


def _check_template_name(name, legacy):
    why = None
    if " " in name:
        why = "name must not contain a space"
    elif "," in name:
        why = "name must not contain a ','"
    elif "#" in name:
        why = "name must not contain a '#'"
    elif "*" in name and not legacy:
        why = "name must not contain a '*'"
    elif name.startswith("_"):
        why = "name must not start with '_'"
    elif name != name.lower():
        why = "name must be lower cased"
    if why:
        raise bad_request("invalid_index_template_exception",
                          "index_template [%s] invalid, cause [%s]" % (name, why))
