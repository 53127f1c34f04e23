"""EC2 actions on images, snapshots and tags: CreateImage, DescribeImages,
DeregisterImage, DescribeSnapshots, DeleteSnapshot, CreateTags, DeleteTags,
DescribeTags.  Same conventions as ec2_actions.py."""

import re

from ec2_query import (FILTER, PAGING, TAG_SPEC, Ec2Error, check_filters,
                       check_id, dry_run, get_instances, match_filters,
                       missing, not_found_images, page, response_xml, tag_set)
from state import iso

NAME_RE = r"[A-Za-z0-9()\[\] ./\-'@_]{3,128}"
MAX_TAGS = 50


# ---------------------------------------------------------------- images

IMAGE_FILTERS = {
    "image-id": lambda m: [m["image_id"]],
    "name": lambda m: [m["name"]],
    "state": lambda m: [m["state"]],
    "owner-id": lambda m: [m["owner_id"]],
    "owner-alias": lambda m: [m["owner_alias"]],
    "description": lambda m: [m["description"]],
    "is-public": lambda m: ["true" if m["public"] else "false"],
    "architecture": lambda m: ["x86_64"],
    "image-type": lambda m: ["machine"],
    "root-device-type": lambda m: ["ebs"],
    "virtualization-type": lambda m: ["hvm"],
    "block-device-mapping.snapshot-id": lambda m: [m["snapshot_id"]],
    "tag-key": lambda m: list(m["tags"]),
    "tag-value": lambda m: list(m["tags"].values()),
}


def image_item(m):
    reason = m["state_reason"]
    return [
        ("imageId", m["image_id"]),
        ("imageLocation", "%s/%s" % (m["owner_alias"] or m["owner_id"],
                                     m["name"])),
        ("imageState", m["state"]),
        ("imageOwnerId", m["owner_id"]),
        ("creationDate", iso(m["creation_date"])),
        ("isPublic", m["public"]),
        ("architecture", "x86_64"),
        ("imageType", "machine"),
        ("imageOwnerAlias", m["owner_alias"]),
        ("name", m["name"]),
        ("description", m["description"]),
        ("rootDeviceType", "ebs"),
        ("rootDeviceName", "/dev/sda1"),
        ("blockDeviceMapping", [("item", [
            ("deviceName", "/dev/sda1"),
            ("ebs", [("snapshotId", m["snapshot_id"]), ("volumeSize", 8),
                     ("deleteOnTermination", True), ("volumeType", "gp2"),
                     ("encrypted", False)]),
        ])]),
        ("virtualizationType", "hvm"),
        ("tagSet", tag_set(m["tags"]) if m["tags"] else None),
        ("stateReason", [("code", reason[0]), ("message", reason[1])]
         if reason else None),
        ("hypervisor", "xen"),
        ("enaSupport", True),
    ]


def create_image(store, p, rid):
    iid = p.req("InstanceId")
    inst = get_instances(store, [iid])[0]
    name = p.req("Name")
    if not re.fullmatch(NAME_RE, name):
        raise Ec2Error("InvalidAMIName.Malformed",
                       "AMI names must be between 3 and 128 characters long, "
                       "and may contain letters, numbers, '(', ')', '.', "
                       "'-', '/', '[', ']', ' ', \"'\", '@' and '_'")
    desc = p.get("Description")
    if desc is not None and len(desc) > 255:
        raise Ec2Error("InvalidParameterValue",
                       "Description must be at most 255 characters")
    p.bool("NoReboot")
    specs = p.tag_specs({"image", "snapshot"})
    if inst["state"] not in ("running", "stopped"):
        raise Ec2Error("IncorrectInstanceState",
                       "Instance '%s' is not in a state from which it can be "
                       "imaged (%s)." % (iid, inst["state"]))
    account = store.settings["account_id"]
    for m in store.images.values():
        if m["owner_id"] == account and m["name"] == name:
            raise Ec2Error("InvalidAMIName.Duplicate",
                           "AMI name %s is already in use by AMI %s"
                           % (name, m["image_id"]))
    dry_run(p)
    img = store.create_image(inst, name, desc, specs.get("image", {}),
                             specs.get("snapshot", {}))
    return response_xml("CreateImage", rid, [("imageId", img["image_id"])])


def _owner_ok(store, m, owners):
    if not owners:
        return True
    for o in owners:
        if o == "self" and m["owner_id"] == store.settings["account_id"]:
            return True
        if o in (m["owner_id"], m["owner_alias"]):
            return True
    return False


