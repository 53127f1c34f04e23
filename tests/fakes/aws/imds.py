"""EC2 instance metadata service, IMDSv2 only (tokens required), under
/latest/ on the fake's port.

  PUT /latest/api/token   header X-aws-ec2-metadata-token-ttl-seconds: 1..21600
                          -> token (text); 400 if the header is missing or
                          out of range; 403 if X-Forwarded-For is present
  GET /latest/...         header X-aws-ec2-metadata-token: <token>
                          -> 401 without a valid, unexpired token

Served paths: meta-data/ (listing), ami-id, instance-id, instance-type,
local-ipv4, local-hostname, hostname, placement/region,
placement/availability-zone, tags/instance, tags/instance/<key>, iam/info,
iam/security-credentials/, iam/security-credentials/<role>, user-data and
dynamic/instance-identity/document.

Who the fake claims to be is set with POST /_fake/imds (see README.md).  If
`instance_id` names an instance the fake launched, its tags, image, type,
user-data and instance profile are served live; otherwise the configured
`tags` and `role`.  Role credentials are temporary keys (ASIA...) with a
session token, registered with the EC2 side, valid for `credentials_ttl`
seconds; new ones are issued once less than min(300 s, ttl/2) remains, and
old ones keep working until they expire (then EC2 says RequestExpired).
"""

import json
import secrets
import time
import urllib.parse

from state import iso

DEFAULT_INSTANCE = "i-0123456789abcdef0"
CONFIG_KEYS = ("instance_id", "region", "availability_zone", "tags",
               "tags_enabled", "role", "credentials_ttl", "instance_type",
               "image_id", "rotate")


