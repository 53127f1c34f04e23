"""EC2 launch templates (API 2016-11-15): CreateLaunchTemplate,
DescribeLaunchTemplates, CreateLaunchTemplateVersion,
DescribeLaunchTemplateVersions, DeleteLaunchTemplateVersions.  Same
conventions as ec2_actions.py; the templates live in store.asg (an Auto
Scaling group launches from them).

Launch template data is kept as the flattened request parameters after
'LaunchTemplateData.' ({"ImageId": .., "SecurityGroupId.1": ..}), which
makes SourceVersion a dictionary merge; it is rendered back as the
documented response elements (imageId, securityGroupIdSet/item, ...).
"""

import re

from ec2_query import (FILTER, PAGING, TAG_SPEC, Ec2Error, check_filters,
                       check_id, dry_run, match_filters, missing, page,
                       response_xml, tag_set)
import state as _state

DATA = r"LaunchTemplateData\."
# The template data the fake accepts (everything else: UnknownParameter).
DATA_FIELDS = [
    r"ImageId", r"InstanceType", r"KeyName", r"UserData", r"EbsOptimized",
    r"KernelId", r"RamDiskId", r"DisableApiTermination", r"DisableApiStop",
    r"InstanceInitiatedShutdownBehavior", r"SecurityGroupId\.\d+",
    r"SecurityGroup\.\d+", r"IamInstanceProfile\.(Name|Arn)",
    r"Monitoring\.Enabled", r"MetadataOptions\.\w+", r"Placement\.\w+",
    r"BlockDeviceMapping\.\d+\.[\w.]+", r"NetworkInterface\.\d+\.[\w.]+",
    r"TagSpecification\.\d+\.(ResourceType|Tag\.\d+\.(Key|Value))",
    r"CreditSpecification\.CpuCredits"]
LIST_FAMILIES = ("SecurityGroupId", "SecurityGroup", "BlockDeviceMapping",
                 "NetworkInterface", "TagSpecification")
SET_NAMES = {"SecurityGroupId": "securityGroupIdSet",
             "SecurityGroup": "securityGroupSet",
             "BlockDeviceMapping": "blockDeviceMappingSet",
             "NetworkInterface": "networkInterfaceSet",
             "TagSpecification": "tagSpecificationSet", "Tag": "tagSet"}
NAME_RE = r"[a-zA-Z0-9().\-/_]{3,128}"


def _lower(name):
    return name[:1].lower() + name[1:]


def data_params(p):
    return {k[len("LaunchTemplateData."):]: v for k, v in p.raw.items()
            if k.startswith("LaunchTemplateData.")}


def _tree(flat):
    """{"A.1.B": v} -> {"A": {1: {"B": v}}}: numbers are list indexes."""
    root = {}
    for key, value in flat.items():
        node, parts = root, key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(int(part) if part.isdigit() else part, {})
        last = parts[-1]
        node[int(last) if last.isdigit() else last] = value
    return root


def _render_tree(tree):
    out = []
    for key, value in tree.items():
        if isinstance(value, dict) and value and \
                all(isinstance(k, int) for k in value):
            items = [("item", _render_tree(v) if isinstance(v, dict) else v)
                     for _, v in sorted(value.items())]
            out.append((SET_NAMES.get(key, _lower(key) + "Set"), items))
        elif isinstance(value, dict):
            out.append((_lower(key), _render_tree(value)))
        else:
            out.append((_lower(key), value))
    return out


def template_data_xml(data):
    return _render_tree(_tree(data))


def _check_data(store, data):
    """Refuse malformed data; return a warning list (unknown AMI), as EC2
    does: the template is created, the launch will fail."""
    warnings = []
    image = data.get("ImageId")
    if image is not None:
        check_id(image, "ami", "InvalidAMIID.Malformed")
        if image not in store.images:
            warnings.append(("InvalidAMIID.NotFound",
                             "The image id '[%s]' does not exist" % image))
    itype = data.get("InstanceType")
    if itype is not None and \
            not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", itype):
        raise Ec2Error("InvalidParameterValue",
                       "Invalid value '%s' for InstanceType." % itype)
    for k, v in data.items():
        if k.startswith("SecurityGroupId."):
            check_id(v, "sg", "InvalidGroupId.Malformed")
    return warnings


