#!/usr/bin/env python3
"""secret_scan.py: find secrets (sentinels) in files and in the argv of
running processes, for tests/integration/secrets.test.  Standard library.

  secret_scan.py files [-x NAME-PREFIX]... SENTINELS PATH...
      every regular file under each PATH (gzip and zlib streams in it
      inflated); prints "PATH: holds NAME (FORM)" per file and secret;
      exit 1 if any (-x: leave out secrets whose name starts so)
  secret_scan.py watch SENTINELS ARGV-HITS SEEN DIRS FILE-HITS PASSES
      until its parent exits, every 10 ms: every process's argv, and every
      file that changed under the directories DIRS lists (see Watch)
  secret_scan.py key PEM
      prints sentinel lines for an RSA private key

SENTINELS holds lines "NAME<TAB>KIND<TAB>VALUE", KIND text (VALUE as it
is) or bytes (VALUE in hex).  A secret is looked for as it is and encoded:
base64 at each of the three byte alignments it can have inside a longer
string (so "Authorization: Basic" of user:password is caught), hex,
URL-encoded, JSON-escaped, and for SENTINEL-...-<16 hex> values by their
random part alone.  The file is read again when it changes.
"""

import base64
import os
import re
import subprocess
import sys
import time
import urllib.parse
import zlib


