"""The fake's world: settings, clock, instances, images, snapshots, tags,
and the timed state machine that moves them along.

Timing is lazy: every transition is an event with a due time on the
monotonic clock, and advance() (called under the lock before anything reads
or changes state) applies the events that are due, in order.  No thread
ticks in the background, so the fake stays idle and deterministic; each
transition is stamped with the wall-clock time it was due.

Instance life (EC2 state codes in brackets):
  pending[0] --run_delay--> running[16] --script--> (user-data outcome)
    success/fail + poweroff: running -> stopping[64] -> stopped[80]
        (or shutting-down[32] -> terminated[48] with shutdown behaviour
        'terminate')
    hang: stays running
  StopInstances: running -> stopping --stop_delay--> stopped
  TerminateInstances: any -> shutting-down --terminate_delay--> terminated
Image: pending --image_delay--> available (or failed).
"""

import datetime
import heapq
import itertools
import random
import threading
import time

import asg_world
import userdata

DEFAULTS = {
    "region": "us-west-2",
    "account_id": "123456789012",
    "clock_skew": 0.0,        # seconds added to the fake's wall clock
    "run_delay": 0.2,         # pending -> running
    "script_delay": 0.2,      # running -> user-data finished
    "stop_delay": 0.1,        # stopping -> stopped
    "terminate_delay": 0.1,   # shutting-down -> terminated
    "image_delay": 0.3,       # image pending -> available / failed
    "image_outcome": "available",
    "default_outcome": "success",  # user-data with no outcome directive
    "default_exit": 1,        # exit status of a failing script
    "max_instances": 20,      # live instances allowed (InstanceLimitExceeded)
    "health_delay": 0.3,      # running + registered -> InService / Healthy
}

STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32,
               "terminated": 48, "stopping": 64, "stopped": 80}

BASE_IMAGE = {"image_id": "ami-00000000000000001",
              "name": "fake-base-centos-7", "owner_id": "137112412989",
              "owner_alias": "amazon", "public": True,
              "description": "Fake base image seeded by fake_aws"}


