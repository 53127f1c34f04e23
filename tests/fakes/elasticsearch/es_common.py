"""Shared pieces of the fake Elasticsearch: the version it plays, the error
shape every REST error has, and the parsing rules Elasticsearch applies to
request parameters (strict booleans, time values, index expressions).
"""

import fnmatch
import re


class EsError(Exception):
    """An Elasticsearch REST error.

    body(): the shape the real server sends,
        {"error": {"root_cause": [{type, reason, ...}], "type", "reason",
                   ...}, "status": N}
    or, for the few handlers that answer with a bare message (unknown URL,
    wrong method, missing alias), {"error": "message", "status": N}.
    """

    def __init__(self, status, etype, reason, bare=False, headers=None,
                 **extra):
        super().__init__(reason)
        self.status = status
        self.etype = etype
        self.reason = reason
        self.bare = bare
        self.headers = headers or {}
        self.extra = extra
        self.partial = None  # a body to merge in (GET _alias, some missing)

    def body(self):
        if self.bare:
            out = {"error": self.reason, "status": self.status}
            if self.partial:
                out.update(self.partial)
            return out
        cause = {"type": self.etype, "reason": self.reason}
        cause.update(self.extra)
        err = dict(cause)
        err["root_cause"] = [dict(cause)]
        return {"error": err, "status": self.status}


def bad_request(etype, reason, **extra):
    return EsError(400, etype, reason, **extra)


def illegal(reason):
    return EsError(400, "illegal_argument_exception", reason)


class Version:
    """The server version being played, and what differs between them."""

    def __init__(self, number):
        m = re.match(r"^(\d+)\.(\d+)\.(\d+)$", number)
        if not m:
            raise ValueError("version must be MAJOR.MINOR.PATCH, not %r" % number)
        self.number = number
        self.major, self.minor, self.patch = (int(x) for x in m.groups())
        if self.major not in (6, 7, 8):
            raise ValueError("only 6.x, 7.x and 8.x are played")
        if self.major == 6 and self.minor < 7:
            raise ValueError("6.x before 6.7 has no include_type_name; use 6.7+")

    def at_least(self, major, minor=0):
        return (self.major, self.minor) >= (major, minor)

    @property
    def composable(self):
        """Composable index templates (_index_template) came in 7.8."""
        return self.at_least(7, 8)

    @property
    def product_header(self):
        """X-Elastic-Product: Elasticsearch on every response since 7.14."""
        return self.at_least(7, 14)

    @property
    def has_include_type_name(self):
        """The include_type_name parameter exists in 6.7-7.x, not in 8."""
        return self.major < 8

    def types_default(self):
        """include_type_name's default: true in 6.x, false in 7.x."""
        return self.major == 6

    @property
    def default_shards(self):
        return 5 if self.major == 6 else 1

    @property
    def version_id(self):
        return self.major * 1000000 + self.minor * 10000 + self.patch * 100 + 99

    @property
    def lucene(self):
        return {6: "7.7.3", 7: "8.11.1", 8: "9.4.2"}[self.major]


def parse_bool(name, value):
    """Elasticsearch's strict booleans: "true", "false", or "" (true)."""
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise illegal("Failed to parse value [%s] only [true] or [false] are "
                  "allowed." % value)


_UNITS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1, "m": 60,
          "h": 3600, "d": 86400}


def parse_time(name, value):
    """A time value ("30s", "500ms", "1m") in seconds; -1 and 0 as such."""
    if value in ("-1", "0"):
        return float(value)
    m = re.match(r"^(\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)$", value.strip())
    if not m:
        raise EsError(400, "parse_exception",
                      "failed to parse setting [%s] with value [%s] as a time "
                      "value: unit is missing or unrecognized" % (name, value))
    return float(m.group(1)) * _UNITS[m.group(2)]


def split_names(expr):
    """A comma-separated expression of names, "_all" and "*" included."""
    return [p for p in expr.split(",") if p != ""]


def matches(pattern, name):
    """Simple wildcard matching (only * is special), as ES index patterns."""
    return fnmatch.fnmatchcase(name, pattern.replace("[", "[[]").replace("?", "[?]"))


_BAD_NAME_CHARS = '\\/*?"<>| ,#:'


def check_index_name(name, what="index"):
    """ES's index (and alias) name rules; raises invalid_index_name_exception."""
    def bad(why):
        return bad_request("invalid_index_name_exception",
                           "Invalid %s name [%s], %s" % (what, name, why),
                           index=name, index_uuid="_na_")
    if name != name.lower():
        raise bad("must be lowercase")
    for c in _BAD_NAME_CHARS:
        if c in name:
            raise bad("must not contain the following characters %s"
                      % "[ , \", *, \\, <, |, ,, >, /, ?, :, #]")
    if name[:1] in ("_", "-", "+"):
        raise bad("must not start with '_', '-', or '+'")
    if name in (".", ".."):
        raise bad("must not be '.' or '..'")
    if len(name.encode()) > 255:
        raise bad("index name is too long, (%d > 255)" % len(name.encode()))
    if name == "":
        raise bad("must not be empty")


# Request bodies Elasticsearch parses (the compatible-with media types of
# 7.11+ and 8.x included).  Anything else is 406.
COMMON_JSON_TYPES = {"application/json", "application/x-ndjson",
                     "application/vnd.elasticsearch+json",
                     "application/vnd.elasticsearch+x-ndjson"}
