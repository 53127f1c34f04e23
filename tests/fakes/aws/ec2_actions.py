"""The EC2 actions the fake implements, API version 2016-11-15.

handle(store, action, raw_params, rid) returns the XML body of a success,
or raises ec2_query.Ec2Error.  Call it with store.lock held and after
store.advance().  Response shapes follow the EC2 API reference (the same
element names the real service sends and botocore parses).
"""

import base64
import binascii
import hashlib
import re

from ec2_images import IMAGE_ACTIONS
from ec2_templates import TEMPLATE_ACTIONS
from ec2_query import (FILTER, PAGING, TAG_SPEC, Ec2Error, Params,
                       check_filters, check_id, dry_run, get_instances,
                       match_filters, missing, not_found_images, page,
                       response_xml, tag_set)
from state import STATE_CODES, iso

COMMON = [r"Action", r"Version", r"DryRun"]
USER_DATA_MAX = 16384
DEFAULT_SUBNET = "subnet-00000000000000001"


# ---------------------------------------------------------------- instances

INSTANCE_FILTERS = {
    "instance-id": lambda i: [i["instance_id"]],
    "instance-state-name": lambda i: [i["state"]],
    "instance-state-code": lambda i: [STATE_CODES[i["state"]]],
    "instance-type": lambda i: [i["instance_type"]],
    "image-id": lambda i: [i["image_id"]],
    "key-name": lambda i: [i["key_name"]],
    "subnet-id": lambda i: [i["subnet_id"]],
    "vpc-id": lambda i: [i["vpc_id"]],
    "reservation-id": lambda i: [i["reservation_id"]],
    "private-ip-address": lambda i: [i["private_ip"]],
    "instance.group-id": lambda i: i["security_groups"],
    "iam-instance-profile.arn": lambda i: [i["profile_arn"]],
    "tag-key": lambda i: list(i["tags"]),
    "tag-value": lambda i: list(i["tags"].values()),
    "client-token": lambda i: [i["client_token"]] if i["client_token"] else [],
}


def instance_item(store, i):
    region = store.settings["region"]
    st = i["state"]
    gone = st == "terminated"
    ip = i["private_ip"]
    reason = i["state_reason"]
    profile = None
    if i["iam_instance_profile"]:
        profile = [("arn", i["profile_arn"]),
                   ("id", "AIPA" + hashlib.sha1(
                       i["profile_arn"].encode()).hexdigest()[:17].upper())]
    return [
        ("instanceId", i["instance_id"]),
        ("imageId", i["image_id"]),
        ("instanceState", [("code", STATE_CODES[st]), ("name", st)]),
        ("privateDnsName", "" if gone else
         "ip-%s.%s.compute.internal" % (ip.replace(".", "-"), region)),
        ("dnsName", ""),
        ("reason", i["transition_reason"]),
        ("keyName", i["key_name"]),
        ("amiLaunchIndex", i["launch_index"]),
        ("productCodes", []),
        ("instanceType", i["instance_type"]),
        ("launchTime", iso(i["launch_time"])),
        ("placement", [("availabilityZone", region + "a"),
                       ("groupName", ""), ("tenancy", "default")]),
        ("monitoring", [("state", "disabled")]),
        ("subnetId", None if gone else i["subnet_id"]),
        ("vpcId", None if gone else i["vpc_id"]),
        ("privateIpAddress", None if gone else ip),
        ("sourceDestCheck", True),
        ("groupSet", [("item", [("groupId", g), ("groupName", "fake-" + g)])
                      for g in i["security_groups"]]),
        ("stateReason", [("code", reason[0]), ("message", reason[1])]
         if reason else None),
        ("architecture", "x86_64"),
        ("rootDeviceType", "ebs"),
        ("rootDeviceName", "/dev/sda1"),
        ("blockDeviceMapping", []),
        ("virtualizationType", "hvm"),
        ("clientToken", i["client_token"] or ""),
        ("tagSet", tag_set(i["tags"]) if i["tags"] else None),
        ("hypervisor", "xen"),
        ("iamInstanceProfile", profile),
        ("ebsOptimized", False),
        ("enaSupport", True),
        ("metadataOptions", [("state", "applied"),
                             ("httpTokens", "required"),
                             ("httpPutResponseHopLimit", 2),
                             ("httpEndpoint", "enabled")]),
    ]


