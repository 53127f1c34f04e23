"""Auto Scaling actions, API version 2011-01-01: DescribeAutoScalingGroups,
UpdateAutoScalingGroup, SetDesiredCapacity,
TerminateInstanceInAutoScalingGroup, DescribeScalingActivities,
DescribeLaunchConfigurations, CreateLaunchConfiguration,
DeleteLaunchConfiguration.

handle(store, action, raw_params, rid) returns the XML body of a success
or raises Ec2Error (rendered in Auto Scaling's ErrorResponse shape by the
server).  Call it with store.lock held and after store.advance().  Element
names follow the Auto Scaling API reference (and botocore's model).
"""

import base64
import binascii
import json
import re

from ec2_query import Ec2Error, Params
from query_xml import (bool_param, int_param, member_list, member_structs,
                       members, required, result_xml, validation)
import state as _state

API = "autoscaling"
COMMON = [r"Action", r"Version"]
MEMBERS = r"\.member\.\d+"


def _page(p, rows, action):
    """MaxRecords (1..100) / NextToken slicing -> (rows, next token)."""
    size = int_param(p, "MaxRecords", 1, 100) or 50
    token = p.get("NextToken")
    start = 0
    if token:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            start = int(data["o"])
            if data["a"] != action or start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise Ec2Error("InvalidNextToken", "The token '%s' is invalid."
                           % token)
    end = start + size
    nxt = None
    if end < len(rows):
        nxt = base64.urlsafe_b64encode(json.dumps(
            {"a": action, "o": end}).encode()).decode()
    return rows[start:end], nxt


def get_group(store, name):
    g = store.asg.groups.get(name)
    if g is None:
        raise validation("AutoScalingGroup name not found - AutoScalingGroup"
                         " '%s' not found" % name)
    return g


def lt_spec(lt):
    return [("LaunchTemplateId", lt["id"]),
            ("LaunchTemplateName", lt["name"]),
            ("Version", lt["version"])]


# ---------------------------------------------------------------- groups

def group_item(store, g):
    world = store.asg
    insts = []
    for iid, m in g["members"].items():
        inst = store.instances.get(iid)
        src = m["source"]
        insts.append([
            ("InstanceId", iid),
            ("InstanceType", inst["instance_type"] if inst else None),
            ("AvailabilityZone", m["az"]),
            ("LifecycleState", m["lifecycle"]),
            ("HealthStatus", world.member_health(m, inst)),
            ("LaunchConfigurationName", src[1] if src[0] == "lc" else None),
            ("LaunchTemplate", lt_spec({
                "id": src[1], "version": src[2],
                "name": world.templates[src[1]]["name"]
                if src[1] in world.templates else None})
             if src[0] == "lt" else None),
            ("ProtectedFromScaleIn", False)])
    return [
        ("AutoScalingGroupName", g["name"]),
        ("AutoScalingGroupARN", g["arn"]),
        ("LaunchConfigurationName", g["lc"]),
        ("LaunchTemplate", lt_spec(g["lt"]) if g["lt"] else None),
        ("MinSize", g["min"]), ("MaxSize", g["max"]),
        ("DesiredCapacity", g["desired"]),
        ("DefaultCooldown", g["cooldown"]),
        ("AvailabilityZones", members(g["azs"])),
        ("LoadBalancerNames", members(g["elbs"])),
        ("TargetGroupARNs", []),
        ("HealthCheckType", g["health_check_type"]),
        ("HealthCheckGracePeriod", g["grace"]),
        ("Instances", [("member", i) for i in insts]),
        ("CreatedTime", _state.iso(g["created"])),
        ("SuspendedProcesses", []),
        ("VPCZoneIdentifier", ""),
        ("EnabledMetrics", []),
        ("Tags", [("member", [
            ("ResourceId", g["name"]),
            ("ResourceType", "auto-scaling-group"),
            ("Key", k), ("Value", v), ("PropagateAtLaunch", True)])
            for k, v in g["tags"].items()]),
        ("TerminationPolicies", members(g["termination_policies"])),
        ("NewInstancesProtectedFromScaleIn", False),
        ("ServiceLinkedRoleARN", store.asg.arn(
            "iam", "role/aws-service-role/autoscaling.amazonaws.com/"
            "AWSServiceRoleForAutoScaling").replace(
                ":%s:" % store.settings["region"], "::")),
    ]


