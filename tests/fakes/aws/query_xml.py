"""The XML shapes of the Query services that are not EC2: Auto Scaling
(2011-01-01) and classic Elastic Load Balancing (2012-06-01).

Their answers differ from EC2's:

    <ActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">
      <ActionResult> ...members... </ActionResult>
      <ResponseMetadata><RequestId>..</RequestId></ResponseMetadata>
    </ActionResponse>

lists are <Name><member>..</member></Name>, and errors are

    <ErrorResponse xmlns=".."><Error><Type>Sender</Type><Code>..</Code>
      <Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>

Field lists use ec2_query's convention: (tag, value) pairs where a value
is text, a bool, None (element left out) or a nested list of pairs.
"""

import re
from xml.sax.saxutils import escape

from ec2_query import Ec2Error, _render

XMLNS = {
    "autoscaling": "http://autoscaling.amazonaws.com/doc/2011-01-01/",
    "elb": "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/",
}

# EC2's names for refused credentials become these elsewhere (IAM-style).
AUTH_CODES = {
    "AuthFailure": ("InvalidClientTokenId", 403,
                    "The security token included in the request is "
                    "invalid."),
    "MissingAuthenticationToken": ("MissingAuthenticationToken", 403,
                                   "Request is missing Authentication "
                                   "Token"),
}


def members(values, wrap=None):
    """A <member> list: values are texts, or field lists when wrap is
    None and they are lists themselves."""
    return [("member", v if wrap is None else wrap(v)) for v in values]


def result_xml(api, action, rid, fields):
    """Success document; fields None means an action with no result."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<%sResponse xmlns="%s">' % (action, XMLNS[api])]
    if fields is not None:
        out.append("  <%sResult>" % action)
        for tag, value in fields:
            _render(tag, value, out, 2)
        out.append("  </%sResult>" % action)
    out += ["  <ResponseMetadata>",
            "    <RequestId>%s</RequestId>" % rid,
            "  </ResponseMetadata>",
            "</%sResponse>" % action]
    return ("\n".join(out) + "\n").encode("utf-8")


def error_xml(api, code, message, rid, status=400):
    kind = "Receiver" if status >= 500 else "Sender"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code>'
            "<Message>%s</Message></Error><RequestId>%s</RequestId>"
            "</ErrorResponse>" % (XMLNS[api], kind, escape(code),
                                  escape(message), rid)).encode("utf-8")


def validation(message):
    """Auto Scaling's catch-all client error."""
    return Ec2Error("ValidationError", message, 400)


def member_list(p, prefix):
    """Values of prefix.member.1, prefix.member.2, ... in index order."""
    return p.list(prefix + ".member")


def member_structs(p, prefix):
    """[{rest: value}] for prefix.member.N.rest names."""
    return p.structs(prefix + ".member")


def int_param(p, name, lo=None, hi=None):
    """An integer parameter or None; ValidationError when malformed."""
    value = p.get(name)
    if value is None:
        return None
    if not re.fullmatch(r"-?\d+", value):
        raise validation("Value '%s' at '%s' failed to satisfy constraint: "
                         "Member must be an integer" % (value, name))
    n = int(value)
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise validation("Value '%d' at '%s' failed to satisfy constraint: "
                         "Member must have value between %s and %s"
                         % (n, name, lo, hi))
    return n


def bool_param(p, name):
    value = p.get(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise validation("Value '%s' at '%s' failed to satisfy constraint: "
                         "Member must be a boolean" % (value, name))
    return value.lower() == "true"


def required(p, name):
    value = p.get(name)
    if value is None or value == "":
        raise validation("1 validation error detected: Value null at '%s' "
                         "failed to satisfy constraint: Member must not be "
                         "null" % name)
    return value
