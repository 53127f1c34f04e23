#!/usr/bin/env python3
"""seeds.py: write the fuzz targets' seed corpora, tests/fuzz/corpus/<target>/.

Run from the top of the tree after changing a fixture or an answer below:
    python3 tests/fuzz/seeds.py
Seeds are copies of the tests' fixtures (etc/socorro.ini, the unit tests'
configs, tests/fixtures/socorro-config, etc/socorro.rpm.ini,
etc/elasticsearch) and answers in the shapes the fakes under tests/fakes
serve (AWS Query XML, S3, IMDS, Consul, Elasticsearch) or RabbitMQ's
management API returns.  Answers to one run are joined with "\\n===\\n"
(tests/fuzz/lib/fuzz.h).  Standard library only; the two RSA keys need
openssl(1), and are skipped with a note without it.
"""
import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, "tests", "fuzz", "corpus")
SEP = b"\n===\n"


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def answers(*parts):
    return SEP.join(p.encode() if isinstance(p, str) else p for p in parts)


def js(v):
    return json.dumps(v, separators=(",", ":"))


def fixture(path):
    with open(os.path.join(TOP, path), "rb") as f:
        return f.read()


def config_ini():
    put("config_ini", "socorro.ini", fixture("etc/socorro.ini"))
    put("config_ini", "unit-good.ini", """[env:stage]
region = us-west-2
roles = web, worker
master = web

[env:prod]
roles = web worker

[role:*]
roleenv = {role}-{env}
autoscalename = as-{env}-{role}
elbname = elb-{env}-{role}
sslelb = false
applyscalingpolicy = false
notifyforunhealthyelb = true
scalevariable = {role}_num.{env}

[role:web]
terraformname = webapp
sslelb@prod = true

[role:worker]
terraformname = worker
elbname =
roleenv@prod = prod-{role}
""")
    put("config_ini", "unit-bad.ini", "[env:x]\nroles = a\n[role:a]\nsslelb = maybe\nroleenv = {nope}\n")


def consul_conf():
    for name in ("common.conf", "collector.conf"):
        put("consul_conf", name, fixture("tests/fixtures/socorro-config/" + name))
    put("consul_conf", "vars-and-conf", answers(
        "[stage]\nBUCKET_NAME=crashes\nACCESS_KEY='AKIA 1'\n; comment\nES_URLS=\"http://es:9200\"\n",
        "resource.boto.bucket_name=@@@BUCKET_NAME@@@\nsecret_key=\"a \\\"b\\\" $c \"\n"
        "x='y'\n  # comment\nempty=\nurls=@@@ES_URLS@@@,@@@MISSING@@@\n"))


def kv(key, value, index):
    e = {"Key": key, "CreateIndex": index, "ModifyIndex": index, "LockIndex": 0, "Flags": 0}
    e["Value"] = None if value is None else base64.b64encode(value.encode()).decode()
    return e


def consul_kv():
    tree = js([kv("socorro/common/database_name", "breakpad", 5),
               kv("socorro/common/secret_key", "old", 6),
               kv("socorro/processor/", None, 7),
               kv("socorro/processor/old", "gone", 8)])
    put("consul_kv", "tree-then-txn", answers(tree, "200\nContent-Type: application/json\n\n"
                                              + js({"Results": [], "Errors": None})))
    put("consul_kv", "conflict-409", answers(
        "200\nX-Consul-Results-Filtered-By-ACLs: true\n\n" + tree,
        "409\n\n" + js({"Results": None, "Errors": [
            {"OpIndex": 0, "What": "failed to set key: index is stale"},
            {"OpIndex": 1, "What": "Permission denied"}]}),
        tree))
    put("consul_kv", "empty-404", answers("404\n\n", "403\n\nACL not found"))


def aws_xml():
    ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
    put("aws_xml", "describe-instances",
        '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse %s>'
        "<requestId>r-1</requestId><reservationSet><item><reservationId>r-1</reservationId>"
        "<instancesSet><item><instanceId>i-0123</instanceId><imageId>ami-1</imageId>"
        "<instanceState><code>16</code><name>running</name></instanceState>"
        "<launchTime>2024-01-01T00:00:00.000Z</launchTime><tagSet><item><key>Name</key>"
        "<value>socorroweb-stage</value></item></tagSet></item></instancesSet></item>"
        "</reservationSet><nextToken>tok</nextToken></DescribeInstancesResponse>" % ns)
    put("aws_xml", "ec2-error", answers(
        "HTTP/1.1 401 Unauthorized\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n",
        "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to "
        "validate the provided access credentials</Message></Error></Errors>"
        "<RequestID>abc-123</RequestID></Response>"))
    put("aws_xml", "query-error",
        '<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><Error>'
        "<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
        "<RequestId>req-9</RequestId></ErrorResponse>")
    put("aws_xml", "s3-list",
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult '
        'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>yum</Name>'
        "<IsTruncated>true</IsTruncated><Contents><Key>el7/a&amp;b.rpm</Key>"
        "<ETag>&quot;900150983cd24fb0d6963f7d28e17f72&quot;</ETag><Size>3</Size></Contents>"
        "<Contents><Key>el7/big.rpm</Key><ETag>\"71137c4e-3\"</ETag><Size>9000000000</Size>"
        "</Contents><NextContinuationToken>1ueGcxLPRx1Tr=</NextContinuationToken>"
        "</ListBucketResult>")
    put("aws_xml", "s3-error",
        "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
        "</Message><Key>x</Key><RequestId>1</RequestId></Error>")