def _group_filters(p):
    out = []
    for st in member_structs(p, "Filters"):
        name = st.get("Name")
        values = [v for k, v in sorted(st.items())
                  if re.fullmatch(r"Values\.member\.\d+", k)]
        if name not in ("tag-key", "tag-value") and \
                not (name or "").startswith("tag:"):
            raise validation("Filter name '%s' is invalid" % name)
        out.append((name, values))
    return out


def _filter_ok(g, filters):
    for name, values in filters:
        if name == "tag-key":
            have = list(g["tags"])
        elif name == "tag-value":
            have = list(g["tags"].values())
        else:
            have = [g["tags"][name[4:]]] if name[4:] in g["tags"] else []
        if not any(h in values for h in have):
            return False
    return True


def describe_auto_scaling_groups(store, p, rid):
    names = member_list(p, "AutoScalingGroupNames")
    filters = _group_filters(p)
    groups = [g for g in store.asg.groups.values()
              if (not names or g["name"] in names) and _filter_ok(g, filters)]
    chunk, nxt = _page(p, groups, "DescribeAutoScalingGroups")
    return result_xml(API, "DescribeAutoScalingGroups", rid, [
        ("AutoScalingGroups", [("member", group_item(store, g))
                               for g in chunk]),
        ("NextToken", nxt)])


def _launch_source(store, p):
    """('lc', name) / ('lt', {id, name, version}) / None from the
    parameters, checked against what exists."""
    world = store.asg
    lc = p.get("LaunchConfigurationName")
    lt_id = p.get("LaunchTemplate.LaunchTemplateId")
    lt_name = p.get("LaunchTemplate.LaunchTemplateName")
    lt_given = any(k.startswith("LaunchTemplate.") for k in p.raw)
    if any(k.startswith("MixedInstancesPolicy.") for k in p.raw):
        raise validation("MixedInstancesPolicy is not modelled by the fake")
    if lc is not None and lt_given:
        raise validation("Valid requests must contain either "
                         "LaunchTemplate, LaunchConfigurationName, "
                         "InstanceId or MixedInstancesPolicy parameter, "
                         "not several.")
    if lc is not None:
        if lc not in world.launch_configs:
            raise validation("Launch configuration name not found - Launch "
                             "configuration %s not found" % lc)
        return "lc", lc
    if not lt_given:
        return None
    if bool(lt_id) == bool(lt_name):
        raise validation("You must use a valid fully-formed launch template."
                         " Specify either a launch template ID or a launch "
                         "template name in the request, but not both.")
    tpl = world.templates.get(lt_id) if lt_id else \
        world.template_by_name(lt_name)
    if tpl is None:
        raise validation("You must use a valid fully-formed launch template."
                         " The specified launch template, with template %s "
                         "%s, does not exist." % ("ID" if lt_id else "name",
                                                  lt_id or lt_name))
    version = p.get("LaunchTemplate.Version") or "$Default"
    if world.resolve_version(tpl, version) is None:
        raise validation("You must use a valid fully-formed launch template."
                         " The specified launch template version, %s, does "
                         "not exist." % version)
    return "lt", {"id": tpl["id"], "name": tpl["name"], "version": version}


def update_auto_scaling_group(store, p, rid):
    g = get_group(store, required(p, "AutoScalingGroupName"))
    source = _launch_source(store, p)
    lo = int_param(p, "MinSize", 0)
    hi = int_param(p, "MaxSize", 0)
    want = int_param(p, "DesiredCapacity", 0)
    new_min = g["min"] if lo is None else lo
    new_max = g["max"] if hi is None else hi
    if new_min > new_max:
        raise validation("Max bound, %d, must be greater than or equal to "
                         "min bound, %d" % (new_max, new_min))
    if want is None:
        # Documented: a new MinSize above (MaxSize below) the current
        # desired capacity moves the desired capacity with it.
        want = min(max(g["desired"], new_min), new_max)
    elif not new_min <= want <= new_max:
        raise validation("Desired capacity:%d must be between the specified "
                         "min size:%d and max size:%d" % (want, new_min,
                                                          new_max))
    check = p.get("HealthCheckType")
    if check is not None and check not in ("EC2", "ELB"):
        raise validation("Health check type %s is not valid" % check)
    grace = int_param(p, "HealthCheckGracePeriod", 0)
    cooldown = int_param(p, "DefaultCooldown", 0)
    zones = member_list(p, "AvailabilityZones")
    policies = member_list(p, "TerminationPolicies")
    bool_param(p, "NewInstancesProtectedFromScaleIn")
    bool_param(p, "CapacityRebalance")
    if source is not None:
        g["lc"], g["lt"] = (source[1], None) if source[0] == "lc" else \
            (None, source[1])
    g["min"], g["max"], g["desired"] = new_min, new_max, want
    if check is not None:
        g["health_check_type"] = check
    if grace is not None:
        g["grace"] = grace
    if cooldown is not None:
        g["cooldown"] = cooldown
    if zones:
        g["azs"] = zones
    if policies:
        g["termination_policies"] = policies
    store.asg.tick()
    return result_xml(API, "UpdateAutoScalingGroup", rid, None)