def describe_images(store, p, rid):
    ids = p.list("ImageId")
    owners = p.list("Owner")
    for o in owners:
        if o not in ("self", "amazon", "aws-marketplace") and \
                not re.fullmatch(r"\d{12}", o):
            raise Ec2Error("InvalidUserID.Malformed",
                           "Invalid user id: '%s'" % o)
    p.list("ExecutableBy")
    p.bool("IncludeDeprecated")
    p.bool("IncludeDisabled")
    filters = p.filters()
    check_filters(filters, IMAGE_FILTERS)
    for i in ids:
        check_id(i, "ami", "InvalidAMIID.Malformed")
    if ids and p.get("MaxResults") is not None:
        raise Ec2Error("InvalidParameterCombination",
                       "The parameter imageIdsSet cannot be used with the "
                       "parameter maxResults")
    absent = [i for i in ids if i not in store.images]
    if absent:
        raise not_found_images(absent)
    account = store.settings["account_id"]
    pool = [store.images[i] for i in ids] if ids else [
        m for m in store.images.values()
        if m["public"] or m["owner_id"] == account]
    chosen = [m for m in pool if _owner_ok(store, m, owners)
              and match_filters(m, filters, IMAGE_FILTERS)]
    chunk, nxt = page("DescribeImages", chosen, p)
    dry_run(p)
    return response_xml("DescribeImages", rid, [
        ("imagesSet", [("item", image_item(m)) for m in chunk]),
        ("nextToken", nxt),
    ])


def deregister_image(store, p, rid):
    image_id = p.req("ImageId")
    check_id(image_id, "ami", "InvalidAMIID.Malformed")
    p.bool("DeleteAssociatedSnapshots")
    img = store.images.get(image_id)
    if img is None:
        raise not_found_images([image_id])
    if img["owner_id"] != store.settings["account_id"]:
        raise Ec2Error("AuthFailure", "Not authorized for image:%s"
                       % image_id, 400)
    dry_run(p)
    del store.images[image_id]
    if p.bool("DeleteAssociatedSnapshots"):
        store.snapshots.pop(img["snapshot_id"], None)
    return response_xml("DeregisterImage", rid, [("return", True)])


# ---------------------------------------------------------------- snapshots

SNAPSHOT_FILTERS = {
    "snapshot-id": lambda s: [s["snapshot_id"]],
    "status": lambda s: [s["state"]],
    "owner-id": lambda s: [s["owner_id"]],
    "description": lambda s: [s["description"]],
    "volume-id": lambda s: [s["volume_id"]],
    "tag-key": lambda s: list(s["tags"]),
    "tag-value": lambda s: list(s["tags"].values()),
}


def not_found_snapshot(sid):
    return Ec2Error("InvalidSnapshot.NotFound",
                    "The snapshot '%s' does not exist." % sid)


def describe_snapshots(store, p, rid):
    ids = p.list("SnapshotId")
    for s in ids:
        check_id(s, "snap", "InvalidSnapshotID.Malformed")
    absent = [s for s in ids if s not in store.snapshots]
    if absent:
        raise not_found_snapshot(absent[0])
    owners = p.list("Owner")
    p.list("RestorableBy")
    filters = p.filters()
    check_filters(filters, SNAPSHOT_FILTERS)
    pool = [store.snapshots[s] for s in ids] if ids else list(
        store.snapshots.values())
    account = store.settings["account_id"]
    chosen = [s for s in pool
              if (not owners or "self" in owners and s["owner_id"] == account
                  or s["owner_id"] in owners)
              and match_filters(s, filters, SNAPSHOT_FILTERS)]
    chunk, nxt = page("DescribeSnapshots", chosen, p)
    dry_run(p)
    return response_xml("DescribeSnapshots", rid, [
        ("snapshotSet", [("item", [
            ("snapshotId", s["snapshot_id"]), ("volumeId", s["volume_id"]),
            ("status", s["state"]), ("startTime", iso(s["start_time"])),
            ("progress", s["progress"]), ("ownerId", s["owner_id"]),
            ("volumeSize", s["volume_size"]),
            ("description", s["description"]), ("encrypted", False),
            ("tagSet", tag_set(s["tags"]) if s["tags"] else None),
        ]) for s in chunk]),
        ("nextToken", nxt),
    ])


def delete_snapshot(store, p, rid):
    sid = p.req("SnapshotId")
    check_id(sid, "snap", "InvalidSnapshotID.Malformed")
    if sid not in store.snapshots:
        raise not_found_snapshot(sid)
    for m in store.images.values():
        if m["snapshot_id"] == sid:
            raise Ec2Error("InvalidSnapshot.InUse",
                           "The snapshot %s is currently in use by %s"
                           % (sid, m["image_id"]))
    dry_run(p)
    del store.snapshots[sid]
    return response_xml("DeleteSnapshot", rid, [("return", True)])