class Imds:
    def __init__(self, store, creds):
        self.store, self.creds = store, creds
        self.reset()

    def reset(self):
        self.tokens = {}
        self.issued = None
        self.config = {"instance_id": DEFAULT_INSTANCE, "region": None,
                       "availability_zone": None, "tags": {},
                       "tags_enabled": True, "role": "fake-aws-role",
                       "credentials_ttl": 21600, "instance_type": "t3.micro",
                       "image_id": "ami-00000000000000001"}

    def configure(self, data):
        bad = set(data) - set(CONFIG_KEYS)
        if bad:
            raise ValueError("unknown imds settings: %s" % ", ".join(sorted(bad)))
        if "tags" in data and not isinstance(data["tags"], dict):
            raise ValueError("imds tags must be a JSON object")
        if data.pop("rotate", False) or "role" in data or \
                "credentials_ttl" in data:
            self.issued = None
        self.config.update(data)

    def view(self):
        out = dict(self.config)
        out["identity"] = {k: v for k, v in self._identity().items()
                           if k != "user_data"}
        if self.issued:
            out["credentials"] = {k: self.issued[k] for k in
                                  ("AccessKeyId", "Expiration")}
        return out

    # ------------------------------------------------------------ identity
    def _identity(self):
        c = self.config
        region = c["region"] or self.store.settings["region"]
        ident = {"instance_id": c["instance_id"], "region": region,
                 "availability_zone": c["availability_zone"] or region + "a",
                 "tags": c["tags"], "role": c["role"],
                 "instance_type": c["instance_type"],
                 "image_id": c["image_id"], "private_ip": "10.0.0.4",
                 "user_data": None, "launch_time": self.store.now()}
        inst = self.store.instances.get(c["instance_id"])
        if inst is not None:
            ident.update(tags=inst["tags"], image_id=inst["image_id"],
                         instance_type=inst["instance_type"],
                         private_ip=inst["private_ip"],
                         user_data=inst["user_data"],
                         launch_time=inst["launch_time"])
            if inst["iam_instance_profile"]:
                ident["role"] = inst["iam_instance_profile"]
        return ident

    def _credentials(self, role):
        now = self.store.now()
        ttl = float(self.config["credentials_ttl"])
        cur = self.issued
        if cur is None or cur["role"] != role or \
                cur["expires"] - now < min(300.0, ttl / 2):
            akid = "ASIA" + secrets.token_hex(8).upper()
            secret = secrets.token_urlsafe(30)
            token = "FQoGZXIvYXdzE" + secrets.token_urlsafe(90)
            expires = now + ttl
            self.creds.add(akid, secret, token, expires)
            cur = self.issued = {
                "role": role, "expires": expires, "Code": "Success",
                "LastUpdated": iso(now, millis=False), "Type": "AWS-HMAC",
                "AccessKeyId": akid, "SecretAccessKey": secret,
                "Token": token, "Expiration": iso(expires, millis=False)}
        return {k: cur[k] for k in ("Code", "LastUpdated", "Type",
                                    "AccessKeyId", "SecretAccessKey", "Token",
                                    "Expiration")}

    # ------------------------------------------------------------ requests
    def handle(self, method, path, headers):
        """-> (status, body bytes, extra headers).  Call with store.lock."""
        path = urllib.parse.urlsplit(path).path
        if path == "/latest/api/token":
            if method != "PUT":
                return 405, b"Method Not Allowed", {}
            if headers.get("X-Forwarded-For") is not None:
                return 403, b"Forbidden", {}
            ttl = headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            try:
                ttl = int(ttl)
            except (TypeError, ValueError):
                return 400, b"Bad Request", {}
            if not 1 <= ttl <= 21600:
                return 400, b"Bad Request", {}
            token = "AQAEA" + secrets.token_urlsafe(40)
            self.tokens[token] = time.monotonic() + ttl
            return 200, token.encode(), {
                "X-aws-ec2-metadata-token-ttl-seconds": str(ttl)}
        if method not in ("GET", "HEAD"):
            return 405, b"Method Not Allowed", {}
        token = headers.get("X-aws-ec2-metadata-token")
        expiry = self.tokens.get(token) if token else None
        if expiry is None or expiry < time.monotonic():
            return 401, b"Unauthorized", {}
        body = self._get(path)
        if body is None:
            return 404, b"Not Found", {}
        return 200, body if isinstance(body, bytes) else body.encode(), {}

    def _get(self, path):
        ident = self._identity()
        rest = path[len("/latest/"):]
        if rest == "user-data":
            return ident["user_data"] or None
        if rest == "dynamic/instance-identity/document":
            return json.dumps({
                "accountId": self.store.settings["account_id"],
                "architecture": "x86_64",
                "availabilityZone": ident["availability_zone"],
                "imageId": ident["image_id"],
                "instanceId": ident["instance_id"],
                "instanceType": ident["instance_type"],
                "pendingTime": iso(ident["launch_time"], millis=False),
                "privateIp": ident["private_ip"], "region": ident["region"],
                "version": "2017-09-30"}, indent=2)
        if not rest.startswith("meta-data"):
            return None
        md = rest[len("meta-data"):].strip("/")
        hostname = "ip-%s.%s.compute.internal" % (
            ident["private_ip"].replace(".", "-"), ident["region"])
        simple = {"ami-id": ident["image_id"],
                  "instance-id": ident["instance_id"],
                  "instance-type": ident["instance_type"],
                  "local-ipv4": ident["private_ip"],
                  "local-hostname": hostname, "hostname": hostname,
                  "placement/region": ident["region"],
                  "placement/availability-zone": ident["availability_zone"],
                  "placement": "availability-zone\nregion"}
        if md == "":
            listing = ["ami-id", "hostname", "iam/", "instance-id",
                       "instance-type", "local-hostname", "local-ipv4",
                       "placement/"]
            if self.config["tags_enabled"]:
                listing.append("tags/")
            return "\n".join(listing)
        if md in simple:
            return simple[md]
        if md.startswith("tags"):
            if not self.config["tags_enabled"]:
                return None
            if md == "tags":
                return "instance"
            if md == "tags/instance":
                return "\n".join(ident["tags"])
            key = urllib.parse.unquote(md[len("tags/instance/"):])
            if md.startswith("tags/instance/") and key in ident["tags"]:
                return ident["tags"][key]
            return None
        role = ident["role"]
        if md == "iam" and role:
            return "info\nsecurity-credentials/"
        if md == "iam/info" and role:
            return json.dumps({
                "Code": "Success", "LastUpdated": iso(self.store.now(), False),
                "InstanceProfileArn": "arn:aws:iam::%s:instance-profile/%s"
                % (self.store.settings["account_id"], role),
                "InstanceProfileId": "AIPAFAKEFAKEFAKEFAKE"}, indent=2)
        if md == "iam/security-credentials" and role:
            return role
        if role and md == "iam/security-credentials/" + role:
            return json.dumps(self._credentials(role), indent=2)
        return None
