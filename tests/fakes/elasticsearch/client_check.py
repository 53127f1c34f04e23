#!/usr/bin/python3
"""client_check.py URL USER PASSWORD-FILE PATH-REPO: drive the fake with
Debian's python3-elasticsearch (the official client, 7.17) through every
endpoint the fake implements, so the fake is known to speak the protocol a
real client expects: product check, error classes, bodies and status codes.

Prints one "ok - ..." or "not ok - ..." line per check; exits 1 if any
failed.  The fake must be fresh, with USER able to write; its version is
read from GET / (6.8, 7.x or 8.x behaviour is checked accordingly).
"""

import sys
import traceback
import warnings

import elasticsearch
from elasticsearch import Elasticsearch
from elasticsearch.exceptions import (AuthenticationException, NotFoundError,
                                      RequestError, TransportError)

FAILED = []


def check(desc, fn):
    try:
        fn()
        print("ok - es-client %s: %s" % (VERSION, desc))
    except Exception:  # noqa: BLE001 - any failure is a failed check
        FAILED.append(desc)
        print("not ok - es-client %s: %s" % (VERSION, desc))
        for line in traceback.format_exc().splitlines():
            print("#   " + line)


def raises(exc, fn, etype=None, status=None):
    try:
        fn()
    except exc as e:
        if etype is not None:
            assert e.error == etype, "error type %r, wanted %r" % (e.error, etype)
        if status is not None:
            assert e.status_code == status, "status %r, wanted %r" % (e.status_code, status)
        return e
    raise AssertionError("%s was not raised" % exc.__name__)