def set_desired_capacity(store, p, rid):
    g = get_group(store, required(p, "AutoScalingGroupName"))
    want = int_param(p, "DesiredCapacity", 0)
    if want is None:
        required(p, "DesiredCapacity")
    bool_param(p, "HonorCooldown")
    if want < g["min"]:
        raise validation("New SetDesiredCapacity value %d is below min value "
                         "%d for the AutoScalingGroup." % (want, g["min"]))
    if want > g["max"]:
        raise validation("New SetDesiredCapacity value %d is above max value "
                         "%d for the AutoScalingGroup." % (want, g["max"]))
    g["desired"] = want
    store.asg.tick()
    return result_xml(API, "SetDesiredCapacity", rid, None)


def terminate_instance_in_auto_scaling_group(store, p, rid):
    iid = required(p, "InstanceId")
    if p.get("ShouldDecrementDesiredCapacity") is None:
        required(p, "ShouldDecrementDesiredCapacity")
    decrement = bool_param(p, "ShouldDecrementDesiredCapacity")
    g = next((g for g in store.asg.groups.values()
              if iid in g["members"]), None)
    if g is None:
        raise validation("Instance Id not found - No managed instance found "
                         "for instance ID: %s" % iid)
    if g["members"][iid]["lifecycle"] not in ("Pending", "InService"):
        raise validation("The instance %s is not in InService or Standby."
                         % iid)
    before = g["desired"]
    if decrement:
        if before - 1 < g["min"]:
            raise validation(
                "Currently, desiredSize equals minSize (%d). Terminating "
                "instance without replacement will violate group's min size "
                "constraint. Either set shouldDecrementDesiredCapacity flag "
                "to false or lower group's min size." % g["min"])
        g["desired"] -= 1
    cause = ("At %s instance %s was taken out of service in response to a "
             "user request%s." % (_state.iso(store.now(), False), iid,
                                  ", shrinking the capacity from %d to %d"
                                  % (before, g["desired"]) if decrement
                                  else ""))
    act = store.asg.terminate_member(g, iid, cause)
    store.asg.tick()
    return result_xml(API, "TerminateInstanceInAutoScalingGroup", rid, [
        ("Activity", [
            ("ActivityId", act["id"]),
            ("AutoScalingGroupName", g["name"]),
            ("Description", act["description"]),
            ("Cause", cause),
            ("StartTime", _state.iso(act["start"])),
            ("StatusCode", "InProgress"),
            ("Progress", 0),
            ("Details", json.dumps({"Subnet ID": "subnet-00000000000000001",
                                    "Availability Zone":
                                        g["members"][iid]["az"]})),
        ])])


def activity_item(a):
    return [("ActivityId", a["id"]),
            ("AutoScalingGroupName", a["group"]),
            ("Description", a["description"]),
            ("Cause", a["cause"]),
            ("StartTime", _state.iso(a["start"])),
            ("EndTime", _state.iso(a["end"]) if a["end"] else None),
            ("StatusCode", a["status"]),
            ("StatusMessage", a["message"]),
            ("Progress", 0 if a["status"] == "InProgress" else 100),
            ("Details", "{}")]


def describe_scaling_activities(store, p, rid):
    """Newest first, as AWS lists them."""
    name = p.get("AutoScalingGroupName")
    ids = member_list(p, "ActivityIds")
    bool_param(p, "IncludeDeletedGroups")
    rows = [a for a in reversed(store.asg.activities)
            if (name is None or a["group"] == name) and
            (not ids or a["id"] in ids)]
    chunk, nxt = _page(p, rows, "DescribeScalingActivities")
    return result_xml(API, "DescribeScalingActivities", rid, [
        ("Activities", [("member", activity_item(a)) for a in chunk]),
        ("NextToken", nxt)])


# ---------------------------------------------------------------- launch configs

EBS_FIELDS = ("SnapshotId", "VolumeSize", "VolumeType", "DeleteOnTermination",
              "Iops", "Encrypted", "Throughput")