def imds_json():
    doc = js({"Code": "Success", "LastUpdated": "2024-01-01T00:00:00Z", "Type": "AWS-HMAC",
              "AccessKeyId": "ASIAFAKE", "SecretAccessKey": "fakesecret",
              "Token": "faketoken", "Expiration": "2030-01-01T06:00:00Z"})
    put("imds_json", "document", doc)
    put("imds_json", "exchange", answers("AQAEAFAKETOKEN==", "socorro-role\nother-role",
                                         doc, "us-west-2"))
    put("imds_json", "not-ready", answers("token", "socorro-role",
                                          js({"Code": "AssumeRoleUnauthorizedAccess"}),
                                          "404\n\n"))


def rabbit_hash(password):
    salt = b"\x90\x8d\xc6\x0a"
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def rabbit_json():
    overview = js({"rabbitmq_version": "3.10.8", "erlang_version": "25.2",
                   "cluster_name": "rabbit@host", "management_version": "3.10.8"})
    whoami = js({"name": "admin", "tags": ["administrator"]})
    ok = js({"status": "ok"})
    nodes = js([{"name": "rabbit@host", "running": True}])
    vhost = js({"name": "socorro", "tracing": False})
    user = js({"name": "socorro", "password_hash": rabbit_hash("s3cr3t"),
               "hashing_algorithm": "rabbit_password_hashing_sha256",
               "tags": ["monitoring", "management"]})
    perms = js({"user": "socorro", "vhost": "socorro", "configure": ".*", "write": ".*",
                "read": ".*"})
    q1 = js({"name": "socorro.normal", "vhost": "socorro", "durable": True,
             "auto_delete": False, "arguments": {}})
    q2 = js({"name": "socorro.priority", "vhost": "socorro", "durable": True,
             "auto_delete": False, "arguments": {"x-max-priority": 10,
                                                 "x-queue-type": "classic"}})
    put("rabbit_json", "all-present", answers(overview, whoami, ok, ok, nodes, vhost, user,
                                              perms, q1, q2))
    put("rabbit_json", "fresh-broker", answers(
        overview, js({"name": "admin", "tags": "administrator"}),
        "503\n\n" + js({"status": "failed", "reason": "resource alarm"}), ok, nodes,
        "404\n\n" + js({"error": "Object Not Found", "reason": "Not Found"}),
        "404\n\n{}", "404\n\n{}", "404\n\n{}", "404\n\n{}",
        "201\n\n", "201\n\n", "201\n\n", "201\n\n", "204\n\n",
        "400\n\n" + js({"error": "bad_request", "reason": "inequivalent arg 'durable'"})))
    put("rabbit_json", "refused", answers("401\n\n" + js({"error": "not_authorised",
                                                          "reason": "Login failed"})))


def es_json():
    version = js({"name": "n1", "cluster_name": "es", "version": {"number": "7.17.9"},
                  "tagline": "You Know, for Search"})
    health = js({"cluster_name": "es", "status": "green", "number_of_nodes": 1})
    tmpl = json.loads(fixture("etc/elasticsearch/socorro_crash.json"))
    put("es_json", "template-file", fixture("etc/elasticsearch/socorro_crash.json"))
    have = js({"index_templates": [{"name": "socorro_crash", "index_template": tmpl}]})
    put("es_json", "up-to-date", answers(
        version, health, have, "404\n\n", "200\n\n",
        js({"socorro202401": {"aliases": {"socorro": {}}}}),
        js({"backups": {"type": "s3", "settings": {"bucket": "b", "base_path": "es"}}})))
    put("es_json", "legacy-6x", answers(
        js({"version": {"number": "6.8.23"}, "tagline": "You Know, for Search"}),
        "408\n\n" + js({"status": "yellow"}),
        js({"socorro_crash": {"order": 1, "index_patterns": ["socorro*"],
                              "settings": {"index.number_of_shards": "5"}, "mappings": {},
                              "aliases": {}}}),
        "200\n\n" + js({"acknowledged": True}), "404\n\n",
        "400\n\n" + js({"error": {"type": "resource_already_exists_exception",
                                  "reason": "index exists"}, "status": 400}),
        "404\n\n{}", js({"acknowledged": True}),
        "404\n\n" + js({"error": {"root_cause": [{"type": "repository_missing_exception"}],
                                  "type": "repository_missing_exception"}, "status": 404}),
        "500\n\n" + js({"error": "boom"})))
    put("es_json", "unauthorized", answers(
        "401\nWWW-Authenticate: Basic realm=\"security\"\n\n"
        + js({"error": {"type": "security_exception", "reason": "missing credentials"},
              "status": 401})))