def _warning(warnings):
    if not warnings:
        return None
    return [("errorSet", [("item", [("code", c), ("message", m)])
                          for c, m in warnings])]


def find_template(store, p):
    """The template named by LaunchTemplateId or LaunchTemplateName."""
    tid, name = p.get("LaunchTemplateId"), p.get("LaunchTemplateName")
    if tid and name:
        raise Ec2Error("InvalidParameterCombination", "Specify either the "
                       "launch template ID or the launch template name, "
                       "but not both.")
    if tid:
        check_id(tid, "lt", "InvalidLaunchTemplateId.Malformed")
        tpl = store.asg.templates.get(tid)
        if tpl is None:
            raise Ec2Error("InvalidLaunchTemplateId.NotFound",
                           "The specified launch template, with template ID "
                           "%s, does not exist." % tid)
        return tpl
    if name:
        tpl = store.asg.template_by_name(name)
        if tpl is None:
            raise Ec2Error("InvalidLaunchTemplateName.NotFoundException",
                           "The specified launch template, with template "
                           "name %s, does not exist." % name)
        return tpl
    raise missing("LaunchTemplateId or LaunchTemplateName")


def template_item(t):
    return [("launchTemplateId", t["id"]),
            ("launchTemplateName", t["name"]),
            ("createTime", _state.iso(t["created"])),
            ("createdBy", t["created_by"]),
            ("defaultVersionNumber", t["default_version"]),
            ("latestVersionNumber", t["latest_version"]),
            ("tagSet", tag_set(t["tags"]) if t["tags"] else None)]


def version_item(t, v):
    return [("launchTemplateId", t["id"]),
            ("launchTemplateName", t["name"]),
            ("versionNumber", v["number"]),
            ("versionDescription", v["description"]),
            ("createTime", _state.iso(v["created"])),
            ("createdBy", t["created_by"]),
            ("defaultVersion", v["number"] == t["default_version"]),
            ("launchTemplateData", template_data_xml(v["data"]))]


def create_launch_template(store, p, rid):
    name = p.req("LaunchTemplateName")
    if not re.fullmatch(NAME_RE, name):
        raise Ec2Error("InvalidLaunchTemplateName.MalformedException",
                       "A launch template name must be between 3 and 128 "
                       "characters, and may contain letters, numbers, and "
                       "the following characters: - ( ) . / _.'")
    if store.asg.template_by_name(name):
        raise Ec2Error("InvalidLaunchTemplateName.AlreadyExistsException",
                       "Launch template name already in use.")
    data = data_params(p)
    if not data:
        raise missing("LaunchTemplateData")
    warnings = _check_data(store, data)
    specs = p.tag_specs({"launch-template"})
    dry_run(p)
    tpl = store.asg.add_template(name, data, p.get("VersionDescription"),
                                 specs.get("launch-template"))
    return response_xml("CreateLaunchTemplate", rid, [
        ("launchTemplate", template_item(tpl)),
        ("warning", _warning(warnings))])