def lc_item(lc):
    devices = []
    for d in lc["block_devices"]:
        ebs = [(f, d["Ebs." + f]) for f in EBS_FIELDS if "Ebs." + f in d]
        devices.append(("member", [("DeviceName", d.get("DeviceName")),
                                   ("VirtualName", d.get("VirtualName")),
                                   ("Ebs", ebs or None),
                                   ("NoDevice", d.get("NoDevice"))]))
    meta = [(k, v) for k, v in sorted(lc["metadata_options"].items())]
    return [
        ("LaunchConfigurationName", lc["name"]),
        ("LaunchConfigurationARN", lc["arn"]),
        ("ImageId", lc["image_id"]),
        ("KeyName", lc["key_name"] or ""),
        ("SecurityGroups", members(lc["security_groups"])),
        ("ClassicLinkVPCSecurityGroups", []),
        ("UserData", lc["user_data"] or ""),
        ("InstanceType", lc["instance_type"]),
        ("KernelId", lc["kernel_id"] or ""),
        ("RamdiskId", lc["ramdisk_id"] or ""),
        ("BlockDeviceMappings", devices),
        ("InstanceMonitoring", [("Enabled", lc["monitoring"])]),
        ("SpotPrice", lc["spot_price"]),
        ("IamInstanceProfile", lc["iam_instance_profile"]),
        ("CreatedTime", _state.iso(lc["created"])),
        ("EbsOptimized", lc["ebs_optimized"]),
        ("AssociatePublicIpAddress", lc["associate_public_ip"]),
        ("PlacementTenancy", lc["placement_tenancy"]),
        ("MetadataOptions", meta or None),
    ]


def describe_launch_configurations(store, p, rid):
    names = member_list(p, "LaunchConfigurationNames")
    rows = [lc for lc in store.asg.launch_configs.values()
            if not names or lc["name"] in names]
    chunk, nxt = _page(p, rows, "DescribeLaunchConfigurations")
    return result_xml(API, "DescribeLaunchConfigurations", rid, [
        ("LaunchConfigurations", [("member", lc_item(lc)) for lc in chunk]),
        ("NextToken", nxt)])


def create_launch_configuration(store, p, rid):
    world = store.asg
    name = required(p, "LaunchConfigurationName")
    for k, v in p.raw.items():
        if v == "" and k not in ("Action", "Version"):
            raise validation("Value '' at '%s' failed to satisfy constraint:"
                             " Member must have length greater than or equal"
                             " to 1" % (k[:1].lower() + k[1:]))
    if len(name) > 255:
        raise validation("Launch configuration names are at most 255 "
                         "characters")
    if name in world.launch_configs:
        raise Ec2Error("AlreadyExists", "Launch Configuration by this name "
                       "already exists - A launch configuration already "
                       "exists with the name %s" % name)
    extra = {}
    image, itype = p.get("ImageId"), p.get("InstanceType")
    source = p.get("InstanceId")
    if source is not None:
        inst = store.instances.get(source)
        if inst is None:
            raise validation("Invalid instance ID: %s" % source)
        image = image or inst["image_id"]
        itype = itype or inst["instance_type"]
    if image is None:
        raise validation("ImageId is required unless InstanceId is given")
    if itype is None:
        raise validation("InstanceType is required unless InstanceId is "
                         "given")
    img = store.images.get(image)
    if img is None or img["state"] != "available":
        raise validation("AMI %s is invalid: The image id '[%s]' does not "
                         "exist" % (image, image))
    user_data = p.get("UserData")
    if user_data is not None:
        try:
            base64.b64decode(user_data, validate=True)
        except (binascii.Error, ValueError):
            raise validation("Invalid BASE64 encoding of user data")
        if len(user_data) > 21847:
            raise validation("User data is limited to 21847 characters")
        extra["user_data"] = user_data
    monitoring = bool_param(p, "InstanceMonitoring.Enabled")
    extra.update(
        key_name=p.get("KeyName"),
        security_groups=member_list(p, "SecurityGroups"),
        iam_instance_profile=p.get("IamInstanceProfile"),
        kernel_id=p.get("KernelId"), ramdisk_id=p.get("RamdiskId"),
        block_devices=member_structs(p, "BlockDeviceMappings"),
        monitoring=True if monitoring is None else monitoring,
        ebs_optimized=bool(bool_param(p, "EbsOptimized")),
        associate_public_ip=bool_param(p, "AssociatePublicIpAddress"),
        placement_tenancy=p.get("PlacementTenancy"),
        spot_price=p.get("SpotPrice"),
        metadata_options={k.split(".", 1)[1]: v for k, v in p.raw.items()
                          if k.startswith("MetadataOptions.")})
    for d in extra["block_devices"]:
        if "DeviceName" not in d:
            raise validation("BlockDeviceMappings: DeviceName is required")
    world.add_launch_config(name, image, itype, **extra)
    return result_xml(API, "CreateLaunchConfiguration", rid, None)