def iso(ts, millis=True):
    """POSIX seconds -> '2016-11-15T12:00:00.000Z' (EC2's timestamp form)."""
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (
            dt.microsecond // 1000)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    def __init__(self, settings=None, seed=None, images=()):
        self.lock = threading.RLock()
        self.startup = dict(DEFAULTS, **(settings or {}))
        self.seed_images = [BASE_IMAGE] + list(images)
        self.rng = random.Random(seed)
        self.reset()

    # ------------------------------------------------------------ basics
    def reset(self):
        with self.lock:
            self.settings = dict(self.startup)
            self.instances = {}   # id -> dict, in launch order
            self.images = {}
            self.snapshots = {}
            self.client_tokens = {}  # RunInstances ClientToken -> reservation
            self.events = []  # heap of (due, seq, kind, resource id, epoch)
            self.cursor = None
            self.seq = itertools.count()
            self.asg = asg_world.World(self)  # Auto Scaling, ELB, templates
            for img in self.seed_images:
                self.add_image(**img)

    def now(self):
        """The fake's wall clock (real time plus the configured skew)."""
        return time.time() + float(self.settings["clock_skew"])

    def new_id(self, prefix):
        """A new EC2-style id: prefix, '-', 17 hex digits."""
        return "%s-%017x" % (prefix, self.rng.getrandbits(68))

    def schedule(self, delay, kind, rid, epoch):
        """Queue an event `delay` seconds from now, or, when an event being
        applied schedules the next one, from the time that event was due
        (so a chain of transitions keeps its timing however late it is
        looked at)."""
        base = self.cursor if self.cursor is not None else time.monotonic()
        heapq.heappush(self.events, (base + max(0.0, delay),
                                     next(self.seq), kind, rid, epoch))

    def advance(self):
        """Apply every event that is due (call with the lock held)."""
        mono = time.monotonic()
        while self.events and self.events[0][0] <= mono:
            due, _, kind, rid, epoch = heapq.heappop(self.events)
            at = self.now() - (mono - due)  # wall time the event was due
            self.cursor = due
            try:
                if kind.startswith("image"):
                    self._image_event(kind, rid, epoch, at)
                else:
                    self._instance_event(kind, rid, epoch, at)
            finally:
                self.cursor = None
        self.asg.tick()

    # ------------------------------------------------------------ instances
    def _set_state(self, inst, state, at, reason=None):
        inst["state"] = state
        if state == "running":
            inst["running_at"] = at
        inst["history"].append({"state": state, "at": iso(at)})
        if reason is not None:
            inst["state_reason"] = reason
        if state in ("stopped", "terminated"):
            inst["transition_reason"] = "%s (%s)" % (
                reason[1] if reason else "User initiated",
                iso(at, millis=False).replace("T", " ").replace("Z", " GMT"))

    def launch(self, spec, count):
        """Create `count` instances from spec (a dict built by the EC2
        layer).  Returns the reservation id and the instances."""
        now = self.now()
        rid = self.new_id("r")
        made = []
        plan_error = None
        try:
            plan = userdata.parse(spec["user_data"])
        except (userdata.PlanError, ValueError) as err:
            plan, plan_error = userdata.Plan(), str(err)
            plan.outcome = "fail"
        for idx in range(count):
            iid = self.new_id("i")
            n = len(self.instances) + 10
            inst = dict(spec, instance_id=iid, reservation_id=rid,
                        launch_index=idx, launch_time=now, state="pending",
                        epoch=0, history=[], console=[], plan=plan,
                        outcome=None, exit=None, script="not started",
                        state_reason=("pending", "pending"),
                        transition_reason="",
                        private_ip="10.0.%d.%d" % (n // 250, n % 250 + 4),
                        tags=dict(spec.get("tags", {})))
            inst["history"].append({"state": "pending", "at": iso(now)})
            if plan_error:
                inst["console"].append("fake-aws: bad directive: " + plan_error)
            self.instances[iid] = inst
            self.schedule(self.settings["run_delay"], "running", iid, 0)
            made.append(inst)
        return rid, made

    def live_instances(self):
        return [i for i in self.instances.values()
                if i["state"] != "terminated"]

    def _outcome(self, inst):
        plan = inst["plan"]
        outcome = inst["outcome"] or plan.outcome or \
            self.settings["default_outcome"]
        code = inst["exit"] if inst["exit"] is not None else plan.exit
        if outcome == "success":
            code = 0
        elif outcome == "fail" and not code:
            code = int(self.settings["default_exit"]) or 1
        return outcome, code

    def _instance_event(self, kind, iid, epoch, at):
        inst = self.instances.get(iid)
        if inst is None or inst["epoch"] != epoch:
            return  # stale: an API call moved the instance on since
        if kind == "running" and inst["state"] == "pending":
            self._set_state(inst, "running", at, ("", ""))
            inst["state_reason"] = None
            inst["console"] += [
                "[    0.000000] Linux version 3.10.0-fake (fake-aws) #1 SMP",
                "[    1.000000] cloud-init[812]: Cloud-init v. 18.5 running "
                "'modules:final' at %s." % iso(at, millis=False),
            ]
            inst["script"] = "running"
            delay = inst["plan"].delay
            self.schedule(self.settings["script_delay"] if delay is None
                          else delay, "script", iid, epoch)
        elif kind == "script" and inst["state"] == "running":
            self._finish_script(inst, at)
        elif kind == "stopped" and inst["state"] == "stopping":
            self._set_state(inst, "stopped", at, inst["state_reason"])
        elif kind == "terminated" and inst["state"] == "shutting-down":
            self._set_state(inst, "terminated", at, inst["state_reason"])

    def _finish_script(self, inst, at):
        plan = inst["plan"]
        outcome, code = self._outcome(inst)
        if inst["script"] == "running":
            inst["console"] += plan.output
        if outcome == "hang":
            inst["script"] = "hung"
            return
        inst["script"] = "exited %d" % code
        if plan.wrapper:
            inst["console"].append("%s: %d" % (userdata.STATUS_MARKER, code))
        elif code != 0:
            inst["console"].append(
                "[   60.000000] cloud-init[812]: Failed to run module "
                "scripts-user (scripts in /var/lib/cloud/instance/scripts)")
        if plan.wrapper or (plan.poweroff and code == 0):
            inst["console"] += ["[  OK  ] Reached target Power-Off.",
                                "reboot: Power down"]
            self._shutdown(inst, at, "Client.InstanceInitiatedShutdown",
                           "Client.InstanceInitiatedShutdown: Instance "
                           "initiated shutdown",
                           inst["shutdown_behavior"] == "terminate")

    def _shutdown(self, inst, at, code, message, terminate):
        inst["epoch"] += 1
        if terminate:
            self._set_state(inst, "shutting-down", at, (code, message))
            self.schedule(self.settings["terminate_delay"], "terminated",
                          inst["instance_id"], inst["epoch"])
        else:
            self._set_state(inst, "stopping", at, (code, message))
            self.schedule(self.settings["stop_delay"], "stopped",
                          inst["instance_id"], inst["epoch"])

    def stop(self, inst):
        """StopInstances on one instance; returns (previous, current)."""
        prev = inst["state"]
        if prev == "running":
            self._shutdown(inst, self.now(), "Client.UserInitiatedShutdown",
                           "Client.UserInitiatedShutdown: User initiated "
                           "shutdown", False)
        return prev, inst["state"]

    def terminate(self, inst):
        prev = inst["state"]
        if prev not in ("shutting-down", "terminated"):
            self._shutdown(inst, self.now(), "Client.UserInitiatedShutdown",
                           "Client.UserInitiatedShutdown: User initiated "
                           "shutdown", True)
        return prev, inst["state"]

    def control_instance(self, inst, outcome=None, exit=None, console=None):
        """Control API: override an instance's simulated script."""
        if outcome is not None:
            if outcome not in userdata.OUTCOMES:
                raise ValueError("outcome must be success, fail or hang")
            inst["outcome"] = outcome
        if exit is not None:
            inst["exit"] = int(exit)
            if outcome is None:
                inst["outcome"] = "success" if inst["exit"] == 0 else "fail"
        if console:
            inst["console"].append(str(console))
        if inst["script"] == "hung" and inst["state"] == "running" and \
                inst["outcome"] not in (None, "hang"):
            self._finish_script(inst, self.now())

    # ------------------------------------------------------------ images
    def add_image(self, image_id=None, name="", owner_id=None,
                  owner_alias=None, public=False, description=None,
                  state="available", tags=None, source_instance=None,
                  snapshot_id=None):
        iid = image_id or self.new_id("ami")
        img = {"image_id": iid, "name": name, "description": description,
               "owner_id": owner_id or self.settings["account_id"],
               "owner_alias": owner_alias, "public": bool(public),
               "state": state, "creation_date": self.now(),
               "available_at": self.now() if state == "available" else None,
               "source_instance": source_instance, "outcome": None,
               "snapshot_id": snapshot_id or self.new_id("snap"),
               "state_reason": None, "tags": dict(tags or {})}
        self.images[iid] = img
        return img

    def create_image(self, inst, name, description, image_tags, snap_tags):
        snap_id = self.new_id("snap")
        img = self.add_image(name=name, description=description,
                             state="pending", tags=image_tags,
                             source_instance=inst["instance_id"],
                             snapshot_id=snap_id)
        self.snapshots[snap_id] = {
            "snapshot_id": snap_id, "volume_id": self.new_id("vol"),
            "state": "pending", "progress": "0%", "start_time": self.now(),
            "volume_size": 8, "owner_id": self.settings["account_id"],
            "description": "Created by CreateImage(%s) for %s"
                           % (inst["instance_id"], img["image_id"]),
            "tags": dict(snap_tags)}
        self.schedule(self.settings["image_delay"], "image_done",
                      img["image_id"], 0)
        return img

    def _image_event(self, kind, image_id, epoch, at):
        img = self.images.get(image_id)
        if img is None or img["state"] != "pending":
            return
        outcome = img["outcome"] or self.settings["image_outcome"]
        snap = self.snapshots.get(img["snapshot_id"])
        if outcome == "available":
            img["state"], img["available_at"] = "available", at
            if snap:
                snap.update(state="completed", progress="100%")
        else:
            img["state"] = "failed"
            img["state_reason"] = ("Client.CustomerError",
                                   "Client.CustomerError: fake-aws was told "
                                   "to fail this image")
            if snap:
                snap["state"] = "error"

    # ------------------------------------------------------------ tags
    def resource(self, rid):
        """(type, dict) for an instance, image or snapshot id, else None."""
        for kind, table in (("instance", self.instances),
                            ("image", self.images),
                            ("snapshot", self.snapshots)):
            if rid in table:
                return kind, table[rid]
        return None

    def all_tags(self):
        for kind, table in (("instance", self.instances),
                            ("image", self.images),
                            ("snapshot", self.snapshots)):
            for rid, res in table.items():
                for key, value in res["tags"].items():
                    yield rid, kind, key, value

    # ------------------------------------------------------------ JSON view
    def snapshot(self):
        """Everything, as JSON-able data, for GET /_fake/state."""
        def inst_view(i):
            v = {k: i[k] for k in (
                "instance_id", "image_id", "instance_type", "state",
                "reservation_id", "key_name", "subnet_id", "security_groups",
                "iam_instance_profile", "shutdown_behavior", "tags", "script",
                "history", "console", "client_token")}
            v["launch_time"] = iso(i["launch_time"])
            v["user_data_bytes"] = len(i["user_data"])
            v["plan"] = i["plan"].as_dict()
            v["outcome"], v["exit"] = i["outcome"], i["exit"]
            v["healthy"] = i.get("healthy", True)
            return v

        def img_view(m):
            v = dict(m)
            v["creation_date"] = iso(m["creation_date"])
            v["available_at"] = iso(m["available_at"]) \
                if m["available_at"] else None
            return v

        def snap_view(s):
            return dict(s, start_time=iso(s["start_time"]))

        return dict({
            "now": iso(self.now()),
            "settings": dict(self.settings),
            "instances": [inst_view(i) for i in self.instances.values()],
            "live_instances": [i["instance_id"]
                               for i in self.live_instances()],
            "images": [img_view(m) for m in self.images.values()],
            "snapshots": [snap_view(s) for s in self.snapshots.values()],
            "tags": [{"resource_id": r, "resource_type": t, "key": k,
                      "value": v} for r, t, k, v in self.all_tags()],
        }, **self.asg.snapshot())