def describe_launch_templates(store, p, rid):
    ids, names = p.list("LaunchTemplateId"), p.list("LaunchTemplateName")
    filters = p.filters()
    getters = {"launch-template-name": lambda t: [t["name"]],
               "create-time": lambda t: [_state.iso(t["created"])],
               "tag-key": lambda t: list(t["tags"]),
               "tag-value": lambda t: list(t["tags"].values())}
    check_filters(filters, getters)
    pool = list(store.asg.templates.values())
    for tid in ids:
        check_id(tid, "lt", "InvalidLaunchTemplateId.Malformed")
        if tid not in store.asg.templates:
            raise Ec2Error("InvalidLaunchTemplateId.NotFound",
                           "At least one of the launch templates specified "
                           "in the request does not exist.")
    for n in names:
        if store.asg.template_by_name(n) is None:
            raise Ec2Error("InvalidLaunchTemplateName.NotFoundException",
                           "At least one of the launch templates specified "
                           "in the request does not exist.")
    if ids or names:
        pool = [t for t in pool if t["id"] in ids or t["name"] in names]
    chosen = [t for t in pool if match_filters(t, filters, getters)]
    chunk, nxt = page("DescribeLaunchTemplates", chosen, p, 1, 200)
    dry_run(p)
    return response_xml("DescribeLaunchTemplates", rid, [
        ("launchTemplates", [("item", template_item(t)) for t in chunk]),
        ("nextToken", nxt)])


def _wanted_versions(t, p):
    specs = p.list("LaunchTemplateVersion")
    lo, hi = p.get("MinVersion"), p.get("MaxVersion")
    if not specs:
        found = sorted(t["versions"].values(), key=lambda v: -v["number"])
        for bound, keep in ((lo, lambda n, b: n >= b),
                            (hi, lambda n, b: n <= b)):
            if bound is not None:
                if not bound.isdigit():
                    raise Ec2Error("InvalidParameterValue", "Invalid value "
                                   "'%s' for Min/MaxVersion" % bound)
                found = [v for v in found if keep(v["number"], int(bound))]
        return found
    out = []
    for spec in specs:
        if spec not in ("$Latest", "$Default") and not spec.isdigit():
            raise Ec2Error("InvalidLaunchTemplateId.VersionNotFound",
                           "The specified launch template version, %s, is "
                           "not valid." % spec)
        v = store_version(t, spec)
        if v is None:
            raise Ec2Error("InvalidLaunchTemplateId.VersionNotFound",
                           "Could not find launch template version %s for "
                           "launch template %s." % (spec, t["id"]))
        out.append(v)
    return out


def store_version(t, spec):
    if spec == "$Latest":
        return t["versions"].get(t["latest_version"])
    if spec == "$Default":
        return t["versions"].get(t["default_version"])
    return t["versions"].get(int(spec))


def describe_launch_template_versions(store, p, rid):
    if p.get("LaunchTemplateId") or p.get("LaunchTemplateName"):
        templates = [find_template(store, p)]
    else:
        templates = list(store.asg.templates.values())
        if p.list("LaunchTemplateVersion"):
            raise missing("LaunchTemplateId or LaunchTemplateName")
    p.bool("ResolveAlias")
    filters = p.filters()
    getters = {"image-id": lambda v: [v["data"].get("ImageId")],
               "instance-type": lambda v: [v["data"].get("InstanceType")],
               "is-default-version": lambda v: [str(v["_default"]).lower()]}
    check_filters(filters, getters)
    rows = []
    for t in templates:
        for v in _wanted_versions(t, p):
            v = dict(v, _default=v["number"] == t["default_version"],
                     tags={})
            if match_filters(v, filters, getters):
                rows.append((t, v))
    chunk, nxt = page("DescribeLaunchTemplateVersions", rows, p, 1, 200)
    dry_run(p)
    return response_xml("DescribeLaunchTemplateVersions", rid, [
        ("launchTemplateVersionSet", [("item", version_item(t, v))
                                      for t, v in chunk]),
        ("nextToken", nxt)])