def delete_launch_configuration(store, p, rid):
    world = store.asg
    name = required(p, "LaunchConfigurationName")
    if name not in world.launch_configs:
        raise validation("Launch configuration name not found - Launch "
                         "configuration %s not found" % name)
    for g in world.groups.values():
        if g["lc"] == name:
            raise Ec2Error("ResourceInUse", "Cannot delete launch "
                           "configuration %s because it is attached to "
                           "AutoScalingGroup %s" % (name, g["name"]))
    del world.launch_configs[name]
    return result_xml(API, "DeleteLaunchConfiguration", rid, None)


BLOCK = r"BlockDeviceMappings\.member\.\d+\.(DeviceName|VirtualName|" \
    r"NoDevice|Ebs\.(%s))" % "|".join(EBS_FIELDS)
ACTIONS = {
    "DescribeAutoScalingGroups": (describe_auto_scaling_groups, [
        r"AutoScalingGroupNames" + MEMBERS, r"MaxRecords", r"NextToken",
        r"Filters\.member\.\d+\.(Name|Values\.member\.\d+)",
        r"IncludeInstances"]),
    "UpdateAutoScalingGroup": (update_auto_scaling_group, [
        r"AutoScalingGroupName", r"LaunchConfigurationName",
        r"LaunchTemplate\.(LaunchTemplateId|LaunchTemplateName|Version)",
        r"MixedInstancesPolicy\..+", r"MinSize", r"MaxSize",
        r"DesiredCapacity", r"DefaultCooldown",
        r"AvailabilityZones" + MEMBERS, r"HealthCheckType",
        r"HealthCheckGracePeriod", r"PlacementGroup", r"VPCZoneIdentifier",
        r"TerminationPolicies" + MEMBERS, r"NewInstancesProtectedFromScaleIn",
        r"ServiceLinkedRoleARN", r"MaxInstanceLifetime", r"CapacityRebalance",
        r"Context", r"DesiredCapacityType", r"DefaultInstanceWarmup"]),
    "SetDesiredCapacity": (set_desired_capacity, [
        r"AutoScalingGroupName", r"DesiredCapacity", r"HonorCooldown"]),
    "TerminateInstanceInAutoScalingGroup": (
        terminate_instance_in_auto_scaling_group,
        [r"InstanceId", r"ShouldDecrementDesiredCapacity"]),
    "DescribeScalingActivities": (describe_scaling_activities, [
        r"ActivityIds" + MEMBERS, r"AutoScalingGroupName",
        r"IncludeDeletedGroups", r"MaxRecords", r"NextToken"]),
    "DescribeLaunchConfigurations": (describe_launch_configurations, [
        r"LaunchConfigurationNames" + MEMBERS, r"MaxRecords", r"NextToken"]),
    "CreateLaunchConfiguration": (create_launch_configuration, [
        r"LaunchConfigurationName", r"ImageId", r"KeyName",
        r"SecurityGroups" + MEMBERS, r"ClassicLinkVPCId",
        r"ClassicLinkVPCSecurityGroups" + MEMBERS, r"UserData",
        r"InstanceId", r"InstanceType", r"KernelId", r"RamdiskId", BLOCK,
        r"InstanceMonitoring\.Enabled", r"SpotPrice", r"IamInstanceProfile",
        r"EbsOptimized", r"AssociatePublicIpAddress", r"PlacementTenancy",
        r"MetadataOptions\.(HttpTokens|HttpPutResponseHopLimit|"
        r"HttpEndpoint)"]),
    "DeleteLaunchConfiguration": (delete_launch_configuration,
                                  [r"LaunchConfigurationName"]),
}


def handle(store, action, raw, rid):
    if action not in ACTIONS:
        raise Ec2Error("InvalidAction", "Could not find operation %s for "
                       "version 2011-01-01" % action)
    fn, allowed = ACTIONS[action]
    return fn(store, Params(raw, COMMON + allowed), rid)
