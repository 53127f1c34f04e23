"""How the fake "runs" an instance's user-data (see README.md, "User-data
and console convention").

The fake never executes anything.  It reads the decoded user-data text and
derives a Plan:

  * directives, on comment lines anywhere in the text:
        # fake-aws: outcome=success|fail|hang exit=N delay=SECONDS
        # fake-aws: console=TEXT UNTIL END OF LINE
    `console=` must come last on its line (it takes the rest of the line).
    `exit=N` alone implies outcome=fail when N != 0.
  * simulated script output: every line whose command is a plain `echo`
    (no $, backquote, redirection, pipe, ; or &) prints its arguments, after
    shell-style unquoting; `console=` directives print their text.  Both in
    the order they appear.
  * wrapper: text containing SOCORRO-BUILD-STATUS is the create-ami
    wrapper.  After the script, the fake prints `SOCORRO-BUILD-STATUS: <exit>`
    and the instance powers off (unless the outcome is hang).
  * poweroff: a non-comment line running poweroff, `shutdown -h|-P`,
    `halt -p` or `systemctl poweroff` makes the instance power off after a
    successful script (a failed plain script stops before it).
"""

import gzip
import re
import shlex

STATUS_MARKER = "SOCORRO-BUILD-STATUS"
OUTCOMES = ("success", "fail", "hang")

_DIRECTIVE = re.compile(r"^\s*#\s*fake-aws:\s*(.*)$")
_ECHO = re.compile(r"^\s*echo(\s+.*)?$")
_SHELL_META = re.compile(r"[$`<>|;&]")
_POWEROFF = re.compile(
    r"(^|[\s;&|(])(poweroff|shutdown\s+(-\S*\s+)*-[hP]|halt\s+-p|"
    r"systemctl\s+poweroff)\b")


class PlanError(ValueError):
    pass


class Plan:
    """outcome ('success'|'fail'|'hang' or None when unspecified), exit code
    (or None), delay (seconds or None), output lines, wrapper, poweroff."""

    def __init__(self):
        self.outcome = None
        self.exit = None
        self.delay = None
        self.output = []
        self.wrapper = False
        self.poweroff = False

    def as_dict(self):
        return dict(self.__dict__)


def decode_text(raw):
    """User-data bytes (already base64-decoded) -> text.  Gzip is unpacked
    like cloud-init does."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return ""
    return raw.decode("utf-8", "replace")


def _echo_output(line):
    m = _ECHO.match(line)
    if not m or _SHELL_META.search(line) or STATUS_MARKER in line:
        return None
    try:
        words = shlex.split(m.group(1) or "")
    except ValueError:
        return None
    while words and words[0] in ("-n", "-e", "-E", "-ne", "-en"):
        words.pop(0)
    return " ".join(words)


def _directive(plan, text):
    rest = text.strip()
    while rest:
        key, eq, tail = rest.partition("=")
        key = key.strip()
        if not eq:
            raise PlanError("fake-aws directive without '=': %r" % rest)
        if key == "console":
            plan.output.append(tail)
            return
        value, _, rest = tail.partition(" ")
        rest = rest.strip()
        if key == "outcome":
            if value not in OUTCOMES:
                raise PlanError("fake-aws outcome must be one of %s"
                                % "|".join(OUTCOMES))
            plan.outcome = value
        elif key == "exit":
            plan.exit = int(value)
        elif key == "delay":
            plan.delay = float(value)
        else:
            raise PlanError("unknown fake-aws directive %r" % key)


def parse(raw):
    """Plan for user-data bytes.  Bad directives raise PlanError; the fake
    records that in the console and treats the script as failed."""
    plan = Plan()
    text = decode_text(raw)
    plan.wrapper = STATUS_MARKER in text
    for line in text.splitlines():
        m = _DIRECTIVE.match(line)
        if m:
            _directive(plan, m.group(1))
            continue
        if line.lstrip().startswith("#"):
            continue
        out = _echo_output(line)
        if out is not None:
            plan.output.append(out)
        if _POWEROFF.search(line):
            plan.poweroff = True
    if plan.outcome is None and plan.exit is not None:
        plan.outcome = "success" if plan.exit == 0 else "fail"
    return plan