def reservations(store, insts):
    """Group instances into reservationSet items, keeping launch order."""
    groups = {}
    for i in insts:
        groups.setdefault(i["reservation_id"], []).append(i)
    return [("item", [
        ("reservationId", rid),
        ("ownerId", store.settings["account_id"]),
        ("groupSet", []),
        ("instancesSet", [("item", instance_item(store, i)) for i in members]),
    ]) for rid, members in groups.items()]


def run_instances(store, p, rid):
    image_id = p.req("ImageId")
    check_id(image_id, "ami", "InvalidAMIID.Malformed")
    img = store.images.get(image_id)
    if img is None:
        raise not_found_images([image_id])
    if img["state"] != "available":
        raise Ec2Error("InvalidAMIID.Unavailable",
                       "Image %s is not available (%s)" % (image_id,
                                                           img["state"]))
    lo = p.int("MinCount")
    hi = p.int("MaxCount")
    if lo is None:
        raise missing("MinCount")
    if hi is None:
        raise missing("MaxCount")
    if lo < 1 or hi < lo:
        raise Ec2Error("InvalidParameterValue",
                       "Invalid value '%d' for MinCount/MaxCount: MinCount "
                       "must be at least 1 and not more than MaxCount" % lo)
    itype = p.get("InstanceType", "m1.small")
    if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", itype):
        raise Ec2Error("InvalidParameterValue",
                       "Invalid value '%s' for InstanceType." % itype)
    user_data = b""
    if p.get("UserData") is not None:
        try:
            user_data = base64.b64decode(p.get("UserData"), validate=True)
        except (binascii.Error, ValueError):
            raise Ec2Error("InvalidParameterValue",
                           "Invalid BASE64 encoding of user data.")
        if len(user_data) > USER_DATA_MAX:
            raise Ec2Error("InvalidParameterValue",
                           "User data is limited to %d bytes" % USER_DATA_MAX)
    behaviour = p.get("InstanceInitiatedShutdownBehavior", "stop")
    if behaviour not in ("stop", "terminate"):
        raise Ec2Error("InvalidParameterValue",
                       "Invalid value '%s' for "
                       "InstanceInitiatedShutdownBehavior." % behaviour)
    subnet = p.get("SubnetId", DEFAULT_SUBNET)
    check_id(subnet, "subnet", "InvalidSubnetID.Malformed")
    groups = p.list("SecurityGroupId")
    for g in groups:
        check_id(g, "sg", "InvalidGroupId.Malformed")
    profile = p.get("IamInstanceProfile.Name")
    arn = p.get("IamInstanceProfile.Arn")
    if profile and arn:
        raise Ec2Error("InvalidParameterCombination",
                       "The parameter 'iamInstanceProfile.name' may not be "
                       "used in combination with 'iamInstanceProfile.arn'")
    if arn:
        profile = arn.rsplit("/", 1)[-1]
    specs = p.tag_specs({"instance", "volume", "network-interface"})
    token = p.get("ClientToken")
    if token and token in store.client_tokens:
        fingerprint, res_id = store.client_tokens[token]
        if fingerprint != _fingerprint(p):
            raise Ec2Error("IdempotentParameterMismatch",
                           "Arguments on this idempotent request are "
                           "inconsistent with arguments used in previous "
                           "request(s).")
        insts = [i for i in store.instances.values()
                 if i["reservation_id"] == res_id]
        return _run_response(store, res_id, insts, rid)
    limit = int(store.settings["max_instances"])
    room = limit - len(store.live_instances())
    if lo > room:
        raise Ec2Error("InstanceLimitExceeded",
                       "You have requested more instances (%d) than your "
                       "current instance limit of %d allows for the "
                       "specified instance type." % (lo, limit))
    dry_run(p)
    spec = {
        "image_id": image_id, "instance_type": itype,
        "user_data": user_data, "shutdown_behavior": behaviour,
        "subnet_id": subnet,
        "vpc_id": "vpc-" + hashlib.sha1(subnet.encode()).hexdigest()[:17],
        "security_groups": groups, "key_name": p.get("KeyName"),
        "iam_instance_profile": profile,
        "profile_arn": "arn:aws:iam::%s:instance-profile/%s"
                       % (store.settings["account_id"], profile)
                       if profile else None,
        "client_token": token, "tags": specs.get("instance", {}),
    }
    res_id, insts = store.launch(spec, min(hi, room))
    if token:
        store.client_tokens[token] = (_fingerprint(p), res_id)
    return _run_response(store, res_id, insts, rid)


def _fingerprint(p):
    return sorted((k, v) for k, v in p.raw.items() if k != "DryRun")


