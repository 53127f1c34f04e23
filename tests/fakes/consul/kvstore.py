"""The fake Consul's state: the KV store, its indexes, transactions, ACLs.

Semantics follow Consul's state store (agent/consul/state/kvs.go, txn.go):

- One raft index for the whole server, raised by one for each write that
  changes something; every key a transaction writes gets that one index.
  CreateIndex is set when a key is created, ModifyIndex on every write.
  The KV table's index (X-Consul-Index) is the last index that wrote it.
- PUT ?cas=0 writes only a key that does not exist; ?cas=N only one whose
  ModifyIndex is N.  DELETE ?cas=N deletes only at ModifyIndex N (a
  missing key counts as done).  Transaction verbs "cas" and "delete-cas"
  do the same; a failed one fails the whole transaction, and every failed
  operation is reported as {"OpIndex": i, "What": "..."}.
- ACLs (when a token table is given): an unknown token is refused with 403
  "ACL not found"; no token is the anonymous token, which may do nothing.
  Denied reads of one key and denied writes are 403 "Permission denied";
  denied keys are filtered out of lists (and the answer says so in
  X-Consul-Results-Filtered-By-ACLs); denied transaction operations are
  errors "Permission denied", so the transaction answers 409.
"""

import base64
import json
import threading

WRITE_VERBS = {"set", "cas", "delete", "delete-tree", "delete-cas", "lock",
               "unlock"}
READ_VERBS = {"get", "get-tree", "check-index", "check-not-exists",
              "get-or-empty"}
UNSUPPORTED_VERBS = {"lock", "unlock", "check-session"}  # need sessions
KV_FIELDS = {"Verb", "Key", "Value", "Flags", "Index", "Session",
             "Namespace", "Partition"}


class Entry:
    """One key; immutable, so a transaction can build on a copied dict."""
    __slots__ = ("key", "value", "flags", "create_index", "modify_index",
                 "_text")

    def __init__(self, key, value, flags, create_index, modify_index):
        self.key, self.value, self.flags = key, value, flags
        self.create_index, self.modify_index = create_index, modify_index
        self._text = None

    def json_text(self):
        """to_json() as JSON text, made once: lists of 10,000 keys are
        answered by joining these."""
        if self._text is None:
            self._text = json.dumps(self.to_json())
        return self._text

    def to_json(self, with_value=True):
        if with_value and self.value:
            value = base64.b64encode(self.value).decode("ascii")
        else:
            value = None  # Consul answers null for an empty value
        return {"LockIndex": 0, "Key": self.key, "Flags": self.flags,
                "Value": value, "CreateIndex": self.create_index,
                "ModifyIndex": self.modify_index}


class BadRequest(Exception):
    """A request Consul would refuse with this status and text."""

    def __init__(self, status, text):
        super().__init__(text)
        self.status, self.text = status, text


