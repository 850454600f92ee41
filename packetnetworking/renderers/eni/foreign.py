"""ifupdown's files (stack ``eni``), and how they step aside for another stack.

ifupdown reads ``etc/network/interfaces`` and what its ``source`` /
``source-directory`` lines include (Debian's default: ``source
/etc/network/interfaces.d/*``; cloud-init writes ``50-cloud-init`` there).
A file configures one of our devices when an ``iface`` stanza is for it (or an
alias label or VLAN on it: ``eth0:0``, ``eth0.100``) or mentions it among its
options (``bond-slaves``, ``bridge_ports``, a MAC in ``hwaddress``...), a
``mapping`` stanza's pattern selects it, or an ``auto`` / ``allow-*`` line
names it.

When another stack owns the devices:

- a file in ``etc/network/interfaces.d`` that configures them is moved aside;
- ``etc/network/interfaces`` is rewritten without them: loopback, its
  ``source`` / ``source-directory`` lines and the stanzas of other devices
  stay; the original is kept as ``interfaces.packet-networking.bak``. A
  ``source`` glob would also read the files moved aside (ifupdown's ``source``
  takes every name the glob matches, ``.bak`` ones too; ``source-directory``
  skips names with a dot): such a line becomes one ``source`` line per file
  that stays, with a comment giving the original line.

When ifupdown is chosen, the tool writes the whole ``interfaces`` file
without ``source`` lines: nothing else is read, nothing steps aside.

Enabled when chosen: ``networking.service`` (where the target has systemd).
"""
import fnmatch

from packetnetworking.ownership import Aside, RendererConfig, Task, Unit, words
from packetnetworking.tasks import ASIDE_SUFFIX
from packetnetworking.templating import HEADER, tidy

INTERFACES = "etc/network/interfaces"
INTERFACES_D = "etc/network/interfaces.d"
#: Lines that start a stanza; any other line is an option of the stanza above it.
BLOCKS = ("iface", "mapping")
NAME_LISTS = ("auto", "no-auto-down", "no-scripts")  # and every "allow-*"
SOURCES = ("source", "source-directory", "source-dir")


def step_aside(scan):
    devices = scan.devices
    found = {}
    for path, text in scan.files.items():
        if path != INTERFACES:
            reason = Interfaces(text).configures(devices)
            if reason:
                found[path] = Aside(Task(move_aside=True), reason)
    main = scan.files.get(INTERFACES)
    if main is not None:
        moved = {path for path, aside in found.items() if aside.task.move_aside}
        reduced, reasons = Interfaces(main).without(
            devices, lambda pattern: _sourced_instead(scan.target, pattern, moved), scan.chosen)
        if reasons:
            keep = INTERFACES not in scan.ours
            found[INTERFACES] = Aside(Task(content=reduced, keep_aside=keep),
                                      "; ".join(reasons))
    return found


