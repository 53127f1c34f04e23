#!/usr/bin/env python3
"""Unit tests of the fake's Auto Scaling, classic ELB and EC2 launch
template side (stdlib unittest); run by test_fake_aws.py, or alone:

    python3 tests/fakes/aws/test_fake_asg.py [-v]

Covers: routing by Version and the signing service each API wants, the
ErrorResponse shape, group reconciliation (launch, scale-in order,
termination with and without decrement), health timing in load balancers
and groups, launch configurations and template versions, throttling in
the API's own shape, and seeding from etc/socorro.ini.
"""

import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fake_aws  # noqa: E402
from fakeclient import KEY, SECRET, Client  # noqa: E402

TOP = os.path.join(HERE, "..", "..", "..")
ASG_NS = "{http://autoscaling.amazonaws.com/doc/2011-01-01/}"
ELB_NS = "{http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/}"
EC2_NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
BASE = "ami-00000000000000001"


class AutoScaling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server, cls.app = fake_aws.build([
            "--port", "0", "-q", "--credentials", "%s:%s" % (KEY, SECRET),
            "--set", "run_delay=0.05", "--set", "terminate_delay=0.05",
            "--set", "health_delay=0.2"])
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

    # ------------------------------------------------------------ helpers
    def asg(self, action, **params):
        params.update(Action=action, Version="2011-01-01")
        return self.c.call(params, service="autoscaling")

    def elb(self, action, **params):
        params.update(Action=action, Version="2012-06-01")
        return self.c.call(params, service="elasticloadbalancing")

    def ec2(self, action, **params):
        params.update(Action=action, Version="2016-11-15")
        return self.c.call(params)

    def ok(self, answer):
        status, doc = answer
        self.assertEqual(status, 200, doc.findtext(".//" + ASG_NS + "Message")
                         or doc.findtext(".//Message"))
        return doc

    def refused(self, answer, code, status=400, ns=ASG_NS):
        got, doc = answer
        self.assertEqual((got, doc.tag, doc.findtext(ns + "Error/" + ns +
                                                     "Code")),
                         (status, ns + "ErrorResponse", code))
        self.assertIn(doc.findtext(ns + "Error/" + ns + "Type"),
                      ("Sender", "Receiver"))
        self.assertTrue(doc.findtext(ns + "RequestId"))
        return doc

    def seed(self, **spec):
        status, view = self.c.ctl("POST", "/_fake/groups", spec)
        self.assertEqual(status, 200, view)
        return view

    def group(self, name):
        return self.c.ctl("GET", "/_fake/groups/" + name)[1]

    def settle(self, seconds=0.3):
        time.sleep(seconds)

    # ------------------------------------------------------------ protocol
    def test_each_api_wants_its_own_signing_service(self):
        self.seed(name="g1")
        status, doc = self.c.call({"Action": "DescribeAutoScalingGroups",
                                   "Version": "2011-01-01"}, service="ec2")
        self.refused((status, doc), "SignatureDoesNotMatch", 403)
        self.assertIn("'autoscaling'", doc.findtext(".//" + ASG_NS +
                                                    "Message"))
        status, doc = self.c.call({"Action": "DescribeLoadBalancers",
                                   "Version": "2012-06-01"},
                                  service="autoscaling")
        self.refused((status, doc), "SignatureDoesNotMatch", 403, ELB_NS)
        doc = self.ok(self.asg("DescribeAutoScalingGroups"))
        self.assertEqual(doc.tag, ASG_NS + "DescribeAutoScalingGroupsResponse")
        self.assertTrue(doc.findtext(ASG_NS + "ResponseMetadata/" + ASG_NS +
                                     "RequestId"))

    def test_asg_error_shapes(self):
        self.refused(self.asg("LaunchRockets"), "InvalidAction")
        self.refused(self.asg("DescribeAutoScalingGroups", Bogus="1"),
                     "UnknownParameter")
        self.refused(self.asg("UpdateAutoScalingGroup",
                              AutoScalingGroupName="nope"), "ValidationError")
        self.refused(self.c.call({"Action": "DescribeAutoScalingGroups",
                                  "Version": "2011-01-01"},
                                 key="AKIAUNKNOWN", service="autoscaling"),
                     "InvalidClientTokenId", 403)
        self.refused(self.elb("DescribeLoadBalancers",
                              **{"LoadBalancerNames.member.1": "nope"}),
                     "LoadBalancerNotFound", ns=ELB_NS)

    def test_throttle_in_the_apis_own_shape(self):
        self.c.ctl("POST", "/_fake/faults", [
            {"kind": "throttle", "target": "autoscaling", "count": 1},
            {"kind": "throttle", "target": "ec2", "count": 1}])
        self.refused(self.asg("DescribeAutoScalingGroups"), "Throttling", 400)
        self.ok(self.asg("DescribeAutoScalingGroups"))
        status, doc = self.ec2("DescribeLaunchTemplates")
        self.assertEqual((status, doc.findtext("Errors/Error/Code")),
                         (503, "RequestLimitExceeded"))
        calls = self.c.ctl("GET", "/_fake/calls")[1]
        self.assertEqual([c["kind"] for c in calls["calls"]],
                         ["autoscaling", "autoscaling", "ec2"])

    # ------------------------------------------------------------ groups
    def test_group_launches_from_its_template_and_scales_in_old_first(self):
        self.seed(name="g", min=1, desired=2, max=6)
        tpl = self.group("g")["launch_template"]["id"]
        new = self.c.ctl("POST", "/_fake/images", {"name": "new"})[1][
            "image_id"]
        doc = self.ok(self.ec2("CreateLaunchTemplateVersion",
                               LaunchTemplateId=tpl, SourceVersion="1",
                               **{"LaunchTemplateData.ImageId": new}))
        self.assertEqual(doc.findtext(EC2_NS + "launchTemplateVersion/" +
                                      EC2_NS + "versionNumber"), "2")
        # $Latest now means version 2: growing launches the new AMI
        self.ok(self.asg("UpdateAutoScalingGroup", AutoScalingGroupName="g",
                         DesiredCapacity="4"))
        view = self.group("g")
        self.assertEqual(sorted(i["image_id"] for i in view["instances"]),
                         [BASE, BASE, new, new])
        self.assertEqual(len([i for i in view["instances"]
                              if i["lifecycle"] == "Pending"]), 2)
        # shrinking picks the instances of the older version first
        self.ok(self.asg("SetDesiredCapacity", AutoScalingGroupName="g",
                         DesiredCapacity="2"))
        self.settle()
        view = self.group("g")
        self.assertEqual([i["image_id"] for i in view["instances"]],
                         [new, new])

    def test_sizes_are_validated_and_desired_follows_min(self):
        self.seed(name="g", min=1, desired=2, max=3)
        self.refused(self.asg("UpdateAutoScalingGroup",
                              AutoScalingGroupName="g", DesiredCapacity="5"),
                     "ValidationError")
        self.refused(self.asg("SetDesiredCapacity", AutoScalingGroupName="g",
                              DesiredCapacity="0"), "ValidationError")
        self.ok(self.asg("UpdateAutoScalingGroup", AutoScalingGroupName="g",
                         MinSize="3"))
        view = self.group("g")
        self.assertEqual((view["min"], view["desired"], len(
            view["instances"])), (3, 3, 3))

    def test_terminate_decrements_once_and_respects_min(self):
        view = self.seed(name="g", min=1, desired=2, max=4)
        a, b = view["instance_ids"]
        doc = self.ok(self.asg("TerminateInstanceInAutoScalingGroup",
                               InstanceId=a,
                               ShouldDecrementDesiredCapacity="true"))
        self.assertEqual(doc.findtext(".//" + ASG_NS + "StatusCode"),
                         "InProgress")
        self.refused(self.asg("TerminateInstanceInAutoScalingGroup",
                              InstanceId=a,
                              ShouldDecrementDesiredCapacity="true"),
                     "ValidationError")
        self.refused(self.asg("TerminateInstanceInAutoScalingGroup",
                              InstanceId=b,
                              ShouldDecrementDesiredCapacity="true"),
                     "ValidationError")  # desired would go below min
        self.refused(self.asg("TerminateInstanceInAutoScalingGroup",
                              InstanceId=b), "ValidationError")
        self.settle()
        view = self.group("g")
        self.assertEqual((view["desired"], view["instance_ids"]), (1, [b]))
        # without decrement, the group replaces what was terminated
        self.ok(self.asg("TerminateInstanceInAutoScalingGroup", InstanceId=b,
                         ShouldDecrementDesiredCapacity="false"))
        self.settle()
        view = self.group("g")
        self.assertEqual(len(view["instances"]), 1)
        self.assertNotEqual(view["instance_ids"], [b])

    def test_failed_launch_is_a_failed_activity(self):
        self.seed(name="g", min=0, desired=0, max=2, launch="configuration")
        self.c.ctl("POST", "/_fake/config", {"max_instances": 0})
        self.ok(self.asg("SetDesiredCapacity", AutoScalingGroupName="g",
                         DesiredCapacity="1"))
        doc = self.ok(self.asg("DescribeScalingActivities",
                               AutoScalingGroupName="g"))
        self.assertEqual(doc.findtext(".//" + ASG_NS + "StatusCode"),
                         "Failed")
        self.assertIn("instance limit", doc.findtext(
            ".//" + ASG_NS + "StatusMessage"))

    # ------------------------------------------------------------ ELB
    def test_elb_health_after_delay_or_never(self):
        view = self.seed(name="g", min=1, desired=1, max=3,
                         load_balancers=["lb"])
        self.c.ctl("POST", "/_fake/images/" + BASE, {"healthy": False})
        self.ok(self.asg("SetDesiredCapacity", AutoScalingGroupName="g",
                         DesiredCapacity="2"))
        self.c.ctl("POST", "/_fake/images/" + BASE, {"healthy": True})
        fresh = [i for i in self.group("g")["instance_ids"]
                 if i not in view["instance_ids"]][0]
        self.c.ctl("POST", "/_fake/instances/" + fresh, {"healthy": False})
        self.ok(self.asg("SetDesiredCapacity", AutoScalingGroupName="g",
                         DesiredCapacity="3"))
        time.sleep(0.1)  # running, registered, health check pending

        def states():
            doc = self.ok(self.elb("DescribeInstanceHealth",
                                   LoadBalancerName="lb"))
            return {m.findtext(ELB_NS + "InstanceId"):
                    m.findtext(ELB_NS + "State") for m in
                    doc.iter(ELB_NS + "member")}
        first = states()
        self.assertEqual(first[view["instance_ids"][0]], "InService")
        self.assertEqual(sorted(first.values()),
                         ["InService", "OutOfService", "OutOfService"])
        self.settle(0.3)
        later = states()
        self.assertEqual(later[fresh], "OutOfService")
        self.assertEqual(sorted(later.values()),
                         ["InService", "InService", "OutOfService"])
        health = {i["instance_id"]: i["health"]
                  for i in self.group("g")["instances"]}
        self.assertEqual(health[fresh], "Unhealthy")
        # deregister, deregister again (no error), register again
        for _ in range(2):
            self.ok(self.elb("DeregisterInstancesFromLoadBalancer",
                             LoadBalancerName="lb",
                             **{"Instances.member.1.InstanceId": fresh}))
        self.assertNotIn(fresh, states())
        self.ok(self.elb("RegisterInstancesWithLoadBalancer",
                         LoadBalancerName="lb",
                         **{"Instances.member.1.InstanceId": fresh}))
        self.assertIn(fresh, states())
        self.refused(self.elb("RegisterInstancesWithLoadBalancer",
                              LoadBalancerName="lb",
                              **{"Instances.member.1.InstanceId":
                                 "i-0000000000000dead"}),
                     "InvalidInstance", ns=ELB_NS)

    # ------------------------------------------------------------ sources
    def test_launch_configuration_life(self):
        self.seed(name="g", launch="configuration", user_data="echo hi",
                  security_groups=["sg-00000000000000001"])
        doc = self.ok(self.asg("DescribeLaunchConfigurations"))
        lc = next(doc.iter(ASG_NS + "member"))
        self.assertEqual(lc.findtext(ASG_NS + "KernelId"), "")  # as AWS
        self.refused(self.asg("CreateLaunchConfiguration",
                              LaunchConfigurationName="x", ImageId=BASE,
                              InstanceType="t3.small", KernelId=""),
                     "ValidationError")
        self.refused(self.asg("CreateLaunchConfiguration",
                              LaunchConfigurationName="x",
                              ImageId="ami-0000000000000dead",
                              InstanceType="t3.small"), "ValidationError")
        self.ok(self.asg("CreateLaunchConfiguration",
                         LaunchConfigurationName="x", ImageId=BASE,
                         InstanceType="t3.small",
                         **{"SecurityGroups.member.1": "sg-1",
                            "BlockDeviceMappings.member.1.DeviceName":
                            "/dev/sda1",
                            "BlockDeviceMappings.member.1.Ebs.VolumeSize":
                            "20"}))
        self.refused(self.asg("CreateLaunchConfiguration",
                              LaunchConfigurationName="x", ImageId=BASE,
                              InstanceType="t3.small"), "AlreadyExists")
        self.ok(self.asg("UpdateAutoScalingGroup", AutoScalingGroupName="g",
                         LaunchConfigurationName="x"))
        self.refused(self.asg("DeleteLaunchConfiguration",
                              LaunchConfigurationName="x"), "ResourceInUse")
        self.ok(self.asg("DeleteLaunchConfiguration",
                         LaunchConfigurationName="g-lc"))
        names = [m.findtext(ASG_NS + "LaunchConfigurationName") for m in
                 self.ok(self.asg("DescribeLaunchConfigurations")).iter(
                     ASG_NS + "member")
                 if m.findtext(ASG_NS + "LaunchConfigurationName")]
        self.assertEqual(names, ["x"])

    def test_template_versions(self):
        self.seed(name="g", key_name="k1",
                  security_groups=["sg-00000000000000001"])
        tpl = self.group("g")["launch_template"]["id"]
        params = {"LaunchTemplateId": tpl, "SourceVersion": "1",
                  "ClientToken": "tok-1",
                  "LaunchTemplateData.InstanceType": "t3.large"}
        self.ok(self.ec2("CreateLaunchTemplateVersion", **params))
        self.ok(self.ec2("CreateLaunchTemplateVersion", **params))  # again
        doc = self.ok(self.ec2("DescribeLaunchTemplateVersions",
                               LaunchTemplateId=tpl))
        items = doc.findall(EC2_NS + "launchTemplateVersionSet/" + EC2_NS +
                            "item")
        self.assertEqual(len(items), 2)  # the token made one, not two
        latest = items[0].find(EC2_NS + "launchTemplateData")
        self.assertEqual((latest.findtext(EC2_NS + "instanceType"),
                          latest.findtext(EC2_NS + "keyName"),
                          latest.findtext(EC2_NS + "securityGroupIdSet/" +
                                          EC2_NS + "item")),
                         ("t3.large", "k1", "sg-00000000000000001"))
        status, doc = self.ec2("DescribeLaunchTemplateVersions",
                               LaunchTemplateId=tpl,
                               **{"LaunchTemplateVersion.1": "7"})
        self.assertEqual(doc.findtext("Errors/Error/Code"),
                         "InvalidLaunchTemplateId.VersionNotFound")
        doc = self.ok(self.ec2("DeleteLaunchTemplateVersions",
                               LaunchTemplateId=tpl,
                               **{"LaunchTemplateVersion.1": "1",
                                  "LaunchTemplateVersion.2": "2"}))
        self.assertEqual(doc.findtext(".//" + EC2_NS + "code"),
                         "launchTemplateVersionIsDefaultVersion")
        self.assertEqual(self.app.store.asg.templates[tpl]["latest_version"],
                         1)

    def test_seed_socorro_from_the_ini(self):
        status, out = self.c.ctl("POST", "/_fake/seed/socorro", {
            "ini": os.path.join(TOP, "etc", "socorro.ini"), "env": "prod",
            "all": True, "desired": 1, "min": 0})
        self.assertEqual(status, 200, out)
        seeded = {s["roleenv"]: (s["group"], s["elb"])
                  for s in out["seeded"]}
        self.assertEqual(seeded["processor-prod"],
                         ("as-prod-processor", None))
        self.assertEqual(seeded["elasticsearch-prod"],
                         ("as-prod-socorroelasticsearch",
                          "elb-prod-socorroelasticsearch"))
        self.assertEqual(len(self.group("as-prod-socorroweb")["registered"][
            "elb-prod-socorroweb"]), 1)


if __name__ == "__main__":
    unittest.main()
