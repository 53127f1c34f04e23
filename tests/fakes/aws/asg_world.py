"""The Auto Scaling and classic ELB side of the fake's world: launch
configurations, EC2 launch templates, Auto Scaling groups, load balancers,
and how a group keeps its desired capacity.

A group is reconciled lazily, like the rest of the fake: tick() runs at
every advance() (so before any request reads or changes state) and

  * moves members along with their EC2 instance: Pending while the
    instance is pending, InService once it runs (and then it is registered
    with the group's load balancers), gone once a Terminating member's
    instance is terminated; a member whose instance was stopped or
    terminated behind the group's back is dropped (and so replaced);
  * launches instances from the group's current launch configuration or
    launch template version while it has fewer than DesiredCapacity
    (a launch that cannot happen, e.g. its AMI is gone, is a failed
    scaling activity, retried at the next tick);
  * terminates instances while it has more: first those not launched
    from the current configuration/template version, then the newest.

Health: an instance is InService in a load balancer `health_delay`
seconds (a setting) after it is both running and registered, and Healthy
in its group (EC2 health checks) from its launch; unless the test said it
fails its health checks, per instance (POST /_fake/instances/<id>
{"healthy": false}) or per image (POST /_fake/images/<id> {"healthy":
false}): then, once it runs, the load balancer keeps it OutOfService and
the group marks it Unhealthy (and, unlike AWS, does not replace it, so
that a test sees a steady state).
"""

import base64
import binascii
import hashlib

import state as _state  # (state imports this module: look iso up late)

DEFAULT_SUBNET = "subnet-00000000000000001"
GROUP_TAG = "aws:autoscaling:groupName"