def _run_response(store, res_id, insts, rid):
    return response_xml("RunInstances", rid, [
        ("reservationId", res_id),
        ("ownerId", store.settings["account_id"]),
        ("groupSet", []),
        ("instancesSet", [("item", instance_item(store, i)) for i in insts]),
    ])


def describe_instances(store, p, rid):
    ids = p.list("InstanceId")
    filters = p.filters()
    check_filters(filters, INSTANCE_FILTERS)
    if ids and p.get("MaxResults") is not None:
        raise Ec2Error("InvalidParameterCombination",
                       "The parameter instancesSet cannot be used with the "
                       "parameter maxResults")
    pool = get_instances(store, ids) if ids else list(store.instances.values())
    chosen = [i for i in pool if match_filters(i, filters, INSTANCE_FILTERS)]
    chunk, nxt = page("DescribeInstances", chosen, p)
    dry_run(p)
    return response_xml("DescribeInstances", rid, [
        ("reservationSet", reservations(store, chunk)),
        ("nextToken", nxt),
    ])


def _change_state(store, p, rid, action, verb, fn, allowed):
    ids = p.list("InstanceId")
    if not ids:
        raise missing("InstanceId")
    insts = get_instances(store, ids)
    for i in insts:
        if i["state"] not in allowed:
            raise Ec2Error("IncorrectInstanceState",
                           "This instance '%s' is not in a state from which "
                           "it can be %s." % (i["instance_id"], verb))
    dry_run(p)
    out = []
    for i in insts:
        prev, cur = fn(i)
        out.append(("item", [
            ("instanceId", i["instance_id"]),
            ("currentState", [("code", STATE_CODES[cur]), ("name", cur)]),
            ("previousState", [("code", STATE_CODES[prev]), ("name", prev)]),
        ]))
    return response_xml(action, rid, [("instancesSet", out)])


def stop_instances(store, p, rid):
    return _change_state(store, p, rid, "StopInstances", "stopped",
                         store.stop, ("running", "stopping", "stopped"))


def terminate_instances(store, p, rid):
    return _change_state(store, p, rid, "TerminateInstances", "terminated",
                         store.terminate, tuple(STATE_CODES))


def get_console_output(store, p, rid):
    iid = p.req("InstanceId")
    inst = get_instances(store, [iid])[0]
    p.bool("Latest")
    dry_run(p)
    text = "".join(line + "\r\n" for line in inst["console"])
    return response_xml("GetConsoleOutput", rid, [
        ("instanceId", iid),
        ("timestamp", iso(store.now())),
        ("output", base64.b64encode(text.encode()).decode()
         if text else None),
    ])


# images, snapshots and tags: see ec2_images.py; launch templates:
# ec2_templates.py
ACTIONS = {
    "RunInstances": (run_instances, [
        r"ImageId", r"InstanceType", r"MinCount", r"MaxCount", r"UserData",
        r"InstanceInitiatedShutdownBehavior", r"SubnetId",
        r"SecurityGroupId\.\d+", r"SecurityGroup\.\d+",
        r"IamInstanceProfile\.(Name|Arn)", r"KeyName", TAG_SPEC,
        r"ClientToken", r"EbsOptimized", r"Monitoring\.Enabled",
        r"DisableApiTermination", r"BlockDeviceMapping\.\d+\..+",
        r"Placement\..+", r"PrivateIpAddress", r"MetadataOptions\..+",
        r"CreditSpecification\..+", r"NetworkInterface\.\d+\..+"]),
    "DescribeInstances": (describe_instances,
                          [r"InstanceId\.\d+", FILTER] + PAGING),
    "StopInstances": (stop_instances,
                      [r"InstanceId\.\d+", r"Force", r"Hibernate"]),
    "TerminateInstances": (terminate_instances, [r"InstanceId\.\d+"]),
    "GetConsoleOutput": (get_console_output, [r"InstanceId", r"Latest"]),
}
ACTIONS.update(IMAGE_ACTIONS)
ACTIONS.update(TEMPLATE_ACTIONS)


def handle(store, action, raw, rid):
    """Run one EC2 action.  Raises Ec2Error (InvalidAction if unknown)."""
    if action not in ACTIONS:
        raise Ec2Error("InvalidAction", "The action %s is not valid for this "
                       "web service." % action)
    fn, allowed = ACTIONS[action]
    return fn(store, Params(raw, COMMON + allowed), rid)
