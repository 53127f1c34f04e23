"""Classic Elastic Load Balancing, API version 2012-06-01:
DescribeLoadBalancers, DescribeInstanceHealth,
DeregisterInstancesFromLoadBalancer, RegisterInstancesWithLoadBalancer.

Load balancers are made through the control API (POST /_fake/loadbalancers
or with a group); health is asg_world.World.elb_health().  Unknown EC2
instances are InvalidInstance; deregistering an instance that is not
registered is accepted and changes nothing (so a retried call succeeds).
"""

import base64
import binascii
import json

from ec2_query import Ec2Error, Params
from query_xml import int_param, member_list, member_structs, members, \
    required, result_xml
import state as _state

API = "elb"
COMMON = [r"Action", r"Version"]
INSTANCES = r"Instances\.member\.\d+\.InstanceId"


def get_elb(store, name):
    elb = store.asg.elbs.get(name)
    if elb is None:
        raise Ec2Error("LoadBalancerNotFound", "There is no ACTIVE Load "
                       "Balancer named '%s'" % name)
    return elb


def instance_ids(p, need):
    ids = [st.get("InstanceId") for st in member_structs(p, "Instances")]
    if need and not ids:
        required(p, "Instances")
    return ids


def known_instances(store, ids, running=False):
    for iid in ids:
        inst = store.instances.get(iid or "")
        if inst is None or (running and inst["state"] in (
                "shutting-down", "terminated")):
            raise Ec2Error("InvalidInstance", "Could not find EC2 instance "
                           "%s." % iid)


def elb_item(store, elb):
    return [
        ("LoadBalancerName", elb["name"]),
        ("DNSName", elb["dns"]),
        ("CanonicalHostedZoneName", elb["dns"]),
        ("CanonicalHostedZoneNameID", "Z1H1FL5HABSF5"),
        ("ListenerDescriptions", [("member", [
            ("Listener", [("Protocol", proto), ("LoadBalancerPort", port),
                          ("InstanceProtocol", iproto),
                          ("InstancePort", iport)]),
            ("PolicyNames", [])]) for proto, port, iproto, iport
            in elb["listeners"]]),
        ("Policies", [("AppCookieStickinessPolicies", []),
                      ("LBCookieStickinessPolicies", []),
                      ("OtherPolicies", [])]),
        ("BackendServerDescriptions", []),
        ("AvailabilityZones", members(elb["azs"])),
        ("Subnets", []),
        ("Instances", [("member", [("InstanceId", iid)])
                       for iid in elb["instances"]]),
        ("HealthCheck", [("Target", elb["health_target"]),
                         ("Interval", 30), ("Timeout", 5),
                         ("UnhealthyThreshold", 2),
                         ("HealthyThreshold", 10)]),
        ("SourceSecurityGroup", [("OwnerAlias", "amazon-elb"),
                                 ("GroupName", "amazon-elb-sg")]),
        ("SecurityGroups", []),
        ("CreatedTime", _state.iso(elb["created"])),
        ("Scheme", "internet-facing"),
    ]


def describe_load_balancers(store, p, rid):
    names = member_list(p, "LoadBalancerNames")
    for n in names:
        get_elb(store, n)
    rows = [e for e in store.asg.elbs.values()
            if not names or e["name"] in names]
    size = int_param(p, "PageSize", 1, 400) or 400
    start = 0
    marker = p.get("Marker")
    if marker:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(
                marker.encode()))["o"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise Ec2Error("InvalidParameterValue", "Invalid Marker: %s"
                           % marker)
    nxt = None
    if start + size < len(rows):
        nxt = base64.urlsafe_b64encode(json.dumps(
            {"o": start + size}).encode()).decode()
    return result_xml(API, "DescribeLoadBalancers", rid, [
        ("LoadBalancerDescriptions", [("member", elb_item(store, e))
                                      for e in rows[start:start + size]]),
        ("NextMarker", nxt)])


def describe_instance_health(store, p, rid):
    elb = get_elb(store, required(p, "LoadBalancerName"))
    ids = instance_ids(p, False)
    known_instances(store, ids)
    for iid in ids:
        if iid not in elb["instances"]:
            raise Ec2Error("InvalidInstance", "Could not find EC2 instance "
                           "%s in load balancer %s." % (iid, elb["name"]))
    rows = []
    for iid in ids or list(elb["instances"]):
        state, code, desc = store.asg.elb_health(elb, iid)
        rows.append(("member", [("InstanceId", iid), ("State", state),
                                ("ReasonCode", code),
                                ("Description", desc)]))
    return result_xml(API, "DescribeInstanceHealth", rid,
                      [("InstanceStates", rows)])


def _registered(elb):
    return [("Instances", [("member", [("InstanceId", iid)])
                           for iid in elb["instances"]])]


def deregister_instances(store, p, rid):
    elb = get_elb(store, required(p, "LoadBalancerName"))
    ids = instance_ids(p, True)
    known_instances(store, ids)
    for iid in ids:
        store.asg.deregister(elb, iid)
    return result_xml(API, "DeregisterInstancesFromLoadBalancer", rid,
                      _registered(elb))


def register_instances(store, p, rid):
    elb = get_elb(store, required(p, "LoadBalancerName"))
    ids = instance_ids(p, True)
    known_instances(store, ids, running=True)
    for iid in ids:
        store.asg.register(elb, iid)
    return result_xml(API, "RegisterInstancesWithLoadBalancer", rid,
                      _registered(elb))


ACTIONS = {
    "DescribeLoadBalancers": (describe_load_balancers, [
        r"LoadBalancerNames\.member\.\d+", r"Marker", r"PageSize"]),
    "DescribeInstanceHealth": (describe_instance_health,
                               [r"LoadBalancerName", INSTANCES]),
    "DeregisterInstancesFromLoadBalancer": (deregister_instances,
                                            [r"LoadBalancerName", INSTANCES]),
    "RegisterInstancesWithLoadBalancer": (register_instances,
                                          [r"LoadBalancerName", INSTANCES]),
}


def handle(store, action, raw, rid):
    if action not in ACTIONS:
        raise Ec2Error("InvalidAction", "Could not find operation %s for "
                       "version 2012-06-01" % action)
    fn, allowed = ACTIONS[action]
    return fn(store, Params(raw, COMMON + allowed), rid)