class World:
    def __init__(self, store):
        self.store = store
        self.launch_configs = {}  # name -> dict
        self.templates = {}       # lt- id -> dict
        self.groups = {}          # name -> dict
        self.elbs = {}            # name -> dict
        self.activities = []

    # ------------------------------------------------------------ helpers
    def arn(self, service, rest):
        s = self.store.settings
        return "arn:aws:%s:%s:%s:%s" % (service, s["region"], s["account_id"],
                                        rest)

    def template_by_name(self, name):
        for t in self.templates.values():
            if t["name"] == name:
                return t
        return None

    # ------------------------------------------------------------ creation
    def add_launch_config(self, name, image_id, instance_type="m1.small",
                          **extra):
        lc = {"name": name, "image_id": image_id,
              "instance_type": instance_type, "key_name": None,
              "security_groups": [], "user_data": "",
              "iam_instance_profile": None, "kernel_id": None,
              "ramdisk_id": None, "block_devices": [], "monitoring": True,
              "ebs_optimized": False, "associate_public_ip": None,
              "placement_tenancy": None, "metadata_options": {},
              "spot_price": None, "created": self.store.now(),
              "arn": self.arn("autoscaling", "launchConfiguration:%s:"
                              "launchConfigurationName/%s"
                              % (self.store.new_id("x")[2:10], name))}
        lc.update(extra)
        self.launch_configs[name] = lc
        return lc

    def add_template(self, name, data, description=None, tags=None):
        tid = self.store.new_id("lt")
        tpl = {"id": tid, "name": name, "created": self.store.now(),
               "created_by": "arn:aws:iam::%s:root"
                             % self.store.settings["account_id"],
               "default_version": 1, "latest_version": 0, "next_number": 1,
               "versions": {}, "client_tokens": {}, "tags": dict(tags or {})}
        self.templates[tid] = tpl
        self.add_version(tpl, data, description)
        return tpl

    def add_version(self, tpl, data, description=None):
        n = tpl["next_number"]
        tpl["next_number"] += 1
        tpl["versions"][n] = {"number": n, "description": description,
                              "created": self.store.now(), "data": dict(data)}
        tpl["latest_version"] = max(tpl["versions"])
        return tpl["versions"][n]

    def resolve_version(self, tpl, spec):
        """A version dict for '$Latest', '$Default' or 'N', or None."""
        if spec in (None, "", "$Default"):
            n = tpl["default_version"]
        elif spec == "$Latest":
            n = tpl["latest_version"]
        else:
            try:
                n = int(spec)
            except ValueError:
                return None
        return tpl["versions"].get(n)

    def add_elb(self, name, **extra):
        region = self.store.settings["region"]
        elb = {"name": name, "created": self.store.now(),
               "dns": "%s-%d.%s.elb.amazonaws.com" % (
                   name, int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
                   % 10 ** 9, region),
               "azs": [region + "a", region + "b"],
               "listeners": [("HTTP", 80, "HTTP", 80)],
               "health_target": "HTTP:80/", "instances": {}}
        elb.update(extra)
        self.elbs[name] = elb
        return elb

    def add_group(self, name, min_size, max_size, desired, lc=None, lt=None,
                  elbs=(), health_check_type="EC2", grace=300):
        region = self.store.settings["region"]
        g = {"name": name, "min": min_size, "max": max_size,
             "desired": desired, "lc": lc, "lt": lt, "elbs": list(elbs),
             "health_check_type": health_check_type, "grace": grace,
             "cooldown": 300, "azs": [region + "a", region + "b"],
             "created": self.store.now(), "members": {}, "tags": {},
             "termination_policies": ["Default"], "last_error": None,
             "arn": self.arn("autoscaling", "autoScalingGroup:%s:"
                             "autoScalingGroupName/%s"
                             % (self.store.new_id("x")[2:10], name))}
        self.groups[name] = g
        return g

    # ------------------------------------------------------------ sources
    def current_source(self, g):
        """(key, spec) of the group's launch source: key identifies it
        the way members record theirs; spec is the instance spec, or a
        str saying why nothing can be launched."""
        if g["lc"] is not None:
            lc = self.launch_configs.get(g["lc"])
            if lc is None:
                return ("lc", g["lc"]), "launch configuration %s does " \
                    "not exist" % g["lc"]
            return ("lc", g["lc"]), self._spec(
                g, lc["image_id"], lc["instance_type"], lc["user_data"],
                lc["key_name"], lc["security_groups"],
                lc["iam_instance_profile"])
        tpl = self.templates.get(g["lt"]["id"])
        ver = self.resolve_version(tpl, g["lt"]["version"]) if tpl else None
        if ver is None:
            return ("lt", g["lt"]["id"], g["lt"]["version"]), \
                "launch template %s version %s does not exist" % (
                    g["lt"]["id"], g["lt"]["version"])
        d = ver["data"]
        groups = [v for k, v in sorted(d.items())
                  if k.startswith("SecurityGroupId.")]
        profile = d.get("IamInstanceProfile.Name") or \
            (d.get("IamInstanceProfile.Arn") or "").rsplit("/", 1)[-1] or None
        return ("lt", tpl["id"], str(ver["number"])), self._spec(
            g, d.get("ImageId"), d.get("InstanceType", "m1.small"),
            d.get("UserData", ""), d.get("KeyName"), groups, profile)

    def source_image(self, g):
        key, spec = self.current_source(g)
        return spec["image_id"] if isinstance(spec, dict) else None

    def _spec(self, g, image_id, itype, user_data, key, groups, profile):
        store = self.store
        img = store.images.get(image_id or "")
        if img is None:
            return "The image id '[%s]' does not exist" % image_id
        if img["state"] != "available":
            return "The image %s is %s" % (image_id, img["state"])
        try:
            data = base64.b64decode(user_data or "", validate=True)
        except (binascii.Error, ValueError):
            data = (user_data or "").encode()
        return {"image_id": image_id, "instance_type": itype,
                "user_data": data, "shutdown_behavior": "terminate",
                "subnet_id": DEFAULT_SUBNET,
                "vpc_id": "vpc-" + hashlib.sha1(
                    DEFAULT_SUBNET.encode()).hexdigest()[:17],
                "security_groups": list(groups or []), "key_name": key,
                "iam_instance_profile": profile,
                "profile_arn": "arn:aws:iam::%s:instance-profile/%s" % (
                    store.settings["account_id"], profile) if profile
                else None,
                "client_token": None, "tags": {GROUP_TAG: g["name"]}}

    # ------------------------------------------------------------ health
    def unhealthy(self, inst):
        if inst.get("healthy") is False:
            return True
        img = self.store.images.get(inst["image_id"])
        return bool(img and img.get("healthy") is False)

    def elb_health(self, elb, iid):
        """(State, ReasonCode, Description) of a registered instance."""
        inst = self.store.instances.get(iid)
        if inst is None or inst["state"] in ("terminated", "shutting-down"):
            return ("OutOfService", "Instance",
                    "Instance is in terminated state.")
        if inst["state"] != "running":
            return ("OutOfService", "Instance",
                    "Instance is in %s state." % inst["state"])
        if self.unhealthy(inst):
            return ("OutOfService", "Instance",
                    "Instance has failed at least the UnhealthyThreshold "
                    "number of health checks consecutively.")
        since = max(elb["instances"][iid], inst.get("running_at") or 0)
        if self.store.now() < since + float(
                self.store.settings["health_delay"]):
            return ("OutOfService", "ELB",
                    "Instance registration is still in progress.")
        return ("InService", "N/A", "N/A")

    def member_health(self, m, inst):
        """EC2 health checks: Healthy while pending or running, unless
        the test said the instance fails them (then from its start)."""
        if inst is None or inst["state"] not in ("pending", "running"):
            return "Unhealthy"
        if inst["state"] == "running" and self.unhealthy(inst):
            return "Unhealthy"
        return "Healthy"

    # ------------------------------------------------------------ ELB
    def register(self, elb, iid, at=None):
        if iid not in elb["instances"]:
            elb["instances"][iid] = self.store.now() if at is None else at

    def deregister(self, elb, iid):
        elb["instances"].pop(iid, None)

    # ------------------------------------------------------------ changes
    def activity(self, g, description, cause, status="Successful",
                 message=None):
        h = self.store.new_id("a")[2:] + self.store.new_id("a")[2:]
        now = self.store.now()
        act = {"id": "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20],
                                         h[20:32]),
               "group": g["name"], "description": description,
               "cause": cause, "start": now, "status": status,
               "end": None if status == "InProgress" else now,
               "message": message}
        self.activities.append(act)
        return act

    def terminate_member(self, g, iid, cause):
        m = g["members"][iid]
        m["lifecycle"] = "Terminating"
        for name in g["elbs"]:
            if name in self.elbs:
                self.deregister(self.elbs[name], iid)
        inst = self.store.instances.get(iid)
        if inst is not None:
            self.store.terminate(inst)
        return self.activity(g, "Terminating EC2 instance: %s" % iid, cause,
                             status="InProgress")

    def _launch(self, g, count):
        key, spec = self.current_source(g)
        store = self.store
        if isinstance(spec, dict):
            room = int(store.settings["max_instances"]) - \
                len(store.live_instances())
            if room < count:
                spec = "You have requested more instances (%d) than your " \
                    "current instance limit of %d allows" % (
                        count, int(store.settings["max_instances"]))
        if not isinstance(spec, dict):
            if g["last_error"] != spec:
                g["last_error"] = spec
                self.activity(g, "Launching a new EC2 instance.  Status "
                              "Reason: %s. Launching EC2 instance failed."
                              % spec, "capacity below desired", "Failed",
                              spec)
            return
        g["last_error"] = None
        _, insts = store.launch(spec, count)
        for inst in insts:
            g["members"][inst["instance_id"]] = {
                "lifecycle": "Pending", "source": key,
                "az": g["azs"][len(g["members"]) % len(g["azs"])]}
            self.activity(g, "Launching a new EC2 instance: %s"
                          % inst["instance_id"], "an instance was started "
                          "in response to a difference between desired and "
                          "actual capacity, increasing the capacity from %d "
                          "to %d" % (len(g["members"]) - 1, g["desired"]))

    def tick(self):
        for g in self.groups.values():
            self._reconcile(g)

    def _reconcile(self, g):
        store = self.store
        for iid, m in list(g["members"].items()):
            inst = store.instances.get(iid)
            state = inst["state"] if inst else "terminated"
            if m["lifecycle"] == "Terminating":
                if state == "terminated":
                    del g["members"][iid]
                continue
            if state in ("shutting-down", "terminated", "stopping",
                         "stopped"):
                for name in g["elbs"]:
                    if name in self.elbs:
                        self.deregister(self.elbs[name], iid)
                del g["members"][iid]
                continue
            if state == "running" and m["lifecycle"] == "Pending":
                m["lifecycle"] = "InService"
                for name in g["elbs"]:
                    if name in self.elbs:
                        self.register(self.elbs[name], iid)
        active = [i for i, m in g["members"].items()
                  if m["lifecycle"] != "Terminating"]
        if len(active) >= g["desired"]:
            g["last_error"] = None
        if len(active) < g["desired"]:
            self._launch(g, g["desired"] - len(active))
        elif len(active) > g["desired"]:
            current, _ = self.current_source(g)

            def order(iid):
                inst = store.instances.get(iid)
                return (g["members"][iid]["source"] == current,
                        -(inst["launch_time"] if inst else 0))
            for iid in sorted(active, key=order)[:len(active) -
                                                 g["desired"]]:
                self.terminate_member(g, iid, "an instance was taken out "
                                      "of service in response to a "
                                      "difference between desired and "
                                      "actual capacity")

    def make_ready(self, g):
        """Seeding: the group's instances as if launched an hour ago,
        running, InService and registered (healthy at once)."""
        self._reconcile(g)
        past = self.store.now() - 3600
        for iid, m in g["members"].items():
            inst = self.store.instances[iid]
            if inst["state"] == "pending":
                inst["epoch"] += 1  # the scheduled 'running' is stale now
                inst["state"], inst["state_reason"] = "running", None
                inst["running_at"] = past
                inst["launch_time"] = past
                inst["history"].append({"state": "running",
                                        "at": _state.iso(past)})
                inst["script"] = "seeded"
            m["lifecycle"] = "InService"
            for name in g["elbs"]:
                if name in self.elbs:
                    self.register(self.elbs[name], iid, past)

    # ------------------------------------------------------------ views
    def group_view(self, g):
        key, _ = self.current_source(g)
        insts = []
        for iid, m in g["members"].items():
            inst = self.store.instances.get(iid)
            insts.append({"instance_id": iid, "lifecycle": m["lifecycle"],
                          "health": self.member_health(m, inst),
                          "state": inst["state"] if inst else None,
                          "image_id": inst["image_id"] if inst else None,
                          "source": ":".join(m["source"])})
        elbs = {}
        for name in g["elbs"]:
            elb = self.elbs.get(name)
            elbs[name] = sorted(elb["instances"]) if elb else None
        return {"name": g["name"], "min": g["min"], "max": g["max"],
                "desired": g["desired"], "launch_configuration": g["lc"],
                "launch_template": dict(g["lt"]) if g["lt"] else None,
                "source": ":".join(key), "image_id": self.source_image(g),
                "load_balancers": g["elbs"], "registered": elbs,
                "health_check_type": g["health_check_type"],
                "instances": insts,
                "instance_ids": sorted(i["instance_id"] for i in insts),
                "last_error": g["last_error"]}

    def elb_view(self, elb):
        return {"name": elb["name"], "dns_name": elb["dns"],
                "instances": [dict(zip(("instance_id", "state",
                                        "reason_code", "description"),
                                       (iid,) + self.elb_health(elb, iid)))
                              for iid in elb["instances"]]}

    def snapshot(self):
        return {
            "groups": [self.group_view(g) for g in self.groups.values()],
            "load_balancers": [self.elb_view(e) for e in self.elbs.values()],
            "launch_configurations": [
                dict(lc, created=_state.iso(lc["created"]))
                for lc in self.launch_configs.values()],
            "launch_templates": [{
                "id": t["id"], "name": t["name"],
                "default_version": t["default_version"],
                "latest_version": t["latest_version"],
                "versions": {str(n): dict(v["data"],
                                          description=v["description"])
                             for n, v in t["versions"].items()}}
                for t in self.templates.values()],
            "activities": [dict(a, start=_state.iso(a["start"]),
                                end=_state.iso(a["end"]) if a["end"]
                                else None) for a in self.activities],
        }