def create_launch_template_version(store, p, rid):
    t = find_template(store, p)
    data = data_params(p)
    source = p.get("SourceVersion")
    if source is not None:
        base = store_version(t, source) if (
            source in ("$Latest", "$Default") or source.isdigit()) else None
        if base is None:
            raise Ec2Error("InvalidLaunchTemplateId.VersionNotFound",
                           "The specified launch template version, %s, "
                           "does not exist." % source)
        merged = dict(base["data"])
        for fam in LIST_FAMILIES:  # a list given replaces the source's
            if any(k.startswith(fam + ".") for k in data):
                merged = {k: v for k, v in merged.items()
                          if not k.startswith(fam + ".")}
        merged.update(data)
        data = merged
    if not data:
        raise missing("LaunchTemplateData")
    desc = p.get("VersionDescription")
    if desc is not None and len(desc) > 255:
        raise Ec2Error("InvalidParameterValue", "VersionDescription must be "
                       "at most 255 characters")
    warnings = _check_data(store, data)
    token = p.get("ClientToken")
    if token and token in t["client_tokens"]:
        fingerprint, n = t["client_tokens"][token]
        if fingerprint != sorted(p.raw.items()):
            raise Ec2Error("IdempotentParameterMismatch",
                           "Arguments on this idempotent request are "
                           "inconsistent with arguments used in previous "
                           "request(s).")
        v = t["versions"].get(n)
        if v is not None:
            return response_xml("CreateLaunchTemplateVersion", rid, [
                ("launchTemplateVersion", version_item(t, v))])
    dry_run(p)
    v = store.asg.add_version(t, data, desc)
    if token:
        t["client_tokens"][token] = (sorted(p.raw.items()), v["number"])
    return response_xml("CreateLaunchTemplateVersion", rid, [
        ("launchTemplateVersion", version_item(t, v)),
        ("warning", _warning(warnings))])


def delete_launch_template_versions(store, p, rid):
    t = find_template(store, p)
    specs = p.list("LaunchTemplateVersion")
    if not specs:
        raise missing("LaunchTemplateVersion")
    dry_run(p)
    done, failed = [], []
    for spec in specs:
        n = int(spec) if spec.isdigit() else None
        if n is not None and n == t["default_version"]:
            failed.append((spec, "launchTemplateVersionIsDefaultVersion",
                           "Cannot delete the default version of a launch "
                           "template."))
        elif n is None or n not in t["versions"]:
            failed.append((spec, "launchTemplateVersionDoesNotExist",
                           "The specified launch template version, %s, does "
                           "not exist." % spec))
        else:
            del t["versions"][n]
            done.append(n)
    t["latest_version"] = max(t["versions"])
    head = [("launchTemplateId", t["id"]), ("launchTemplateName", t["name"])]
    return response_xml("DeleteLaunchTemplateVersions", rid, [
        ("successfullyDeletedLaunchTemplateVersionSet",
         [("item", head + [("versionNumber", n)]) for n in done]),
        ("unsuccessfullyDeletedLaunchTemplateVersionSet",
         [("item", head + [("versionNumber", s), ("responseError", [
             ("code", c), ("message", m)])]) for s, c, m in failed])])


def _data_patterns():
    return [DATA + f for f in DATA_FIELDS]


TEMPLATE_ACTIONS = {
    "CreateLaunchTemplate": (create_launch_template, [
        r"LaunchTemplateName", r"VersionDescription", r"ClientToken",
        TAG_SPEC] + _data_patterns()),
    "DescribeLaunchTemplates": (describe_launch_templates, [
        r"LaunchTemplateId\.\d+", r"LaunchTemplateName\.\d+", FILTER]
        + PAGING),
    "CreateLaunchTemplateVersion": (create_launch_template_version, [
        r"LaunchTemplateId", r"LaunchTemplateName", r"SourceVersion",
        r"VersionDescription", r"ClientToken", r"ResolveAlias"]
        + _data_patterns()),
    "DescribeLaunchTemplateVersions": (describe_launch_template_versions, [
        r"LaunchTemplateId", r"LaunchTemplateName",
        r"LaunchTemplateVersion\.\d+", r"MinVersion", r"MaxVersion",
        r"ResolveAlias", FILTER] + PAGING),
    "DeleteLaunchTemplateVersions": (delete_launch_template_versions, [
        r"LaunchTemplateId", r"LaunchTemplateName",
        r"LaunchTemplateVersion\.\d+"]),
}