class Interfaces:
    """An interfaces(5) file as stanzas: ``[(keyword, words, [raw lines])]``; comment
    and blank lines are stanzas of their own (keyword "")."""

    def __init__(self, text):
        self.stanzas = []
        current = None
        pending = ""
        raw_lines = []
        for raw in text.splitlines():
            raw_lines.append(raw)
            if raw.rstrip().endswith("\\"):  # a continued line: read on
                pending += raw.rstrip()[:-1] + " "
                continue
            line = (pending + raw).strip()
            pending = ""
            lines, raw_lines = raw_lines, []
            if not line or line.startswith("#"):
                if current is not None and current[0] in BLOCKS and line:
                    current[2].extend(lines)  # a comment inside a stanza
                else:
                    current = None
                    self.stanzas.append(("", [], lines))
                continue
            keyword, *rest = line.split()
            if keyword in BLOCKS or keyword in NAME_LISTS or keyword.startswith("allow-") \
                    or keyword in SOURCES or keyword == "rename":
                current = (keyword, rest, lines)
                self.stanzas.append(current)
            elif current is not None and current[0] in BLOCKS:
                current[1].extend(["--"] + words(line))  # options follow a "--" marker
                current[2].extend(lines)
            else:
                self.stanzas.append(("", [], lines))
        if raw_lines:
            self.stanzas.append(("", [], raw_lines))

    def configures(self, devices):
        """Why this file configures one of ``devices`` ("it ..."), or None."""
        for keyword, args, _ in self.stanzas:
            reason = _stanza_reason(keyword, args, devices)
            if reason:
                return reason
        return None

    def without(self, devices, aside_names, chosen):
        """``(text, reasons)``: the file without what configures ``devices``, and with
        ``source`` globs that would read files in ``aside_names`` (paths relative to
        the root that are or will be moved aside) spelled out. No reasons: unchanged."""
        out = []
        reasons = []
        for keyword, args, lines in self.stanzas:
            reason = _stanza_reason(keyword, args, devices)
            if keyword in BLOCKS and reason:
                reasons.append(reason)
                continue
            if keyword in NAME_LISTS or keyword.startswith("allow-") or keyword == "rename":
                kept = [a for a in args if not _names_device(a, devices)]
                if len(kept) != len(args):
                    reasons.append(reason)
                    if kept:
                        out.append(" ".join([keyword] + kept))
                    continue
            if keyword == "source" and args:
                replaced = aside_names(args[0])
                if replaced is not None:
                    reasons.append(f"sources {args[0]}, which would read files moved aside")
                    out.append(f"# packet-networking: was \"source {args[0]}\"; files moved "
                               f"aside ({ASIDE_SUFFIX}) must not be read")
                    out.extend(f"source /{path}" for path in replaced)
                    continue
            out.extend(lines)
        if not reasons:
            return None, []
        note = (f"# {HEADER}\n# {chosen or 'another stack'} configures "
                f"{', '.join(devices.names)}: what configured them here is gone, the "
                f"original file is kept aside ({ASIDE_SUFFIX}).\n")
        sources = [r for r in reasons if r.startswith("sources ")]
        reasons = list(dict.fromkeys([r for r in reasons if r not in sources] + sources))
        return tidy(note + "\n".join(out)), reasons


def _names_device(word, devices):
    if word.startswith("/"):  # an ifupdown pattern: /GLOB[=NAME]
        return bool(devices.matching(word[1:].partition("=")[0].rstrip("/")))
    return any(devices.named(part) is not None for part in word.split("="))


def _stanza_reason(keyword, args, devices):
    if keyword == "iface" and args:
        device = devices.named(args[0])
        if device is not None:
            return f"configures {device.name} (iface {args[0]})"
        options = args[args.index("--") + 1:] if "--" in args else []
        hit = devices.mentioned(options)
        if hit:
            return f"{hit[1]} in the stanza of {args[0]}"
    elif keyword == "mapping":
        for pattern in args:
            found = devices.matching(pattern)
            if found:
                return f"maps {found[0].name} (mapping {pattern})"
    elif keyword in NAME_LISTS or keyword.startswith("allow-") or keyword == "rename":
        for word in args:
            if _names_device(word, devices):
                return f"brings up {word} ({keyword})"
    return None


def _sourced_instead(target, pattern, moved):
    """The files (relative to the root, sorted) a ``source PATTERN`` line should name
    instead of its glob, or None when the glob reads no file that is (or, ``moved``,
    is about to be) moved aside. Relative patterns are relative to etc/network."""
    base = INTERFACES.rpartition("/")[0]
    relative = pattern[1:] if pattern.startswith("/") else f"{base}/{pattern}"
    directory, _, name = relative.rpartition("/")
    if target is None or not directory or any(c in directory for c in "*?["):
        return None
    matches = target.glob(relative)
    aside = [m for m in matches if m.endswith(ASIDE_SUFFIX)] + [
        m for m in moved if m.rpartition("/")[0] == directory
        and fnmatch.fnmatchcase(m.rpartition("/")[2] + ASIDE_SUFFIX, name)]
    if not aside:
        return None
    return [m for m in matches if not m.endswith(ASIDE_SUFFIX) and m not in moved]


ENI = RendererConfig(
    name="eni",
    reads=(INTERFACES, f"{INTERFACES_D}/*"),
    step_aside=step_aside,
    units=(Unit("networking.service", ("multi-user.target", "network-online.target")),),
)
