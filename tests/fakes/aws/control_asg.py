"""Control API for the Auto Scaling / ELB side (JSON, no signature):

  GET  /_fake/groups[/<name>]        groups as the fake sees them
  POST /_fake/groups {spec}          create a group (see seed_group)
  GET  /_fake/loadbalancers[/<name>] load balancers and instance health
  POST /_fake/loadbalancers {"name"}  create a classic load balancer
  POST /_fake/seed/socorro {"ini", "env", ...}
                                     the groups and load balancers of an
                                     environment of etc/socorro.ini

route() is called by control.route() with the store lock held.
"""

import configparser
import re

LAUNCH_KEYS = {"name", "min", "max", "desired", "image_id", "instance_type",
               "launch", "launch_template_version", "launch_name",
               "load_balancers", "ready", "health_check_type", "user_data",
               "key_name", "security_groups", "iam_instance_profile"}


class BadSpec(Exception):
    pass


def _int(spec, key, default):
    value = spec.get(key, default)
    if not isinstance(value, int) or value < 0:
        raise BadSpec("%s must be a non-negative integer" % key)
    return value


def seed_group(store, spec):
    """Create a group with its launch source and load balancers.

    spec: name, min [1], max [max(4, 2*desired)], desired [min], image_id
    [the seeded base image], instance_type [t3.small], launch "template"
    (default) or "configuration", launch_template_version [$Latest],
    launch_name [<name>-lt / <name>-lc], load_balancers [[]] (created if
    missing), ready [true: instances running, InService and healthy at
    once], health_check_type [EC2], user_data (text), key_name,
    security_groups, iam_instance_profile."""
    import base64
    world = store.asg
    bad = set(spec) - LAUNCH_KEYS
    if bad:
        raise BadSpec("group: unknown %s" % ", ".join(sorted(bad)))
    name = spec.get("name")
    if not name or name in world.groups:
        raise BadSpec("group: a new name is required")
    lo = _int(spec, "min", 1)
    desired = _int(spec, "desired", lo)
    hi = _int(spec, "max", max(4, 2 * desired))
    if not lo <= desired <= hi:
        raise BadSpec("group: min <= desired <= max please")
    image = spec.get("image_id", "ami-00000000000000001")
    if image not in store.images:
        raise BadSpec("group: no image %s" % image)
    itype = spec.get("instance_type", "t3.small")
    user_data = base64.b64encode(spec.get("user_data", "").encode()).decode()
    groups = list(spec.get("security_groups", []))
    launch = spec.get("launch", "template")
    lc = lt = None
    if launch == "configuration":
        lc = spec.get("launch_name", name + "-lc")
        if lc not in world.launch_configs:
            world.add_launch_config(
                lc, image, itype, user_data=user_data,
                key_name=spec.get("key_name"), security_groups=groups,
                iam_instance_profile=spec.get("iam_instance_profile"))
    elif launch == "template":
        tname = spec.get("launch_name", name + "-lt")
        tpl = world.template_by_name(tname)
        if tpl is None:
            data = {"ImageId": image, "InstanceType": itype}
            if spec.get("user_data"):
                data["UserData"] = user_data
            if spec.get("key_name"):
                data["KeyName"] = spec["key_name"]
            for i, sg in enumerate(groups, 1):
                data["SecurityGroupId.%d" % i] = sg
            if spec.get("iam_instance_profile"):
                data["IamInstanceProfile.Name"] = spec["iam_instance_profile"]
            tpl = world.add_template(tname, data, "seeded by fake_aws")
        version = str(spec.get("launch_template_version", "$Latest"))
        if world.resolve_version(tpl, version) is None:
            raise BadSpec("group: no version %s of %s" % (version, tname))
        lt = {"id": tpl["id"], "name": tpl["name"], "version": version}
    else:
        raise BadSpec("group: launch is 'template' or 'configuration'")
    elbs = spec.get("load_balancers", [])
    if isinstance(elbs, str):
        elbs = [elbs]
    for e in elbs:
        if e not in world.elbs:
            world.add_elb(e)
    check = spec.get("health_check_type", "ELB" if elbs else "EC2")
    g = world.add_group(name, lo, hi, desired, lc, lt, elbs, check)
    if spec.get("ready", True):
        world.make_ready(g)
    else:
        world.tick()
    return world.group_view(g)


# ---------------------------------------------------------------- socorro.ini

def socorro_roles(path, env, master_only=True):
    """[(roleenv, autoscalename, elbname or '')] of env in a socorro.ini,
    resolved the way identify-role does: key@ENV in the role, key in the
    role, then the same in [role:*]; {env} and {role} filled in."""
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    if not cp.read(path):
        raise BadSpec("seed: cannot read %s" % path)
    sect = "env:" + env
    if not cp.has_section(sect):
        raise BadSpec("seed: no [%s] in %s" % (sect, path))
    names = cp.get(sect, "master" if master_only else "roles").split()

    def value(role, key):
        for s in ("role:" + role, "role:*"):
            for k in (key + "@" + env, key):
                if cp.has_option(s, k):
                    v = cp.get(s, k)
                    return v.replace("{env}", env).replace("{role}", role)
        return ""
    return [(value(r, "roleenv"), value(r, "autoscalename"),
             value(r, "elbname")) for r in names]


def seed_socorro(store, data):
    """POST /_fake/seed/socorro: {"ini": path, "env": "stage",
    "all": false (master list only), and any group spec key as a default
    for every group (min, desired, launch, image_id, ...)}."""
    data = dict(data or {})
    path = data.pop("ini", "etc/socorro.ini")
    env = data.pop("env", "stage")
    every = bool(data.pop("all", False))
    out = []
    for roleenv, asg, elb in socorro_roles(path, env, not every):
        if asg in store.asg.groups:
            continue
        spec = dict(data, name=asg)
        if elb:
            spec["load_balancers"] = [elb]
        view = seed_group(store, spec)
        out.append({"roleenv": roleenv, "group": asg, "elb": elb or None,
                    "instances": view["instance_ids"]})
    return out


# ---------------------------------------------------------------- routing

def route(app, method, parts, data):
    """(status, obj) for /_fake/groups, /loadbalancers, /seed; None if the
    path is not ours."""
    store = app.store
    world = store.asg
    head = parts[0] if parts else ""
    arg = parts[1] if len(parts) > 1 else None
    try:
        if head == "groups":
            if method == "GET" and arg is None:
                return 200, {"groups": [world.group_view(g)
                                        for g in world.groups.values()]}
            if method == "GET":
                g = world.groups.get(arg)
                return (200, world.group_view(g)) if g else \
                    (404, {"error": "no group %r" % arg})
            if method == "POST" and arg is None:
                return 200, seed_group(store, data or {})
        if head == "loadbalancers":
            if method == "GET" and arg is None:
                return 200, {"load_balancers": [
                    world.elb_view(e) for e in world.elbs.values()]}
            if method == "GET":
                e = world.elbs.get(arg)
                return (200, world.elb_view(e)) if e else \
                    (404, {"error": "no load balancer %r" % arg})
            if method == "POST" and arg is None:
                name = (data or {}).get("name", "")
                if not re.fullmatch(r"[A-Za-z0-9-]{1,32}", name) or \
                        name in world.elbs:
                    raise BadSpec("load balancer: a new name of 1-32 "
                                  "letters, digits and dashes is required")
                return 200, world.elb_view(world.add_elb(name))
        if head == "seed" and arg == "socorro" and method == "POST":
            return 200, {"seeded": seed_socorro(store, data)}
    except BadSpec as err:
        return 400, {"error": str(err)}
    return None
