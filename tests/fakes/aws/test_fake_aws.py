#!/usr/bin/env python3
"""Unit tests of the fake AWS server (stdlib unittest).

    python3 tests/fakes/aws/test_fake_aws.py [-v]

Covers: the SigV4 verifier against tests/vectors/sigv4, the user-data
simulation and state machine, the EC2 protocol edges (errors, strictness),
fault injection, IMDSv2 and its credentials, and a clean SIGTERM stop.
"""

import base64
import datetime
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fake_aws  # noqa: E402
from fakeclient import (KEY, SECRET, VECTORS, Client, error_code,  # noqa
                        parse_http, read_vector, run_params)
import sigv4_verify as sv  # noqa: E402
import userdata  # noqa: E402
from state import Store  # noqa: E402

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"


# ---------------------------------------------------------------- vectors

class SignerVectors(unittest.TestCase):
    """The fake's own signer against the published SigV4 test suite."""

    def recompute(self, name):
        ctx = json.loads(read_vector(name, "context.json"))
        method, target, headers, body = parse_http(
            read_vector(name, "request.txt"))
        amz_date = ctx["timestamp"].replace("-", "").replace(":", "")
        headers.append(("X-Amz-Date", amz_date))
        token = ctx["credentials"].get("token")
        if token and not ctx.get("omit_session_token"):
            headers.append(("X-Amz-Security-Token", token))
        payload = hashlib.sha256(body).hexdigest()
        if ctx["sign_body"]:
            headers.append(("X-Amz-Content-Sha256", payload))
        signed = sorted({n.lower() for n, _ in headers})
        path, _, query = target.partition("?")
        creq = sv.canonical_request(method, path, query, headers, signed,
                                    payload, ctx["normalize"])
        self.assertEqual(creq, read_vector(
            name, "header-canonical-request.txt").decode())
        scope = "%s/%s/%s/aws4_request" % (amz_date[:8], ctx["region"],
                                           ctx["service"])
        sts = sv.string_to_sign(amz_date, scope, creq)
        self.assertEqual(sts, read_vector(
            name, "header-string-to-sign.txt").decode())
        sig = sv.sign(ctx["credentials"]["secret_access_key"], amz_date[:8],
                      ctx["region"], ctx["service"], sts)
        self.assertEqual(sig, read_vector(
            name, "header-signature.txt").decode().strip())

    def test_get_vanilla(self):
        self.recompute("get-vanilla")

    def test_post_vanilla(self):
        self.recompute("post-vanilla")

    def test_more_vectors(self):
        for name in ("get-vanilla-query-order-encoded", "get-utf8",
                     "get-header-value-trim", "get-header-key-duplicate",
                     "get-slashes-normalized", "post-x-www-form-urlencoded",
                     "get-vanilla-with-session-token"):
            with self.subTest(name):
                self.recompute(name)

    def test_verify_every_signed_request(self):
        """verify_request accepts each header-signed-request.txt as is."""
        now = sv.parse_amz_date("20150830T123600Z")
        for name in sorted(os.listdir(VECTORS)):
            if not os.path.isdir(os.path.join(VECTORS, name)):
                continue
            with self.subTest(name):
                ctx = json.loads(read_vector(name, "context.json"))
                m, t, h, b = parse_http(read_vector(
                    name, "header-signed-request.txt"))
                b = b.rstrip(b"\n")
                c = ctx["credentials"]
                has_token = any(n.lower() == "x-amz-security-token"
                                for n, _ in h)
                creds = sv.Credentials()
                creds.add(c["access_key_id"], c["secret_access_key"],
                          c.get("token") if has_token else None)
                got = sv.verify_request(creds, m, t, h, b, now, ctx["region"],
                                        ctx["service"], ctx["normalize"])
                self.assertEqual(got, "AKIDEXAMPLE")

    def test_presigned_get_vanilla(self):
        m, t, h, b = parse_http(read_vector("get-vanilla",
                                            "query-signed-request.txt"))
        creds = sv.Credentials()
        creds.add("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        now = sv.parse_amz_date("20150830T123600Z")
        self.assertEqual(sv.verify_request(creds, m, t, h, b, now,
                                           "us-east-1", "service"),
                         "AKIDEXAMPLE")
        with self.assertRaises(sv.AuthError) as e:
            sv.verify_request(creds, m, t, h, b, now + 3601, "us-east-1",
                              "service")
        self.assertEqual(e.exception.code, "RequestExpired")


class SignerRefusals(unittest.TestCase):
    def setUp(self):
        self.m, self.t, self.h, self.b = parse_http(read_vector(
            "post-x-www-form-urlencoded-parameters",
            "header-signed-request.txt"))
        self.b = self.b.rstrip(b"\n")
        self.creds = sv.Credentials()
        self.creds.add("AKIDEXAMPLE",
                       "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        self.now = sv.parse_amz_date("20150830T123600Z")

    def refused(self, code, status, **kw):
        args = dict(creds=self.creds, method=self.m, target=self.t,
                    headers=self.h, body=self.b, now=self.now,
                    region="us-east-1", service="service")
        args.update(kw)
        with self.assertRaises(sv.AuthError) as e:
            sv.verify_request(**args)
        self.assertEqual((e.exception.code, e.exception.status),
                         (code, status))
        return e.exception

    def test_accepted_as_is(self):
        sv.verify_request(self.creds, self.m, self.t, self.h, self.b,
                          self.now, "us-east-1", "service")

    def test_refusals(self):
        self.refused("AuthFailure", 401, creds=sv.Credentials())
        wrong = sv.Credentials()
        wrong.add("AKIDEXAMPLE", "not-the-secret")
        self.refused("SignatureDoesNotMatch", 403, creds=wrong)
        self.refused("RequestExpired", 400, now=self.now + 301)
        self.refused("RequestExpired", 400, now=self.now - 301)
        err = self.refused("SignatureDoesNotMatch", 403, region="us-west-2")
        self.assertIn("valid region", err.message)
        self.refused("SignatureDoesNotMatch", 403, service="ec2")
        # body changed after signing: the payload hash no longer matches
        self.refused("SignatureDoesNotMatch", 403, body=b"Param1=value2")
        self.refused("MissingAuthenticationToken", 401, headers=[
            (n, v) for n, v in self.h if n != "Authorization"])
        session = sv.Credentials()
        session.add("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    token="required-token")
        self.refused("AuthFailure", 401, creds=session)


# ---------------------------------------------------------------- user-data

WRAPPER = b"""#!/bin/sh
(
echo 'step 1'
echo "step $n"
echo done > /tmp/x
# fake-aws: console=provisioned fine
) ; rc=$?
echo "SOCORRO-BUILD-STATUS: $rc"
poweroff
"""


class UserData(unittest.TestCase):
    def test_wrapper_plan(self):
        plan = userdata.parse(WRAPPER)
        self.assertTrue(plan.wrapper)
        self.assertTrue(plan.poweroff)
        self.assertEqual(plan.output, ["step 1", "provisioned fine"])
        self.assertIsNone(plan.outcome)

    def test_directives(self):
        plan = userdata.parse(b"# fake-aws: exit=4 delay=0.5\n")
        self.assertEqual((plan.outcome, plan.exit, plan.delay),
                         ("fail", 4, 0.5))
        self.assertFalse(plan.wrapper or plan.poweroff)
        with self.assertRaises(userdata.PlanError):
            userdata.parse(b"# fake-aws: outcome=maybe\n")

    def test_gzip(self):
        import gzip
        plan = userdata.parse(gzip.compress(b"echo zipped\npoweroff\n"))
        self.assertEqual(plan.output, ["zipped"])
        self.assertTrue(plan.poweroff)


# ---------------------------------------------------------------- state machine

FAST = {"run_delay": 0.05, "script_delay": 0.05, "stop_delay": 0.05,
        "terminate_delay": 0.05, "image_delay": 0.05}


def spec(user_data, behaviour="stop"):
    return {"image_id": "ami-00000000000000001", "instance_type": "t3.micro",
            "user_data": user_data, "shutdown_behavior": behaviour,
            "subnet_id": "subnet-00000000000000001", "vpc_id": "vpc-1",
            "security_groups": [], "key_name": None,
            "iam_instance_profile": None, "profile_arn": None,
            "client_token": None, "tags": {}}


class StateMachine(unittest.TestCase):
    def setUp(self):
        self.store = Store(dict(FAST))

    def settle(self, seconds=0.4):
        time.sleep(seconds)
        with self.store.lock:
            self.store.advance()

    def launch(self, data, behaviour="stop"):
        with self.store.lock:
            return self.store.launch(spec(data, behaviour), 1)[1][0]

    def test_wrapper_success_stops(self):
        inst = self.launch(WRAPPER)
        self.assertEqual(inst["state"], "pending")
        self.settle()
        self.assertEqual([h["state"] for h in inst["history"]],
                         ["pending", "running", "stopping", "stopped"])
        self.assertIn("SOCORRO-BUILD-STATUS: 0", inst["console"])
        self.assertIn("provisioned fine", inst["console"])

    def test_lazy_timing_keeps_spacing(self):
        """Transitions looked at late still carry the times they were due."""
        self.store.settings.update(run_delay=0.1, script_delay=0.2,
                                   stop_delay=0.1)
        inst = self.launch(WRAPPER)
        self.settle(0.8)
        stamps = [datetime.datetime.strptime(h["at"], "%Y-%m-%dT%H:%M:%S.%fZ")
                  for h in inst["history"]]
        gaps = [round((b - a).total_seconds(), 1)
                for a, b in zip(stamps, stamps[1:])]
        self.assertEqual(gaps, [0.1, 0.2, 0.1])

    def test_failure_terminates_with_status(self):
        inst = self.launch(WRAPPER.replace(b"#!/bin/sh", b"#!/bin/sh\n"
                                           b"# fake-aws: outcome=fail exit=7"),
                           behaviour="terminate")
        self.settle()
        self.assertEqual(inst["state"], "terminated")
        self.assertIn("SOCORRO-BUILD-STATUS: 7", inst["console"])

    def test_hang_then_control(self):
        inst = self.launch(b"# fake-aws: outcome=hang\n" + WRAPPER)
        self.settle()
        self.assertEqual((inst["state"], inst["script"]), ("running", "hung"))
        self.assertFalse(any("SOCORRO" in line for line in inst["console"]))
        with self.store.lock:
            self.store.control_instance(inst, outcome="fail", exit=9)
        self.settle()
        self.assertEqual(inst["state"], "stopped")
        self.assertEqual(inst["console"].count("step 1"), 1)
        self.assertIn("SOCORRO-BUILD-STATUS: 9", inst["console"])

    def test_plain_script_without_poweroff_keeps_running(self):
        inst = self.launch(b"#!/bin/sh\necho hi\n")
        self.settle()
        self.assertEqual(inst["state"], "running")
        self.assertIn("hi", inst["console"])

    def test_stop_and_terminate_calls(self):
        inst = self.launch(b"# fake-aws: outcome=hang\n")
        self.settle()
        with self.store.lock:
            self.assertEqual(self.store.stop(inst), ("running", "stopping"))
        self.settle()
        self.assertEqual(inst["state"], "stopped")
        with self.store.lock:
            self.assertEqual(self.store.terminate(inst),
                             ("stopped", "shutting-down"))
        self.settle()
        self.assertEqual(inst["state"], "terminated")
        self.assertEqual(self.store.live_instances(), [])

    def test_image_available_or_failed(self):
        inst = self.launch(WRAPPER)
        self.settle()
        with self.store.lock:
            img = self.store.create_image(inst, "img-one", None,
                                          {"a": "1"}, {"b": "2"})
            self.assertEqual(img["state"], "pending")
        self.settle()
        self.assertEqual(img["state"], "available")
        self.assertIsNotNone(img["available_at"])
        self.assertEqual(self.store.snapshots[img["snapshot_id"]]["tags"],
                         {"b": "2"})
        self.store.settings["image_outcome"] = "failed"
        with self.store.lock:
            img2 = self.store.create_image(inst, "img-two", None, {}, {})
        self.settle()
        self.assertEqual(img2["state"], "failed")


# ---------------------------------------------------------------- the server

class Server(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server, cls.app = fake_aws.build([
            "--port", "0", "-q", "--credentials", "%s:%s" % (KEY, SECRET),
            "--set", "run_delay=0.05", "--set", "script_delay=0.05",
            "--set", "stop_delay=0.05", "--set", "image_delay=0.05"])
        cls.thread = threading.Thread(target=cls.server.serve_forever,
                                      daemon=True)
        cls.thread.start()
        cls.c = Client(cls.app.port)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.assertEqual(self.c.ctl("POST", "/_fake/reset")[0], 200)

    def ec2(self, action, **params):
        params.update(Action=action, Version="2016-11-15")
        return self.c.call(params)

    def test_error_shapes(self):
        cases = [
            ({"Version": "2016-11-15"}, 400, "MissingAction"),
            ({"Action": "DescribeInstances"}, 400, "MissingParameter"),
            ({"Action": "DescribeInstances", "Version": "2014-01-01"}, 400,
             "NoSuchVersion"),
            ({"Action": "LaunchRockets", "Version": "2016-11-15"}, 400,
             "InvalidAction"),
            ({"Action": "DescribeInstances", "Version": "2016-11-15",
              "InstanceIds.1": "i-12345678"}, 400, "UnknownParameter"),
            (run_params(UserData="not base64!"), 400,
             "InvalidParameterValue"),
            (run_params(ImageId="ami-0000000000000dead"), 400,
             "InvalidAMIID.NotFound"),
            (run_params(MinCount="2", MaxCount="1"), 400,
             "InvalidParameterValue"),
            (run_params(DryRun="true"), 412, "DryRunOperation"),
        ]
        for params, status, code in cases:
            with self.subTest(code):
                got, doc = self.c.call(params)
                self.assertEqual((got, doc.tag, error_code(doc)),
                                 (status, "Response", code))
                self.assertTrue(doc.findtext("RequestID"))

    def test_get_form(self):
        self.c.call(run_params())
        status, doc = self.c.call({"Action": "DescribeInstances",
                                   "Version": "2016-11-15",
                                   "Filter.1.Name": "instance-state-name",
                                   "Filter.1.Value.1": "pending",
                                   "Filter.1.Value.2": "running"},
                                  method="GET")
        self.assertEqual(status, 200)
        self.assertEqual(len(list(doc.iter(NS + "instanceId"))), 1)

    def test_auth_over_http(self):
        status, doc = self.c.call(run_params(), secret="wrong")
        self.assertEqual((status, error_code(doc)),
                         (403, "SignatureDoesNotMatch"))
        status, doc = self.c.call(run_params(), key="AKIANOTKNOWN00000000")
        self.assertEqual((status, error_code(doc)), (401, "AuthFailure"))
        status, doc = self.c.call(run_params(), tamper=lambda b: b + b"&x=1")
        self.assertEqual(error_code(doc), "SignatureDoesNotMatch")
        self.c.ctl("POST", "/_fake/config", {"clock_skew": -600})
        status, doc = self.c.call(run_params())
        self.assertEqual((status, error_code(doc)), (400, "RequestExpired"))
        # ... and a client whose clock agrees with the skewed fake is fine
        status, doc = self.c.call({"Action": "DescribeTags",
                                   "Version": "2016-11-15"},
                                  when=time.time() - 600)
        self.assertEqual(status, 200)
        calls = self.c.ctl("GET", "/_fake/calls")[1]
        self.assertEqual(calls["errors"]["SignatureDoesNotMatch"], 2)
        self.assertIn("canonical request", calls["calls"][0]["detail"])

    def test_run_describe_paginate(self):
        status, doc = self.c.call(run_params(MinCount="7", MaxCount="7"))
        self.assertEqual(status, 200)
        self.assertEqual(doc.tag, NS + "RunInstancesResponse")
        self.assertEqual(len(doc.findall(NS + "instancesSet/" + NS + "item")),
                         7)
        seen, token, pages = [], None, 0
        while True:
            params = {"MaxResults": "5"}
            if token:
                params["NextToken"] = token
            status, doc = self.ec2("DescribeInstances", **params)
            self.assertEqual(status, 200)
            seen += [e.text for e in doc.iter(NS + "instanceId")]
            token = doc.findtext(NS + "nextToken")
            pages += 1
            if not token:
                break
        self.assertEqual((len(seen), len(set(seen)), pages), (7, 7, 2))
        status, doc = self.ec2("DescribeInstances", NextToken="garbage")
        self.assertEqual(error_code(doc), "InvalidPaginationToken")

    def test_throttle_every_second_call(self):
        self.c.ctl("POST", "/_fake/faults", {"kind": "throttle", "every": 2,
                                             "count": -1})
        got = [self.ec2("DescribeTags")[0] for _ in range(6)]
        self.assertEqual(got, [200, 503] * 3)
        _, doc = self.ec2("DescribeTags")
        _, doc = self.ec2("DescribeTags")
        self.assertEqual(error_code(doc), "RequestLimitExceeded")

    def test_errors_for_next_n_calls_of_one_action(self):
        self.c.ctl("POST", "/_fake/faults", {"kind": "error", "status": 500,
                                             "count": 2,
                                             "action": "DescribeImages"})
        self.assertEqual(self.ec2("DescribeTags")[0], 200)
        status, doc = self.ec2("DescribeImages")
        self.assertEqual((status, error_code(doc)), (500, "InternalError"))
        self.assertEqual(self.ec2("DescribeImages")[0], 500)
        self.assertEqual(self.ec2("DescribeImages")[0], 200)
        faults = self.c.ctl("GET", "/_fake/faults")[1]["faults"]
        self.assertEqual((faults[0]["seen"], faults[0]["fired"]), (3, 2))

    def test_reset_and_delay(self):
        self.c.ctl("POST", "/_fake/faults", [{"kind": "reset", "count": 1},
                                             {"kind": "delay", "ms": 300}])
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.ec2("DescribeTags")
        start = time.monotonic()
        self.assertEqual(self.ec2("DescribeTags")[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)

    def test_lost_reply_and_client_token(self):
        """A reply lost after RunInstances ran: the retry with the same
        ClientToken gets the same instance, not a second one."""
        self.c.ctl("POST", "/_fake/faults", {"kind": "close", "when": "after",
                                             "action": "RunInstances"})
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.c.call(run_params(ClientToken="tok-1"))
        status, doc = self.c.call(run_params(ClientToken="tok-1"))
        self.assertEqual(status, 200)
        state = self.c.ctl("GET", "/_fake/state")[1]
        self.assertEqual(len(state["instances"]), 1)
        self.assertEqual(doc.findtext(".//" + NS + "instanceId"),
                         state["instances"][0]["instance_id"])
        status, doc = self.c.call(run_params(ClientToken="tok-1",
                                             InstanceType="m5.large"))
        self.assertEqual(error_code(doc), "IdempotentParameterMismatch")

    def test_spoilt_answers(self):
        """cut, truncate, garbage: the call runs, its answer is spoilt;
        they are always 'after' rules, and a client token still finds
        the instance a spoilt RunInstances made."""
        self.c.ctl("POST", "/_fake/faults", [
            {"kind": "garbage", "action": "RunInstances"},
            {"kind": "truncate", "action": "DescribeInstances"},
            {"kind": "cut", "action": "DescribeInstances"}])
        with self.assertRaises(Exception):  # an HTML page is no XML
            self.c.call(run_params(ClientToken="tok-2"))
        with self.assertRaises(Exception):  # half the XML
            self.ec2("DescribeInstances")
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.ec2("DescribeInstances")  # half the body, then RST
        status, doc = self.ec2("DescribeInstances", **{
            "Filter.1.Name": "client-token", "Filter.1.Value.1": "tok-2"})
        self.assertEqual(status, 200)
        self.assertEqual(len(list(doc.iter(NS + "instanceId"))), 1)
        status, err = self.c.ctl("POST", "/_fake/faults",
                                 {"kind": "garbage", "when": "before"})
        self.assertEqual(status, 400)

    def test_console_output_is_base64(self):
        ud = base64.b64encode(WRAPPER).decode()
        _, doc = self.c.call(run_params(UserData=ud))
        iid = doc.findtext(".//" + NS + "instanceId")
        time.sleep(0.4)
        _, doc = self.ec2("GetConsoleOutput", InstanceId=iid)
        text = base64.b64decode(doc.findtext(NS + "output")).decode()
        self.assertIn("SOCORRO-BUILD-STATUS: 0\r\n", text)

    def test_imds_v2_and_its_credentials(self):
        st, tok, _ = self.c.raw("PUT", "/latest/api/token", b"", {
            "X-aws-ec2-metadata-token-ttl-seconds": "21601"})
        self.assertEqual(st, 400)
        st, tok, resp = self.c.raw("PUT", "/latest/api/token", b"", {
            "X-aws-ec2-metadata-token-ttl-seconds": "60"})
        self.assertEqual(st, 200)
        self.assertEqual(resp.getheader(
            "X-aws-ec2-metadata-token-ttl-seconds"), "60")
        hdr = {"X-aws-ec2-metadata-token": tok.decode()}
        self.assertEqual(self.c.raw("GET", "/latest/meta-data/instance-id")[0],
                         401)
        self.assertEqual(self.c.raw("GET", "/latest/meta-data/instance-id",
                                    b"", {"X-aws-ec2-metadata-token": "x"})[0],
                         401)
        self.c.ctl("POST", "/_fake/imds", {"tags": {"role": "webapp"},
                                           "credentials_ttl": 2})
        get = lambda p: self.c.raw("GET", "/latest/meta-data/" + p, b"", hdr)
        self.assertEqual(get("tags/instance")[1], b"role")
        self.assertEqual(get("tags/instance/role")[1], b"webapp")
        self.assertEqual(get("placement/region")[1], b"us-west-2")
        role = get("iam/security-credentials/")[1].decode()
        creds = json.loads(get("iam/security-credentials/" + role)[1])
        self.assertEqual(creds["Code"], "Success")
        params = {"Action": "DescribeTags", "Version": "2016-11-15"}
        call = lambda c, **kw: self.c.call(
            params, key=c["AccessKeyId"], secret=c["SecretAccessKey"], **kw)
        self.assertEqual(call(creds, token=creds["Token"])[0], 200)
        self.assertEqual(error_code(call(creds)[1]), "AuthFailure")
        time.sleep(1.1)  # past half the lifetime: IMDS hands out new keys
        fresh = json.loads(get("iam/security-credentials/" + role)[1])
        self.assertNotEqual(fresh["AccessKeyId"], creds["AccessKeyId"])
        time.sleep(1.0)  # the first keys have now expired
        self.assertEqual(error_code(call(creds, token=creds["Token"])[1]),
                         "RequestExpired")
        self.assertEqual(call(fresh, token=fresh["Token"])[0], 200)

    def test_state_and_call_counts(self):
        self.c.call(run_params())
        self.ec2("DescribeInstances")
        self.ec2("DescribeInstances")
        calls = self.c.ctl("GET", "/_fake/calls")[1]
        self.assertEqual(calls["counts"], {"RunInstances": 1,
                                           "DescribeInstances": 2})
        self.assertEqual(calls["calls"][0]["access_key"], KEY)
        state = self.c.ctl("GET", "/_fake/state")[1]
        self.assertEqual(len(state["live_instances"]), 1)


class Process(unittest.TestCase):
    def test_sigterm_stops_cleanly(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "fake_aws.py"), "-q",
                 "--port", "0", "--state-dir", d,
                 "--port-file", os.path.join(d, "portfile")],
                stdout=subprocess.PIPE, text=True)
            line = proc.stdout.readline()
            self.assertRegex(line, r"^PORT \d+$")
            port = int(line.split()[1])
            with open(os.path.join(d, "portfile")) as f:
                self.assertEqual(int(f.read()), port)
            status, _ = Client(port).ctl("GET", "/_fake/health")
            self.assertEqual(status, 200)
            proc.terminate()
            self.assertEqual(proc.wait(10), 0)
            proc.stdout.close()
            self.assertTrue(os.path.exists(os.path.join(d, "state.json")))
            self.assertFalse(os.path.exists(os.path.join(d, "portfile")))


# Auto Scaling, ELB and launch templates: test_fake_asg.py
from test_fake_asg import AutoScaling  # noqa: E402,F401

if __name__ == "__main__":
    unittest.main()
