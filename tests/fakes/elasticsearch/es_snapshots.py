"""Snapshot repositories and snapshots, as the fake keeps them.

Repositories: "fs" (settings.location, which must lie under one of the
fake's --path-repo directories, as path.repo demands of a real node) and
"s3" (settings.bucket; a plugin before 8.0, so only with --plugin
repository-s3 there).  Repository settings come back as strings, as from a
real server.

Snapshots copy the definitions of the indices they cover (settings,
mappings, aliases; the fake keeps no documents) and, with
include_global_state, the templates.  An fs repository keeps its snapshots
in <location>/fake-es-snapshots.json, so a second fake registering the same
location sees them: a backup taken on one cluster restores on a fresh one.
Snapshots take --snapshot-seconds to finish (IN_PROGRESS until then) and can
be made to fail (POST /_fake/snapshots {"fail": true}).
"""

import copy
import json
import os
import re
import time
import uuid

from es_common import EsError, bad_request, illegal, matches, split_names

STORE_FILE = "fake-es-snapshots.json"


def _repo_error(name, reason, status=500, etype="repository_exception"):
    return EsError(status, etype, "[%s] %s" % (name, reason))


def repo_missing(name):
    return EsError(404, "repository_missing_exception", "[%s] missing" % name)


def _stringify(settings, prefix=""):
    out = {}
    for k, v in (settings or {}).items():
        if isinstance(v, dict):
            out.update(_stringify(v, prefix + k + "."))
        elif isinstance(v, bool):
            out[prefix + k] = "true" if v else "false"
        elif isinstance(v, list):
            out[prefix + k] = [str(x) for x in v]
        elif v is not None:
            out[prefix + k] = str(v) if not isinstance(v, float) else repr(v)
    return out


def _shard_stats(state, total):
    done = total if state != "IN_PROGRESS" else 0
    failed = total if state == "FAILED" else 0
    return {"initializing": 0, "started": total - done, "finalizing": 0,
            "done": done - failed, "failed": failed, "total": total}


def _iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + \
        ".%03dZ" % (ms % 1000)


