"""EC2 Query protocol plumbing: request parameters, errors, XML rendering,
filters and pagination tokens.  The actions themselves are in ec2_actions.py.

Parameters arrive flattened, as the Query protocol sends them:
    InstanceId.1=i-..&InstanceId.2=i-..
    Filter.1.Name=tag:Name&Filter.1.Value.1=web*
    TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=k
"""

import base64
import json
import re
import uuid
from xml.sax.saxutils import escape

XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"
API_VERSION = "2016-11-15"

# allowed-parameter patterns shared by several actions
TAG_SPEC = r"TagSpecification\.\d+\.(ResourceType|Tag\.\d+\.(Key|Value))"
FILTER = r"Filter\.\d+\.(Name|Value\.\d+)"
PAGING = [r"MaxResults", r"NextToken"]


class Ec2Error(Exception):
    """An EC2 error answer: code, message, HTTP status."""

    def __init__(self, code, message, status=400):
        super().__init__("%s: %s" % (code, message))
        self.code, self.message, self.status = code, message, status


def missing(name):
    return Ec2Error("MissingParameter",
                    "The request must contain the parameter %s" % name)


def bad_value(name, value, why=""):
    return Ec2Error("InvalidParameterValue",
                    "Invalid value '%s' for %s%s" % (value, name,
                                                     (". " + why) if why
                                                     else "."))


def request_id():
    return str(uuid.uuid4())


# ---------------------------------------------------------------- XML

def _render(tag, value, out, depth):
    pad = "    " * depth
    if value is None:
        return
    if isinstance(value, bool):
        out.append("%s<%s>%s</%s>" % (pad, tag, "true" if value else "false",
                                      tag))
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("%s<%s/>" % (pad, tag))
            return
        out.append("%s<%s>" % (pad, tag))
        for child_tag, child in value:
            _render(child_tag, child, out, depth + 1)
        out.append("%s</%s>" % (pad, tag))
    else:
        out.append("%s<%s>%s</%s>" % (pad, tag, escape(str(value)), tag))


def response_xml(action, rid, fields):
    """Success document: <ActionResponse xmlns=...><requestId/>fields...
    `fields` is a list of (tag, value); a value is a str/int/bool (text),
    None (element left out) or a list of (tag, value) (nested)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<%sResponse xmlns="%s">' % (action, XMLNS),
           "    <requestId>%s</requestId>" % rid]
    for tag, value in fields:
        _render(tag, value, out, 1)
    out.append("</%sResponse>" % action)
    return ("\n".join(out) + "\n").encode("utf-8")


def error_xml(code, message, rid):
    """EC2's error document (note RequestID, not requestId)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            "<Response><Errors><Error><Code>%s</Code><Message>%s</Message>"
            "</Error></Errors><RequestID>%s</RequestID></Response>"
            % (escape(code), escape(message), rid)).encode("utf-8")


def tag_set(tags):
    return [("item", [("key", k), ("value", v)]) for k, v in tags.items()]


def items(values):
    return [("item", v) for v in values]


# ---------------------------------------------------------------- parameters