def http_headers():
    put("http_headers", "s3-answer",
        "HTTP/1.1 200 OK\r\nx-amz-request-id: 4442587FB7D0A2F9\r\n"
        "ETag: \"9b2cf535f27731c974343645a3985328\"\r\nContent-Length: 3\r\n"
        "Set-Cookie: session=SECRET; Path=/\r\nServer: AmazonS3\r\n\r\n")
    put("http_headers", "throttled",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Slow Down\r\nRetry-After: 2\r\n"
        "Location: https://user:pass@bucket.s3.amazonaws.com/k?X-Amz-Signature=abc&x=1\r\n"
        "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n")
    put("http_headers", "request-out",
        "PUT /v1/txn?token=t0k HTTP/1.1\r\nHost: 127.0.0.1:8500\r\n"
        "Authorization: Basic YWRtaW46cHc=\r\nX-Consul-Token: secret\r\n"
        "X-Api-Key: k\r\nContent-Type: application/json\r\n\r\n")


def rpm_spec():
    put("rpm_spec", "socorro.rpm.ini", fixture("etc/socorro.rpm.ini"))
    put("rpm_spec", "small.ini", """[package]
name = hello
version = 1.0
release = 2
epoch = 1
summary = x
[depends]
requires = a >= 1, b, c < 2.0-1
obsoletes = old
[scripts]
post = echo hi
[changelog]
time = 2024-01-02T03:04:05Z
author = A <a@b> - 1.0-2
text = - first
[/etc/hello.conf]
config = noreplace
mode = 0600
user = root
group = wheel
[/var/log/hello]
dir = yes
ghost = yes
""")


def pem_key():
    put("pem_key", "not-a-key", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n"
        "-----END CERTIFICATE-----\n")
    put("pem_key", "encrypted", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    if shutil.which("openssl") is None:
        print("seeds.py: no openssl: RSA key seeds not written", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as d:
        k8 = os.path.join(d, "k8.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:1024", "-out", k8], check=True,
                       stderr=subprocess.DEVNULL)
        k1 = subprocess.run(["openssl", "rsa", "-in", k8, "-traditional"], check=True,
                            capture_output=True).stdout
        put("pem_key", "rsa1024-pkcs8.pem", fixture(k8))
        put("pem_key", "rsa1024-pkcs1.pem", k1)


def pg_msg(t, body):
    return t + struct.pack(">I", len(body) + 4) + body


def pg_backend():
    put("pg_backend", "startup",
        pg_msg(b"R", struct.pack(">I", 10) + b"SCRAM-SHA-256\0\0")
        + pg_msg(b"R", struct.pack(">I", 0))
        + pg_msg(b"S", b"server_version\x0014.9\0")
        + pg_msg(b"K", struct.pack(">II", 42, 7))
        + pg_msg(b"Z", b"I"))
    put("pg_backend", "query",
        pg_msg(b"T", struct.pack(">H", 1) + b"n\0" + struct.pack(">IHIhIH", 0, 0, 23, 4, 0xffffffff, 0))
        + pg_msg(b"D", struct.pack(">HI", 1, 1) + b"7")
        + pg_msg(b"C", b"SELECT 1\0")
        + pg_msg(b"E", b"SERROR\0C42P01\0Mrelation does not exist\0P15\0\0")
        + pg_msg(b"G", b"\0" + struct.pack(">H", 0))
        + pg_msg(b"Z", b"E"))


def backup_manifest():
    m = {"format": "socorro-backup/1", "service": "consul", "env": "stage",
         "time": "2024-05-01T02:03:04Z", "host": "admin1", "tool": "backup",
         "tool_version": "1.0.0", "object": "consul-backup-20240501020304-admin1.json.gz",
         "size": 1234, "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "compression": "gzip", "content": "consul kv export (JSON)",
         "source": {"prefix": "socorro", "keys": 42}}
    put("backup_manifest", "consul.manifest.json", json.dumps(m, indent=2) + "\n")
    m.update(service="postgres", object="postgres-backup-20240501020304-db1.dump",
             compression="none", content="pg_dump -Fc", source={"database": "breakpad"})
    put("backup_manifest", "postgres.manifest.json", json.dumps(m, indent=2) + "\n")
    put("backup_manifest", "names", "consul-backup-20240501020304-admin1.json.gz\n"
        "rabbitmq-backup-20240501020304-mq1.json\npostgres-backup-20240501020304-db1.dump\n"
        "elasticsearch-backup-20240501020304-es1.json.gz.manifest.json\n")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for f in (config_ini, consul_conf, consul_kv, aws_xml, imds_json, rabbit_json, es_json,
              http_headers, rpm_spec, pem_key, pg_backend, backup_manifest):
        f()


if __name__ == "__main__":
    main()