def main():
    global VERSION
    url, user, pwfile, path_repo = sys.argv[1:5]
    password = open(pwfile).read().strip()
    warnings.simplefilter("ignore")  # deprecation Warning headers are expected
    es = Elasticsearch([url], http_auth=(user, password), max_retries=0)
    info = es.info()
    VERSION = info["version"]["number"]
    major, minor = (int(x) for x in VERSION.split(".")[:2])
    composable = (major, minor) >= (7, 8)
    typed = {"include_type_name": "false"} if major == 6 else {}
    mapping = {"properties": {"sig": {"type": "text", "analyzer": "semi"}}}
    settings = {"index": {"number_of_shards": 2, "number_of_replicas": 0,
                          "analysis": {"analyzer": {"semi": {"type": "pattern",
                                                             "pattern": ";"}}}}}

    check("info() passes the client's product check; client %s" %
          elasticsearch.__versionstr__, lambda: info["tagline"] == "You Know, for Search")
    check("ping() (HEAD /)", lambda: _true(es.ping()))
    check("wrong password raises AuthenticationException (401)", lambda: raises(
        AuthenticationException,
        Elasticsearch([url], http_auth=(user, "wrong"), max_retries=0).info))
    check("cluster.health green on an empty cluster", lambda: _eq(
        es.cluster.health(wait_for_status="green", timeout="1s")["status"], "green"))

    def templates():
        body = {"index_patterns": ["logs-*"], "order": 3, "settings": settings,
                "mappings": mapping}
        es.indices.put_template(name="legacy1", body=body, params=typed)
        assert es.indices.exists_template(name="legacy1")
        assert not es.indices.exists_template(name="nope")
        got = es.indices.get_template(name="legacy1", params=dict(typed, flat_settings="true"))
        assert got["legacy1"]["settings"]["index.number_of_shards"] == "2", got
        assert got["legacy1"]["order"] == 3 and got["legacy1"]["mappings"] == mapping, got
        raises(NotFoundError, lambda: es.indices.get_template(name="nope"))
        raises(RequestError, lambda: es.indices.put_template(
            name="legacy1", body=body, params=dict(typed, create="true")),
            "illegal_argument_exception")
        es.indices.delete_template(name="legacy1")
        assert not es.indices.exists_template(name="legacy1")
    check("put/get/exists/delete_template (legacy)", templates)

    def index_templates():
        body = {"index_patterns": ["metrics-*"], "priority": 5,
                "template": {"settings": settings, "mappings": mapping}}
        es.indices.put_index_template(name="comp1", body=body)
        assert es.indices.exists_index_template(name="comp1")
        got = es.indices.get_index_template(name="comp1")["index_templates"][0]
        assert got["name"] == "comp1" and got["index_template"]["priority"] == 5, got
        assert got["index_template"]["template"]["settings"]["index"][
            "number_of_shards"] == "2", got
        raises(RequestError, lambda: es.indices.put_index_template(
            name="comp2", body=dict(body, priority=5)), "illegal_argument_exception")
        raises(NotFoundError, lambda: es.indices.get_index_template(name="nope"),
               "resource_not_found_exception")
        es.indices.delete_index_template(name="comp1")
        assert not es.indices.exists_index_template(name="comp1")
    if composable:
        check("put/get/exists/delete_index_template (composable)", index_templates)
    else:
        check("_index_template is not there before 7.8", lambda: raises(
            RequestError, lambda: es.indices.put_index_template(
                name="c", body={"index_patterns": ["x*"]}), "invalid_index_name_exception"))

    def indices():
        es.indices.create(index="crash1", body={"settings": settings, "mappings": mapping},
                          params=typed)
        assert es.indices.exists(index="crash1") and not es.indices.exists(index="nope")
        e = raises(RequestError, lambda: es.indices.create(index="crash1", params=typed),
                   "resource_already_exists_exception", 400)
        assert e.info["error"]["index"] == "crash1", e.info
        s = es.indices.get_settings(index="crash1")["crash1"]["settings"]["index"]
        assert s["number_of_shards"] == "2" and s["analysis"]["analyzer"]["semi"][
            "pattern"] == ";", s
        m = es.indices.get_mapping(index="crash1", params=typed)["crash1"]["mappings"]
        assert m == mapping, m
        assert "crash1" in es.indices.get(index="crash1", params=typed)
        raises(NotFoundError, lambda: es.indices.get(index="nope"), "index_not_found_exception")
        raises(RequestError, lambda: es.indices.create(index="Bad", params=typed),
               "invalid_index_name_exception")
        raises(RequestError, lambda: es.indices.create(index="crash2", body={
            "settings": {"index.numbr_of_shards": 1}}, params=typed),
            "illegal_argument_exception")
        raises(RequestError, lambda: es.indices.create(index="crash2", body={
            "mappings": {"properties": {"f": {"type": "string"}}}}, params=typed),
            "mapper_parsing_exception")
        es.indices.close(index="crash1")
        es.indices.open(index="crash1")
    check("indices create/exists/get/get_settings/get_mapping/close/open, errors", indices)

    def aliases():
        es.indices.create(index="crash2", params=typed)
        es.indices.update_aliases(body={"actions": [
            {"add": {"index": "crash1", "alias": "current"}}]})
        assert es.indices.exists_alias(name="current")
        assert not es.indices.exists_alias(name="nope")
        assert es.indices.get_alias(name="current") == {"crash1": {"aliases": {"current": {}}}}
        es.indices.update_aliases(body={"actions": [
            {"remove": {"index": "crash1", "alias": "current"}},
            {"add": {"index": "crash2", "alias": "current"}}]})
        assert list(es.indices.get_alias(name="current")) == ["crash2"]
        es.indices.put_alias(index="crash1", name="other")
        assert "other" in es.indices.get_alias(index="crash1")["crash1"]["aliases"]
        es.indices.delete_alias(index="crash1", name="other")
        raises(NotFoundError, lambda: es.indices.get_alias(name="nope"))
        raises(NotFoundError, lambda: es.indices.delete_alias(index="crash1", name="nope"))
        raises(RequestError, lambda: es.indices.update_aliases(body={"actions": [
            {"add": {"index": "crash1", "alias": "crash2"}}]}),
            "invalid_alias_name_exception")
    check("update_aliases/get_alias/exists_alias/put_alias/delete_alias", aliases)

    def listings():
        es.indices.put_template(name="lt", body={"index_patterns": ["lt*"]}, params=typed)
        assert "lt" in es.indices.get_template()
        if composable:
            es.indices.put_index_template(name="ct", body={"index_patterns": ["ct*"]})
            names = [t["name"] for t in es.indices.get_index_template()["index_templates"]]
            assert "ct" in names, names
        every = es.indices.get_alias()
        assert every["crash2"]["aliases"] == {"current": {}}, every
        assert es.transport.perform_request("GET", "/_aliases") == every
        assert es.cluster.health(index="crash1")["status"] in ("green", "yellow")
        raises(NotFoundError, lambda: es.cluster.health(index="nope"))
        es.indices.put_alias(index="crash1", name="viapost", params={})
        es.transport.perform_request("POST", "/crash1/_aliases/viapost2")
        assert es.indices.exists_alias(index="crash1", name="viapost2")
    check("listings: all templates, all aliases, health of an index, POST alias", listings)

    def repositories():
        es.snapshot.create_repository(repository="bk", body={
            "type": "fs", "settings": {"location": path_repo + "/bk", "compress": True}})
        assert list(es.snapshot.get_repository()) == ["bk"]
        got = es.snapshot.get_repository(repository="bk")["bk"]
        assert got == {"type": "fs", "settings": {"location": path_repo + "/bk",
                                                  "compress": "true"}}, got
        assert "nodes" in es.snapshot.verify_repository(repository="bk")
        raises(NotFoundError, lambda: es.snapshot.get_repository(repository="nope"),
               "repository_missing_exception")
        raises(TransportError, lambda: es.snapshot.create_repository(
            repository="x", body={"type": "fs", "settings": {"location": "/elsewhere"}}),
            "repository_exception", 500)
    check("snapshot create/get/verify_repository, path.repo enforced", repositories)

    def snapshots():
        r = es.snapshot.create(repository="bk", snapshot="s1", body={"indices": "crash*"},
                               params={"wait_for_completion": "true"})
        assert r["snapshot"]["state"] == "SUCCESS", r
        assert sorted(r["snapshot"]["indices"]) == ["crash1", "crash2"], r
        raises(RequestError, lambda: es.snapshot.create(repository="bk", snapshot="s1"),
               "invalid_snapshot_name_exception")
        got = es.snapshot.get(repository="bk", snapshot="s1")["snapshots"][0]
        assert got["snapshot"] == "s1" and got["state"] == "SUCCESS", got
        st = es.snapshot.status(repository="bk", snapshot="s1")["snapshots"][0]
        assert st["state"] == "SUCCESS" and st["shards_stats"]["failed"] == 0, st
        raises(TransportError, lambda: es.snapshot.restore(
            repository="bk", snapshot="s1", body={"indices": "crash1"}),
            "snapshot_restore_exception", 500)
        r = es.snapshot.restore(repository="bk", snapshot="s1", body={
            "indices": "crash1", "rename_pattern": "crash(.+)",
            "rename_replacement": "restored$1"}, params={"wait_for_completion": "true"})
        assert r["snapshot"]["indices"] == ["restored1"], r
        assert es.indices.exists(index="restored1")
        es.indices.delete(index="crash2")
        es.snapshot.restore(repository="bk", snapshot="s1", body={"indices": "crash2"})
        assert es.indices.exists(index="crash2")
        raises(NotFoundError, lambda: es.snapshot.get(repository="bk", snapshot="nope"),
               "snapshot_missing_exception")
        es.snapshot.delete(repository="bk", snapshot="s1")
        raises(NotFoundError, lambda: es.snapshot.status(repository="bk", snapshot="s1"))
        es.snapshot.delete_repository(repository="bk")
    check("snapshot create/get/status/restore/delete", snapshots)

    def strictness():
        t = es.transport
        raises(RequestError, lambda: t.perform_request(
            "GET", "/_cluster/health", params={"bogus": "1"}), "illegal_argument_exception")
        raises(TransportError, lambda: t.perform_request(
            "PUT", "/strict1", body="{}", headers={"content-type": "text/plain"}),
            status=406)
        if major == 6:
            raises(RequestError, lambda: es.indices.create(
                index="strict1", body={"mappings": mapping}), "mapper_parsing_exception")
        elif major == 7:
            raises(RequestError, lambda: es.indices.create(
                index="strict1", body={"mappings": {"_doc": mapping}}),
                "mapper_parsing_exception")
        else:
            raises(RequestError, lambda: es.indices.create(
                index="strict1", params={"include_type_name": "false"}),
                "illegal_argument_exception")
        raises(TransportError, lambda: t.perform_request("POST", "/_cluster/health"),
               status=405)
    check("unknown parameters, content types, mapping types, methods refused", strictness)

    def health_timeout():
        es.indices.create(index="replicated", params=typed)  # 1 replica, 1 node: yellow
        e = raises(TransportError, lambda: es.cluster.health(
            wait_for_status="green", timeout="200ms"), status=408)
        assert e.info["timed_out"] is True and e.info["status"] == "yellow", e.info
    check("cluster.health times out with 408 and timed_out", health_timeout)
    return 1 if FAILED else 0


def _true(v):
    assert v is True, v


def _eq(a, b):
    assert a == b, "%r != %r" % (a, b)


VERSION = "?"
if __name__ == "__main__":
    sys.exit(main())