class Params:
    """The flattened parameters of one call, with typed accessors.  Every
    name must match the action's allowed patterns (else UnknownParameter,
    as EC2 answers)."""

    def __init__(self, raw, allowed):
        self.raw = raw
        for name in raw:
            if not any(re.fullmatch(p, name) for p in allowed):
                raise Ec2Error("UnknownParameter",
                               "The parameter %s is not recognized" % name)

    def get(self, name, default=None):
        return self.raw.get(name, default)

    def req(self, name):
        value = self.raw.get(name)
        if value is None or value == "":
            raise missing(name)
        return value

    def int(self, name, default=None, lo=None, hi=None):
        value = self.raw.get(name)
        if value is None:
            return default
        try:
            n = int(value)
        except ValueError:
            raise bad_value(name, value)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise bad_value(name, value, "Value must be between %s and %s"
                            % (lo, hi))
        return n

    def bool(self, name, default=False):
        value = self.raw.get(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise bad_value(name, value)
        return value.lower() == "true"

    def list(self, prefix):
        """Values of prefix.1, prefix.2, ... in index order."""
        found = []
        for name, value in self.raw.items():
            m = re.fullmatch(re.escape(prefix) + r"\.(\d+)", name)
            if m:
                found.append((int(m.group(1)), value))
        return [v for _, v in sorted(found)]

    def structs(self, prefix):
        """{index: {rest-of-name: value}} for prefix.N.rest names."""
        out = {}
        for name, value in self.raw.items():
            m = re.fullmatch(re.escape(prefix) + r"\.(\d+)\.(.+)", name)
            if m:
                out.setdefault(int(m.group(1)), {})[m.group(2)] = value
        return [out[k] for k in sorted(out)]

    def filters(self):
        """[(name, [values])] from Filter.N.Name / Filter.N.Value.M."""
        result = []
        for st in self.structs("Filter"):
            if "Name" not in st:
                raise missing("Filter.Name")
            vals = [v for k, v in sorted(
                ((int(k.split(".")[1]), v) for k, v in st.items()
                 if re.fullmatch(r"Value\.\d+", k)))]
            result.append((st["Name"], vals))
        return result

    def tags(self, prefix="Tag"):
        """Ordered {key: value} from prefix.N.Key / prefix.N.Value."""
        tags = {}
        for st in self.structs(prefix):
            key = st.get("Key")
            if key is None:
                raise missing("%s.Key" % prefix)
            check_tag(key, st.get("Value", ""))
            tags[key] = st.get("Value", "")
        return tags

    def tag_specs(self, allowed_types):
        """{resource type: {key: value}} from TagSpecification.N.*."""
        specs = {}
        for st in self.structs("TagSpecification"):
            rtype = st.get("ResourceType")
            if rtype is None:
                raise missing("TagSpecification.ResourceType")
            if rtype not in allowed_types:
                raise Ec2Error("InvalidParameterValue",
                               "'%s' is not a valid taggable resource type "
                               "for this operation." % rtype)
            tags = specs.setdefault(rtype, {})
            keys = {}
            for k, v in st.items():
                m = re.fullmatch(r"Tag\.(\d+)\.(Key|Value)", k)
                if m:
                    keys.setdefault(int(m.group(1)), {})[m.group(2)] = v
            for n in sorted(keys):
                if "Key" not in keys[n]:
                    raise missing("TagSpecification.Tag.Key")
                check_tag(keys[n]["Key"], keys[n].get("Value", ""))
                tags[keys[n]["Key"]] = keys[n].get("Value", "")
        return specs


def check_tag(key, value):
    if not key or len(key) > 128:
        raise Ec2Error("InvalidParameterValue",
                       "Tag key exceeds the maximum length of 128 characters"
                       if key else "Tag key must not be empty")
    if len(value) > 256:
        raise Ec2Error("InvalidParameterValue",
                       "Tag value exceeds the maximum length of 256 "
                       "characters")
    if key.lower().startswith("aws:"):
        raise Ec2Error("InvalidParameterValue",
                       "Tag keys starting with 'aws:' are reserved for "
                       "internal use")


# ---------------------------------------------------------------- ids

ID_RE = r"%s-([0-9a-f]{8}|[0-9a-f]{17})"


def check_id(value, prefix, malformed_code):
    if not re.fullmatch(ID_RE % re.escape(prefix), value or ""):
        raise Ec2Error(malformed_code, 'Invalid id: "%s"' % value)


# ---------------------------------------------------------------- helpers

def dry_run(p):
    if p.bool("DryRun"):
        raise Ec2Error("DryRunOperation", "Request would have succeeded, but "
                       "DryRun flag is set.", 412)


def not_found_instances(ids):
    if len(ids) == 1:
        return Ec2Error("InvalidInstanceID.NotFound",
                        "The instance ID '%s' does not exist" % ids[0])
    return Ec2Error("InvalidInstanceID.NotFound",
                    "The instance IDs '%s' do not exist" % ", ".join(ids))


def not_found_images(ids):
    return Ec2Error("InvalidAMIID.NotFound",
                    "The image id%s '[%s]' do%s not exist"
                    % ("s" if len(ids) > 1 else "", ", ".join(ids),
                       "" if len(ids) > 1 else "es"))


def get_instances(store, ids):
    """Instances for ids (all well-formed, all existing) or raise."""
    for iid in ids:
        check_id(iid, "i", "InvalidInstanceID.Malformed")
    absent = [i for i in ids if i not in store.instances]
    if absent:
        raise not_found_instances(absent)
    return [store.instances[i] for i in ids]


# ---------------------------------------------------------------- filters

def _wildcard(pattern):
    """EC2 filter value: * any run, ? one char, backslash escapes."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.S)


def match_filters(resource, filters, getters):
    """True if the resource passes every filter.  getters: filter name ->
    function(resource) -> list of str.  'tag:KEY' is handled here for any
    resource with a 'tags' dict.  A filter matches if any of its values
    matches any of the resource's values."""
    for name, values in filters:
        if name.startswith("tag:"):
            tag = resource["tags"].get(name[4:])
            have = [] if tag is None else [tag]
        elif name in getters:
            have = [str(v) for v in getters[name](resource) if v is not None]
        else:
            raise Ec2Error("InvalidParameterValue",
                           "The filter '%s' is invalid" % name)
        pats = [_wildcard(v) for v in values]
        if not any(p.fullmatch(h) for p in pats for h in have):
            return False
    return True


def check_filters(filters, getters):
    for name, _ in filters:
        if not name.startswith("tag:") and name not in getters:
            raise Ec2Error("InvalidParameterValue",
                           "The filter '%s' is invalid" % name)


# ---------------------------------------------------------------- pagination

def page(action, items_, params, lo=5, hi=1000):
    """Slice items_ by MaxResults/NextToken.  Returns (page, next_token)."""
    max_results = params.int("MaxResults", None, lo, hi)
    token = params.get("NextToken")
    start = 0
    if token:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            start = int(data["o"])
            if data["a"] != action or start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise Ec2Error("InvalidPaginationToken",
                           "Invalid pagination token: %s" % token)
    if max_results is None:
        return items_[start:], None
    end = start + max_results
    nxt = None
    if end < len(items_):
        nxt = base64.urlsafe_b64encode(json.dumps(
            {"a": action, "o": end}).encode()).decode()
    return items_[start:end], nxt