class Store:
    def __init__(self, tokens=None):
        self.lock = threading.Condition()
        self.data = {}
        self.index = 1          # the raft index
        self.kv_index = 1       # last index that wrote the KV table
        self.tokens = tokens    # None: ACLs off; else {token: "read"|"write"}

    # --- ACLs -------------------------------------------------------------

    def policy(self, token):
        """The token's policy: "write", "read" or "" (anonymous).
        Raises BadRequest(403) for a token the table does not hold."""
        if self.tokens is None:
            return "write"
        if not token:
            return ""
        if token not in self.tokens:
            raise BadRequest(403, "ACL not found")
        return self.tokens[token]

    @staticmethod
    def may(policy, write):
        return policy == "write" or (policy == "read" and not write)

    # --- the KV endpoint ----------------------------------------------------

    def _bump(self):
        self.index += 1
        self.kv_index = self.index
        self.lock.notify_all()
        return self.index

    def wait(self, min_index, seconds):
        """Blocking query: wait until the KV index passes min_index."""
        with self.lock:
            self.lock.wait_for(lambda: self.kv_index > min_index, seconds)

    def get(self, key, policy):
        with self.lock:
            if not self.may(policy, False):
                raise BadRequest(403, "Permission denied")
            return self.kv_index, self.data.get(key)

    def list(self, prefix, policy):
        """Entries under prefix the policy may read, and whether any were hidden."""
        with self.lock:
            found = [e for k, e in self.data.items() if k.startswith(prefix)]
            allowed = found if self.may(policy, False) else []
            return self.kv_index, sorted(allowed, key=lambda e: e.key), \
                len(allowed) < len(found)

    def put(self, key, value, flags, cas, policy):
        with self.lock:
            if not self.may(policy, True):
                raise BadRequest(403, "Permission denied")
            old = self.data.get(key)
            if cas is not None and not self._cas_ok(old, cas):
                return False
            idx = self._bump()
            self.data[key] = Entry(key, value, flags,
                                   old.create_index if old else idx, idx)
            return True

    def delete(self, key, recurse, cas, policy):
        with self.lock:
            if not self.may(policy, True):
                raise BadRequest(403, "Permission denied")
            if recurse:
                gone = [k for k in self.data if k.startswith(key)]
            else:
                old = self.data.get(key)
                if cas is not None and old is not None and old.modify_index != cas:
                    return False
                gone = [key] if old is not None else []
            if gone:
                self._bump()
                for k in gone:
                    del self.data[k]
            return True

    @staticmethod
    def _cas_ok(old, index):
        if index == 0:
            return old is None
        return old is not None and old.modify_index == index

    # --- transactions -------------------------------------------------------

    @staticmethod
    def check_op(op):
        """Validate one decoded KV operation; return (verb, key, value, flags,
        index).  Raises BadRequest(400) the way a strict server would."""
        if not isinstance(op, dict) or len(op) != 1:
            raise BadRequest(400, "Failed to parse body: each operation is an "
                             "object with one of KV, Node, Service, Check")
        (kind, kv), = op.items()
        if kind != "KV":
            raise BadRequest(400, "Failed to parse body: the fake supports KV "
                             "operations only, not %s" % kind)
        if not isinstance(kv, dict):
            raise BadRequest(400, "Failed to parse body: KV is not an object")
        unknown = set(kv) - KV_FIELDS
        if unknown:
            raise BadRequest(400, "Failed to parse body: unknown KV field(s) %s"
                             % ", ".join(sorted(unknown)))
        verb = kv.get("Verb")
        if verb in UNSUPPORTED_VERBS:
            raise BadRequest(400, "Failed to parse body: the fake has no "
                             "sessions (verb %s)" % verb)
        if verb not in WRITE_VERBS | READ_VERBS:
            raise BadRequest(400, "Failed to parse body: unknown KV verb %r"
                             % (verb,))
        key = kv.get("Key")
        if not isinstance(key, str) or (key == "" and verb not in
                                        ("get-tree", "delete-tree")):
            raise BadRequest(400, "Failed to parse body: KV op %s needs a Key"
                             % verb)
        for name in ("Flags", "Index"):
            v = kv.get(name, 0)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0 \
                    or v >= 1 << 64:
                raise BadRequest(400, "Failed to parse body: %s must be an "
                                 "unsigned integer" % name)
        if verb in ("cas", "delete-cas", "check-index") and "Index" not in kv:
            raise BadRequest(400, "Failed to parse body: verb %s needs Index"
                             % verb)
        value = b""
        if verb in ("set", "cas"):
            if "Value" not in kv:
                raise BadRequest(400, "Failed to parse body: verb %s needs "
                                 "Value" % verb)
        if kv.get("Value") is not None:
            if not isinstance(kv["Value"], str):
                raise BadRequest(400, "Failed to parse body: Value must be a "
                                 "base64 string")
            try:
                value = base64.b64decode(kv["Value"], validate=True)
            except ValueError as err:
                raise BadRequest(400, "Failed to parse body: failed to decode "
                                 "value: %s" % err) from None
        return verb, key, value, kv.get("Flags", 0), kv.get("Index", 0)

    def txn(self, ops, policy):
        """Apply decoded, checked ops all or nothing.  Returns (results,
        errors): errors non-empty means nothing was applied."""
        with self.lock:
            work = dict(self.data)
            idx = self.index + 1
            results, errors = [], []
            wrote = False
            for i, (verb, key, value, flags, index) in enumerate(ops):
                if not self.may(policy, verb in WRITE_VERBS):
                    errors.append({"OpIndex": i, "What": "Permission denied"})
                    continue
                try:
                    out, w = self._txn_op(work, idx, verb, key, value, flags,
                                          index)
                except BadRequest as err:
                    errors.append({"OpIndex": i, "What": err.text})
                    continue
                wrote |= w
                results.extend({"KV": e} for e in out)
            if errors:
                return None, errors
            if wrote:
                self.data = work
                self.index = self.kv_index = idx
                self.lock.notify_all()
            return results, None

    @staticmethod
    def _txn_op(work, idx, verb, key, value, flags, index):
        """One operation on work; ([result entries], wrote).  A failed
        operation raises BadRequest with Consul's text."""
        old = work.get(key)
        if verb in ("set", "cas"):
            if verb == "cas" and not Store._cas_ok(old, index):
                raise BadRequest(409, "failed to set key %s, index is stale"
                                 % _go_quote(key))
            e = Entry(key, value, flags, old.create_index if old else idx, idx)
            work[key] = e
            return [e.to_json(with_value=False)], True
        if verb == "delete":
            return [], work.pop(key, None) is not None
        if verb == "delete-cas":
            if old is not None and old.modify_index != index:
                raise BadRequest(409, "failed to delete key %s, index is stale"
                                 % _go_quote(key))
            return [], work.pop(key, None) is not None
        if verb == "delete-tree":
            gone = [k for k in work if k.startswith(key)]
            for k in gone:
                del work[k]
            return [], bool(gone)
        if verb == "get":
            if old is None:
                raise BadRequest(409, "key %s doesn't exist" % _go_quote(key))
            return [old.to_json()], False
        if verb == "get-or-empty":
            return [old.to_json()] if old else [], False
        if verb == "get-tree":
            return [e.to_json() for k, e in sorted(work.items())
                    if k.startswith(key)], False
        if verb == "check-index":
            if old is None:
                raise BadRequest(409, "key %s doesn't exist" % _go_quote(key))
            if old.modify_index != index:
                raise BadRequest(409, "current modify index %d != %d"
                                 % (old.modify_index, index))
            return [old.to_json(with_value=False)], False
        if verb == "check-not-exists":
            if old is not None:
                raise BadRequest(409, "key %s exists" % _go_quote(key))
            return [], False
        raise BadRequest(400, "unknown verb %s" % verb)

    # --- for the test's own control endpoints -------------------------------

    def dump(self):
        with self.lock:
            return [e.to_json() for _, e in sorted(self.data.items())]

    def seed(self, pairs):
        """Write {key: text} directly, one raft index for all."""
        with self.lock:
            idx = self._bump()
            for k, v in pairs.items():
                old = self.data.get(k)
                self.data[k] = Entry(k, v.encode("utf-8"), 0,
                                     old.create_index if old else idx, idx)

    def clear(self):
        with self.lock:
            if self.data:
                self.data = {}
                self._bump()


def _go_quote(s):
    """Go's %q for the key texts Consul puts in its errors."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out) + '"'
