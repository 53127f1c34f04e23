"""AWS Signature Version 4: an independent verifier for the fake AWS server.

Written from the public SigV4 specification only (hashlib + hmac), so that
it does not share mistakes with the C signer in libcommon/sigv4.c.  It is
checked against tests/vectors/sigv4 by test_fake_aws.py.

verify_request() takes the request as the server saw it (method, raw
request-target, headers in order with duplicates, body bytes) and either
returns the Credential it accepted or raises AuthError carrying the error
code, message and HTTP status that AWS EC2 answers with.
"""

import datetime
import hashlib
import hmac
import re
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = 300  # seconds: AWS refuses a request dated more than 5 minutes off

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you "
    "provided. Check your AWS Secret Access Key and signing method. Consult "
    "the service documentation for details.")
UNKNOWN_KEY = "AWS was not able to validate the provided access credentials"


class AuthError(Exception):
    """A refused request: EC2 error code, message, HTTP status."""

    def __init__(self, code, message, status, detail=None):
        super().__init__("%s: %s" % (code, message))
        self.code, self.message, self.status = code, message, status
        self.detail = detail  # canonical request etc., for the fake's call log


# ---------------------------------------------------------------- canonical form

def uri_encode(data, safe=""):
    """Percent-encode everything except A-Z a-z 0-9 - _ . ~ (and `safe`)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return urllib.parse.quote(data, safe="-_.~" + safe)


def normalize_path(path):
    """Remove '.' and '..' segments and collapse repeated slashes (RFC 3986)."""
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    norm = "/" + "/".join(out)
    last = path.split("/")[-1]
    if out and (path.endswith("/") or last in (".", "..")):
        norm += "/"  # "/a/b/" and "/a/b/.." both keep the directory slash
    return norm


def canonical_uri(raw_path, normalize=True):
    """The path as sent (bytes or latin-1 str), normalized, then each byte
    that is not unreserved percent-encoded; a '%' is encoded again, as AWS
    does for every service but S3."""
    if isinstance(raw_path, bytes):
        raw_path = raw_path.decode("latin-1")
    path = raw_path or "/"
    if normalize:
        path = normalize_path(path)
    return uri_encode(path.encode("latin-1"), safe="/")


def canonical_query(raw_query, drop=()):
    """Decode each name=value pair, re-encode it the AWS way, sort.
    raw_query is a latin-1 str of the raw bytes (as http.server gives)."""
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        if part == "":
            continue
        name, _, value = part.partition("=")
        # the target is a latin-1 str holding the raw bytes, as http.server
        # gives it: get the bytes back before percent-decoding
        name = urllib.parse.unquote_to_bytes(name.encode("latin-1"))
        value = urllib.parse.unquote_to_bytes(value.encode("latin-1"))
        if name.decode("utf-8", "replace") in drop:
            continue
        pairs.append((uri_encode(name), uri_encode(value)))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def _clean_value(value):
    # Unfold obsolete line folding, trim, squeeze runs of spaces to one.
    value = re.sub(r"\r?\n[ \t]*", " ", value)
    return re.sub(r"[ \t]+", " ", value.strip())


def canonical_headers(headers, signed):
    """headers: [(name, value), ...] in request order.  Returns the
    canonical header block (each line ending in \\n) for the signed names,
    or raises KeyError naming a signed header that is absent."""
    got = {}
    for name, value in headers:
        got.setdefault(name.lower(), []).append(_clean_value(value))
    lines = []
    for name in signed:
        if name not in got:
            raise KeyError(name)
        lines.append("%s:%s\n" % (name, ",".join(got[name])))
    return "".join(lines)


def canonical_request(method, raw_path, raw_query, headers, signed,
                      payload_hash, normalize=True, drop_query=()):
    return "\n".join([
        method.upper(),
        canonical_uri(raw_path, normalize),
        canonical_query(raw_query, drop_query),
        canonical_headers(headers, signed),
        ";".join(signed),
        payload_hash,
    ])


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(creq.encode("utf-8")).hexdigest()])


def signing_key(secret, date, region, service):
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def sign(secret, date, region, service, sts):
    key = signing_key(secret, date, region, service)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- parsing

def parse_authorization(value):
    """'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'
    -> dict with credential, signed_headers (list), signature."""
    algo, _, rest = value.strip().partition(" ")
    if algo != ALGORITHM:
        raise AuthError("IncompleteSignature",
                        "Unsupported AWS 'algorithm': '%s'" % algo, 400)
    fields = {}
    for item in rest.split(","):
        k, eq, v = item.strip().partition("=")
        if not eq:
            raise AuthError("IncompleteSignature",
                            "Authorization header requires each component to "
                            "be of the form key=value: '%s'" % item.strip(), 400)
        fields[k] = v
    for k in ("Credential", "SignedHeaders", "Signature"):
        if k not in fields:
            raise AuthError("IncompleteSignature",
                            "Authorization header requires '%s' parameter." % k,
                            400)
    return {"credential": fields["Credential"],
            "signed_headers": fields["SignedHeaders"].split(";"),
            "signature": fields["Signature"]}


def parse_amz_date(text):
    """'20150830T123600Z' -> POSIX seconds, or None."""
    try:
        dt = datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError):
        return None
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


# ---------------------------------------------------------------- verification

class Credentials:
    """What the fake accepts: access key id -> secret, required session
    token (or None), expiry (POSIX seconds or None)."""

    def __init__(self):
        self.keys = {}

    def add(self, akid, secret, token=None, expires=None):
        self.keys[akid] = {"secret": secret, "token": token,
                           "expires": expires}

    def remove(self, akid):
        self.keys.pop(akid, None)


def verify_request(creds, method, target, headers, body, now, region,
                   service="ec2", normalize=True):
    """Check one request's SigV4 signature (Authorization header or
    presigned X-Amz-* query).  `target` is the raw request-target
    ('/path?query'), `headers` a list of (name, value), `body` bytes and
    `now` the server's clock (POSIX seconds).  Like http.server's
    self.path, `target` holds the raw bytes decoded as latin-1.  Returns the access key id."""
    path, _, query = target.partition("?")
    hdr = {}
    for n, v in headers:
        hdr.setdefault(n.lower(), v)
    qparams = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))

    if "authorization" in hdr:
        auth = parse_authorization(hdr["authorization"])
        amz_date = hdr.get("x-amz-date")
        token = hdr.get("x-amz-security-token")
        drop = ()
        presigned = False
    elif "X-Amz-Algorithm" in qparams or "X-Amz-Signature" in qparams:
        if qparams.get("X-Amz-Algorithm") != ALGORITHM:
            raise AuthError("IncompleteSignature",
                            "Unsupported AWS 'algorithm': '%s'"
                            % qparams.get("X-Amz-Algorithm", ""), 400)
        for k in ("X-Amz-Credential", "X-Amz-SignedHeaders",
                  "X-Amz-Signature", "X-Amz-Date"):
            if k not in qparams:
                raise AuthError("IncompleteSignature",
                                "AWS query-string parameters must include "
                                "'%s'." % k, 400)
        auth = {"credential": qparams["X-Amz-Credential"],
                "signed_headers": qparams["X-Amz-SignedHeaders"].split(";"),
                "signature": qparams["X-Amz-Signature"]}
        amz_date = qparams["X-Amz-Date"]
        token = qparams.get("X-Amz-Security-Token")
        drop = ("X-Amz-Signature",)
        presigned = True
    else:
        raise AuthError("MissingAuthenticationToken",
                        "Request is missing Authentication Token", 401)

    parts = auth["credential"].split("/")
    if len(parts) != 5:
        raise AuthError("IncompleteSignature",
                        "Credential must have exactly 5 slash-delimited "
                        "elements, e.g. keyid/date/region/service/term, got "
                        "'%s'" % auth["credential"], 400)
    akid, cdate, cregion, cservice, term = parts
    signed = auth["signed_headers"]
    if "host" not in signed:
        raise AuthError("IncompleteSignature",
                        "'Host' or ':authority' must be a 'SignedHeader' in "
                        "the AWS Authorization.", 400)
    if signed != sorted(signed) or any(s != s.lower() for s in signed):
        raise AuthError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403,
                        "SignedHeaders not lower-case and sorted")

    if amz_date is None:
        if "date" in hdr:
            raise AuthError("IncompleteSignature",
                            "The fake only accepts X-Amz-Date, not Date.", 400)
        raise AuthError("IncompleteSignature",
                        "Authorization header requires existence of either "
                        "a 'X-Amz-Date' or a 'Date' header.", 400)
    when = parse_amz_date(amz_date)
    if when is None:
        raise AuthError("IncompleteSignature",
                        "X-Amz-Date must be in the ISO8601 Long Format "
                        "\"yyyyMMdd'T'HHmmss'Z'\"", 400)

    key = creds.keys.get(akid)
    if key is None:
        raise AuthError("AuthFailure", UNKNOWN_KEY, 401)
    if term != "aws4_request":
        raise AuthError("SignatureDoesNotMatch",
                        "Credential should be scoped with a valid terminator: "
                        "'aws4_request', not '%s'." % term, 403)
    if cdate != amz_date[:8]:
        raise AuthError("SignatureDoesNotMatch",
                        "Date in Credential scope does not match YYYYMMDD "
                        "from ISO-8601 version of date from HTTP: '%s' != "
                        "'%s', from '%s'." % (cdate, amz_date[:8], amz_date),
                        403)
    if cregion != region:
        raise AuthError("SignatureDoesNotMatch",
                        "Credential should be scoped to a valid region, not "
                        "'%s'." % cregion, 403)
    if cservice != service:
        raise AuthError("SignatureDoesNotMatch",
                        "Credential should be scoped to correct service: "
                        "'%s'." % service, 403)

    # Time: 5 minutes either way (presigned: until X-Amz-Expires).
    if presigned:
        try:
            expires = int(qparams.get("X-Amz-Expires", "0"))
        except ValueError:
            expires = -1
        if not 1 <= expires <= 604800:
            raise AuthError("AuthFailure",
                            "X-Amz-Expires must be between 1 and 604800", 400)
        if now < when - MAX_SKEW or now > when + expires:
            raise AuthError("RequestExpired", "Request has expired.", 400)
    elif abs(now - when) > MAX_SKEW:
        raise AuthError("RequestExpired", "Request has expired.", 400)

    # Session token: required exactly when the key was issued with one.
    if key["token"] is not None and token != key["token"]:
        raise AuthError("AuthFailure", UNKNOWN_KEY, 401,
                        "session token missing or wrong")
    if key["token"] is None and token is not None:
        raise AuthError("AuthFailure", UNKNOWN_KEY, 401,
                        "session token given for a long-term key")
    if key["expires"] is not None and now >= key["expires"]:
        raise AuthError("RequestExpired", "Request has expired.", 400,
                        "temporary credentials expired")

    # Payload: AWS (outside S3) signs the hash of the body actually sent.
    body_hash = hashlib.sha256(body).hexdigest()
    declared = hdr.get("x-amz-content-sha256")
    if declared is not None and declared != body_hash:
        raise AuthError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403,
                        "x-amz-content-sha256 %s != sha256(body) %s"
                        % (declared, body_hash))
    try:
        creq = canonical_request(method, path, query, headers, signed,
                                 body_hash, normalize, drop)
    except KeyError as missing:
        raise AuthError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403,
                        "signed header %s not in request" % missing)
    scope = "/".join([cdate, cregion, cservice, term])
    sts = string_to_sign(amz_date, scope, creq)
    want = sign(key["secret"], cdate, cregion, cservice, sts)
    if not hmac.compare_digest(want, auth["signature"]):
        raise AuthError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403,
                        "canonical request:\n%s\nstring to sign:\n%s"
                        % (creq, sts))
    return akid