class Snapshots:
    def __init__(self, cluster, path_repo, plugins):
        self.cluster = cluster
        self.path_repo = [os.path.realpath(p) for p in path_repo]
        self.plugins = set(plugins)
        self.duration = 0.0
        self.fail = False
        self.repos = {}   # name -> {"type", "settings", "snapshots": {name: rec}}

    # --- repositories -------------------------------------------------------

    def put_repo(self, name, body, verify):
        if not isinstance(body, dict) or "type" not in body:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: type is missing;")
        for key in body:
            if key not in ("type", "settings"):
                raise illegal("Unknown field [%s] in repository [%s]" % (key, name))
        rtype, settings = body["type"], _stringify(body.get("settings"))
        if rtype == "s3" and (self.cluster.version.major >= 8 or
                              "repository-s3" in self.plugins):
            if not settings.get("bucket"):
                raise _repo_error(name, "No bucket defined for s3 repository")
            for secret in ("access_key", "secret_key", "session_token"):
                if secret in settings:
                    raise illegal("Setting [%s] is insecure, use the elasticsearch "
                                  "keystore (s3.client.default.%s) instead"
                                  % (secret, secret))
            found = {}
        elif rtype == "fs":
            found = self._fs_open(name, settings, verify)
        else:
            raise _repo_error(name, "repository type [%s] does not exist" % rtype)
        old = self.repos.get(name)
        snaps = old["snapshots"] if old and old["settings"] == settings else found
        self.repos[name] = {"type": rtype, "settings": settings, "snapshots": snaps}
        return {"acknowledged": True}

    def _fs_dir(self, name, settings):
        loc = settings.get("location")
        if not loc:
            raise _repo_error(name, "missing location")
        if not self.path_repo:
            raise _repo_error(name, "location [%s] doesn't match any of the locations "
                              "specified by path.repo because this setting is empty"
                              % loc)
        path = os.path.realpath(os.path.join(self.path_repo[0], loc))
        if not any(path == p or path.startswith(p + os.sep) for p in self.path_repo):
            raise _repo_error(name, "location [%s] doesn't match any of the locations "
                              "specified by path.repo [%s]"
                              % (loc, ", ".join(self.path_repo)))
        return path

    def _fs_open(self, name, settings, verify):
        path = self._fs_dir(name, settings)
        if verify:
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as e:
                raise _repo_error(name, "cannot create location [%s]: %s" % (path, e),
                                  etype="repository_verification_exception")
        try:
            with open(os.path.join(path, STORE_FILE)) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _persist(self, repo):
        r = self.repos[repo]
        if r["type"] != "fs":
            return
        path = self._fs_dir(repo, r["settings"])
        os.makedirs(path, exist_ok=True)
        tmp = os.path.join(path, STORE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(r["snapshots"], f)
        os.replace(tmp, os.path.join(path, STORE_FILE))

    def repo(self, name):
        if name not in self.repos:
            raise repo_missing(name)
        return self.repos[name]

    def get_repos(self, expr):
        if expr in (None, "_all", "*"):
            names = list(self.repos)
        else:
            names = []
            for part in split_names(expr):
                hit = [n for n in self.repos if matches(part, n)]
                if not hit and "*" not in part:
                    raise repo_missing(part)
                names += hit
        return {n: {"type": self.repos[n]["type"], "settings": self.repos[n]["settings"]}
                for n in names}

    def delete_repo(self, name):
        self.repo(name)
        del self.repos[name]
        return {"acknowledged": True}

    def verify_repo(self, name):
        r = self.repo(name)
        if r["type"] == "fs":
            self._fs_open(name, r["settings"], True)
        return {"nodes": {"fake-node-id": {"name": "fake-node-1"}}}

    # --- snapshots ------------------------------------------------------------

    def create(self, repo, snap, body):
        r = self.repo(repo)
        if snap != snap.lower() or snap.startswith("_") or \
                any(c in snap for c in ' ,"*\\/<>|?#'):
            raise bad_request("invalid_snapshot_name_exception",
                              "[%s:%s] Invalid snapshot name [%s], must be lowercase "
                              "and must not contain whitespace or special characters"
                              % (repo, snap, snap))
        if snap in r["snapshots"]:
            raise bad_request("invalid_snapshot_name_exception",
                              "[%s:%s] Invalid snapshot name [%s], snapshot with the "
                              "same name already exists" % (repo, snap, snap))
        known = {"indices", "ignore_unavailable", "include_global_state", "partial",
                 "metadata", "expand_wildcards", "feature_states"}
        for key in body:
            if key not in known:
                raise illegal("Unknown parameter %s" % key)
        exprs = body.get("indices", "_all")
        if isinstance(exprs, list):
            exprs = ",".join(exprs)
        cl = self.cluster
        names = cl.resolve(exprs, ignore_unavailable=bool(body.get("ignore_unavailable")))
        now = int(time.time() * 1000)
        rec = {
            "snapshot": snap, "uuid": uuid.uuid4().hex[:22], "repository": repo,
            "indices": names, "records": {n: copy.deepcopy(cl.indices[n]) for n in names},
            "include_global_state": body.get("include_global_state", True) is not False,
            "start": now, "duration_ms": int(self.duration * 1000), "fail": self.fail,
            "metadata": body.get("metadata"),
        }
        if rec["include_global_state"]:
            rec["templates"] = {"legacy": copy.deepcopy(cl.legacy),
                                "composable": copy.deepcopy(cl.composable)}
        r["snapshots"][snap] = rec
        self._persist(repo)
        return rec

    def state(self, rec):
        if time.time() * 1000 < rec["start"] + rec["duration_ms"]:
            return "IN_PROGRESS"
        return "FAILED" if rec["fail"] else "SUCCESS"

    def info(self, rec):
        v = self.cluster.version
        state = self.state(rec)
        shards = sum(int(x["settings"]["index.number_of_shards"])
                     for x in rec["records"].values())
        out = {"snapshot": rec["snapshot"], "uuid": rec["uuid"]}
        if v.at_least(7, 14):
            out["repository"] = rec["repository"]
        out.update({"version_id": v.version_id, "version": v.number,
                    "indices": rec["indices"]})
        if v.at_least(7, 9):
            out["data_streams"] = []
        out["include_global_state"] = rec["include_global_state"]
        if rec.get("metadata") is not None:
            out["metadata"] = rec["metadata"]
        out.update({"state": state, "start_time": _iso(rec["start"]),
                    "start_time_in_millis": rec["start"]})
        if state != "IN_PROGRESS":
            end = rec["start"] + rec["duration_ms"]
            out.update({"end_time": _iso(end), "end_time_in_millis": end,
                        "duration_in_millis": rec["duration_ms"]})
        failed = shards if state == "FAILED" else 0
        out["failures"] = [{"index": n, "shard_id": 0, "reason": "fake: injected failure",
                            "status": "INTERNAL_SERVER_ERROR"}
                           for n in rec["indices"]] if failed else []
        out["shards"] = {"total": shards if state != "IN_PROGRESS" else 0,
                         "failed": failed,
                         "successful": shards - failed if state != "IN_PROGRESS" else 0}
        return out

    def find(self, repo, expr):
        r = self.repo(repo)
        if expr in ("_all", "*"):
            return list(r["snapshots"].values())
        out = []
        for part in split_names(expr):
            hit = [s for n, s in r["snapshots"].items() if matches(part, n)]
            if not hit and "*" not in part:
                raise EsError(404, "snapshot_missing_exception",
                              "[%s:%s] is missing" % (repo, part))
            out += hit
        return out

    def get(self, repo, expr):
        snaps = [self.info(s) for s in self.find(repo, expr)]
        out = {"snapshots": snaps}
        if self.cluster.version.major >= 8:
            out.update({"total": len(snaps), "remaining": 0})
        return out

    def status(self, repo, expr):
        out = []
        for rec in self.find(repo, expr):
            state = self.state(rec)
            shards = {n: int(x["settings"]["index.number_of_shards"])
                      for n, x in rec["records"].items()}
            total = sum(shards.values())

            bytes_stats = {"incremental": {"file_count": 0, "size_in_bytes": 0},
                           "total": {"file_count": 0, "size_in_bytes": 0},
                           "start_time_in_millis": rec["start"],
                           "time_in_millis": rec["duration_ms"]}
            out.append({
                "snapshot": rec["snapshot"], "repository": repo, "uuid": rec["uuid"],
                "state": {"IN_PROGRESS": "STARTED"}.get(state, state),
                "include_global_state": rec["include_global_state"],
                "shards_stats": _shard_stats(state, total),
                "stats": bytes_stats,
                "indices": {n: {"shards_stats": _shard_stats(state, k),
                                "stats": bytes_stats, "shards": {}}
                            for n, k in shards.items()},
            })
        return {"snapshots": out}

    def delete(self, repo, snap):
        for rec in self.find(repo, snap):
            del self.repos[repo]["snapshots"][rec["snapshot"]]
        self._persist(repo)
        return {"acknowledged": True}

    def restore(self, repo, snap, body):
        rec = self.find(repo, snap)[0]
        state = self.state(rec)
        where = "[%s:%s/%s]" % (repo, snap, rec["uuid"])
        if state != "SUCCESS":
            raise EsError(500, "snapshot_restore_exception",
                          "%s unsupported snapshot state [%s]" % (where, state))
        known = {"indices", "ignore_unavailable", "include_global_state", "partial",
                 "rename_pattern", "rename_replacement", "include_aliases",
                 "index_settings", "ignore_index_settings", "feature_states",
                 "expand_wildcards"}
        for key in body:
            if key not in known:
                raise illegal("Unknown parameter %s" % key)
        exprs = body.get("indices", "_all")
        exprs = exprs if isinstance(exprs, list) else split_names(exprs)
        chosen = [n for n in rec["indices"]
                  if any(e in ("_all", "*") or matches(e, n) for e in exprs)]
        pattern, repl = body.get("rename_pattern"), body.get("rename_replacement")
        cl = self.cluster
        plan = []
        for n in chosen:
            target = n
            if pattern is not None:
                target = re.sub(pattern, re.sub(r"\$(\d)", r"\\\1", repl or ""), n)
            if target in cl.indices and cl.indices[target]["state"] == "open":
                raise EsError(500, "snapshot_restore_exception",
                              "%s cannot restore index [%s] because an open index with "
                              "same name already exists in the cluster. Either close or "
                              "delete the existing index or restore the index under a "
                              "different name by providing a rename pattern and "
                              "replacement name" % (where, target))
            plan.append((n, target))
        for n, target in plan:
            record = copy.deepcopy(rec["records"][n])
            if body.get("include_aliases", True) is False:
                record["aliases"] = {}
            cl.restore_index(target, record)
        if body.get("include_global_state") and rec.get("templates"):
            cl.legacy.update(copy.deepcopy(rec["templates"]["legacy"]))
            cl.composable.update(copy.deepcopy(rec["templates"]["composable"]))
        shards = sum(int(rec["records"][n]["settings"]["index.number_of_shards"])
                     for n, _ in plan)
        return {"snapshot": {"snapshot": snap, "indices": [t for _, t in plan],
                             "shards": {"total": shards, "failed": 0,
                                        "successful": shards}}}