# ---------------------------------------------------------------- tags

def _resources(store, ids):
    """The tagged dicts for resource ids, or the error EC2 gives."""
    if not ids:
        raise missing("ResourceId")
    found = []
    for rid_ in ids:
        prefix = rid_.split("-", 1)[0]
        if prefix == "i":
            found += get_instances(store, [rid_])
        elif prefix == "ami":
            check_id(rid_, "ami", "InvalidAMIID.Malformed")
            if rid_ not in store.images:
                raise not_found_images([rid_])
            found.append(store.images[rid_])
        elif prefix == "snap":
            check_id(rid_, "snap", "InvalidSnapshotID.Malformed")
            if rid_ not in store.snapshots:
                raise not_found_snapshot(rid_)
            found.append(store.snapshots[rid_])
        else:
            raise Ec2Error("InvalidID", "The ID '%s' is not valid" % rid_)
    return found


def create_tags(store, p, rid):
    targets = _resources(store, p.list("ResourceId"))
    tags = p.tags("Tag")
    if not tags:
        raise missing("Tag")
    for res in targets:
        if len(set(res["tags"]) | set(tags)) > MAX_TAGS:
            raise Ec2Error("TagLimitExceeded", "The maximum number of Tags "
                           "for a resource has been reached.")
    dry_run(p)
    for res in targets:
        res["tags"].update(tags)
    return response_xml("CreateTags", rid, [("return", True)])


def delete_tags(store, p, rid):
    targets = _resources(store, p.list("ResourceId"))
    wanted = p.structs("Tag")
    dry_run(p)
    for res in targets:
        if not wanted:
            res["tags"].clear()
        for st in wanted:
            key = st.get("Key")
            if key in res["tags"] and ("Value" not in st or
                                       res["tags"][key] == st["Value"]):
                del res["tags"][key]
    return response_xml("DeleteTags", rid, [("return", True)])


TAG_FILTERS = {
    "resource-id": lambda t: [t["resource_id"]],
    "resource-type": lambda t: [t["resource_type"]],
    "key": lambda t: [t["key"]],
    "value": lambda t: [t["value"]],
}


def describe_tags(store, p, rid):
    filters = p.filters()
    if any(n.startswith("tag:") for n, _ in filters):
        raise Ec2Error("InvalidParameterValue", "The filter '%s' is invalid"
                       % [n for n, _ in filters if n.startswith("tag:")][0])
    check_filters(filters, TAG_FILTERS)
    rows = [{"resource_id": r, "resource_type": t, "key": k, "value": v,
             "tags": {}} for r, t, k, v in store.all_tags()]
    chosen = [t for t in rows if match_filters(t, filters, TAG_FILTERS)]
    chunk, nxt = page("DescribeTags", chosen, p)
    dry_run(p)
    return response_xml("DescribeTags", rid, [
        ("tagSet", [("item", [("resourceId", t["resource_id"]),
                              ("resourceType", t["resource_type"]),
                              ("key", t["key"]), ("value", t["value"])])
                    for t in chunk]),
        ("nextToken", nxt),
    ])


IMAGE_ACTIONS = {
    "CreateImage": (create_image, [
        r"InstanceId", r"Name", r"Description", r"NoReboot", TAG_SPEC,
        r"BlockDeviceMapping\.\d+\..+"]),
    "DescribeImages": (describe_images, [
        r"ImageId\.\d+", r"Owner\.\d+", r"ExecutableBy\.\d+", FILTER,
        r"IncludeDeprecated", r"IncludeDisabled"] + PAGING),
    "DeregisterImage": (deregister_image,
                        [r"ImageId", r"DeleteAssociatedSnapshots"]),
    "DescribeSnapshots": (describe_snapshots, [
        r"SnapshotId\.\d+", r"Owner\.\d+", r"RestorableBy\.\d+", FILTER]
        + PAGING),
    "DeleteSnapshot": (delete_snapshot, [r"SnapshotId"]),
    "CreateTags": (create_tags, [r"ResourceId\.\d+",
                                 r"Tag\.\d+\.(Key|Value)"]),
    "DeleteTags": (delete_tags, [r"ResourceId\.\d+",
                                 r"Tag\.\d+\.(Key|Value)"]),
    "DescribeTags": (describe_tags, [FILTER] + PAGING),
}