def b64_fragments(raw):
    """The base64 characters that encode raw alone, at each of the three
    byte alignments it can have inside a longer string (user:password)."""
    out = []
    for k in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            e = enc(b"\0" * k + raw)
            frag = e[-(-8 * k // 6):(8 * (k + len(raw))) // 6]
            if len(frag) >= 16:
                out.append(("base64", frag))
    return out


def needles(kind, value):
    if kind == "bytes":
        raw = bytes.fromhex(value)
        h = raw.hex()
        forms = [("raw", raw), ("hex", h.encode()), ("HEX", h.upper().encode()),
                 ("hex:", ":".join(h[i:i + 2] for i in range(0, len(h), 2)).encode())]
        return forms + b64_fragments(raw)
    raw = value.encode()
    forms = [("text", raw), ("hex", raw.hex().encode())]
    for name, f in (("url-encoded", urllib.parse.quote(value, safe="")),
                    ("json-escaped", value.replace("/", "\\/"))):
        if f != value:
            forms.append((name, f.encode()))
    m = re.search(r"[0-9a-f]{16}$", value)
    if m:
        forms.append(("its random part", m.group(0).encode()))
    return forms + b64_fragments(raw)


def load(path, exclude=()):
    out = []
    with open(path) as f:
        for line in f:
            name, kind, value = line.rstrip("\n").split("\t", 2)
            if not any(name.startswith(x) for x in exclude):
                out += [(name, form, n) for form, n in needles(kind, value)]
    return out


def expand(data):
    """data, then what each gzip or zlib stream in it inflates to: the
    objects backup stores, RPM payloads and repodata are compressed."""
    out, tries, view = [data], 0, memoryview(data)
    for magic, wbits in ((b"\x1f\x8b\x08", 31), (b"\x78\x9c", 15), (b"\x78\xda", 15)):
        i = data.find(magic)
        while i != -1 and tries < 4000:
            tries += 1
            try:
                out.append(zlib.decompressobj(wbits).decompress(view[i:], 256 << 20))
            except zlib.error:
                pass
            i = data.find(magic, i + 1)
    return b"\n".join(out)


def hits_in(data, table):
    seen = set()
    for name, form, n in table:
        if name not in seen and n in data:
            seen.add(name)
            yield name, form, n


def walk(paths):
    for p in paths:
        if os.path.isdir(p):
            for d, _, fs in os.walk(p):
                for f in fs:
                    yield os.path.join(d, f)
        elif os.path.lexists(p):
            yield p


def read(p):
    try:
        if os.path.islink(p) or not os.path.isfile(p):
            return None
        with open(p, "rb") as f:
            return expand(f.read())
    except OSError:
        return None


def files(argv):
    """files [-x NAME-PREFIX]... SENTINELS PATH...: every regular file
    under each PATH; one line per file and secret found; 1 if any."""
    exclude = []
    while argv[:1] == ["-x"]:
        exclude.append(argv[1])
        argv = argv[2:]
    table, found = load(argv[0], exclude), 0
    for p in argv[1:]:
        if not os.path.lexists(p):
            print("%s: missing" % p)
            found += 1
    for p in sorted(walk(argv[1:])):
        for name, form, _ in hits_in(read(p) or b"", table):
            print("%s: holds %s (%s)" % (p, name, form))
            found += 1
    return 1 if found else 0


class Watch:
    """Until our parent is gone, every 10 ms: the argv of every process on
    the machine, and every file that changed under the directories DIRS
    lists (a line "DIR [NAME-PREFIX...]": those secrets are that
    directory's data), so a secret in a temp file removed at once is
    seen too.  Hits go to ARGV-HITS and FILE-HITS (secrets masked); "PID
    COMM" to SEEN for each new process or exec; the number of full passes
    to PASSES."""

    def __init__(self, sent, argv_hits, seen, dirs, file_hits, passes):
        self.sent, self.dirs, self.passes = sent, dirs, passes
        self.argv_hits, self.seen = open(argv_hits, "a"), open(seen, "a")
        self.file_hits = open(file_hits, "a")
        self.stamp, self.tables, self.cmds, self.sizes, self.reported = None, {}, {}, {}, set()
        self.rules = []

    def reload(self):
        st = os.stat(self.sent)
        if (st.st_mtime, st.st_size) != self.stamp:
            self.stamp, self.tables = (st.st_mtime, st.st_size), {}
        self.rules = []
        with open(self.dirs) as f:
            for line in f:
                w = line.split()
                if w:
                    self.rules.append((w[0].rstrip("/") + "/", tuple(w[1:])))
        self.rules.sort(key=lambda r: -len(r[0]))

    def table(self, exclude=()):
        if exclude not in self.tables:
            self.tables[exclude] = load(self.sent, exclude)
        return self.tables[exclude]

    def report(self, out, key, text, table):
        if key in self.reported:
            return
        self.reported.add(key)
        for _, _, m in table:
            text = text.replace(m, b"<secret>")
        out.write(text.decode(errors="replace") + "\n")
        out.flush()

    def procs(self):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ")
                if self.cmds.get(pid) != cmd:  # new, or it exec'd
                    self.cmds[pid] = cmd
                    with open("/proc/%s/comm" % pid) as f:
                        self.seen.write("%s %s\n" % (pid, f.read().strip()))
                    self.seen.flush()
            except OSError:
                continue
            t = self.table()
            for name, form, _ in hits_in(cmd, t):
                self.report(self.argv_hits, (pid, cmd, name), b"pid %s holds %s (%s): %s" % (
                    pid.encode(), name.encode(), form.encode(), cmd), t)

    def files(self):
        for d, _ in self.rules:
            for p in walk([d]):
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                if self.sizes.get(p) == (st.st_size, st.st_mtime_ns):
                    continue
                self.sizes[p] = (st.st_size, st.st_mtime_ns)
                t = self.table(next(x for r, x in self.rules if p.startswith(r)))
                for name, form, _ in hits_in(read(p) or b"", t):
                    self.report(self.file_hits, (p, name), b"%s holds %s (%s)" % (
                        p.encode(), name.encode(), form.encode()), t)

    def run(self):
        parent, n = os.getppid(), 0
        while os.getppid() == parent:
            self.reload()
            self.procs()
            self.files()
            n += 1
            with open(self.passes + ".new", "w") as f:
                f.write("%d\n" % n)
            os.rename(self.passes + ".new", self.passes)
            time.sleep(0.01)
        return 0


def watch(argv):
    return Watch(*argv).run()


def key(argv):
    """key PEM: sentinel lines for an RSA private key: the first 32 bytes
    of each private number, and some PEM lines past the modulus (which is
    public: an exported public key holds it)."""
    text = subprocess.run(["openssl", "pkey", "-in", argv[0], "-text", "-noout"],
                          capture_output=True, text=True, check=True).stdout
    label, nums = None, {}
    for line in text.splitlines():
        if re.match(r"^[a-zA-Z0-9]+:\s*$", line):
            label = line.strip()[:-1]
            nums[label] = ""
        elif label and re.match(r"^\s+[0-9a-f:]+$", line):
            nums[label] += line.strip().replace(":", "")
        else:
            label = None
    for name in ("privateExponent", "prime1", "prime2", "exponent1",
                 "exponent2", "coefficient"):
        h = nums[name]
        h = h[2:] if h.startswith("00") else h
        print("RPM-KEY %s\tbytes\t%s" % (name, h[:64]))
    with open(argv[0]) as f:
        body = [x.strip() for x in f if x.strip() and not x.startswith("-----")]
    # The modulus and public exponent come first: from two fifths in,
    # at any key size, a line encodes only private numbers.
    for i in range(len(body) * 2 // 5, len(body) - 1, 4):
        print("RPM-KEY PEM line %d\ttext\t%s" % (i + 2, body[i]))
    return 0


sys.exit({"files": files, "watch": watch, "key": key}[sys.argv[1]](sys.argv[2:]))
