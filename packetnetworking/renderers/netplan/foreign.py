"""What netplan reads, and which of its files configure this run's devices.

netplan reads every ``etc/netplan/*.yaml`` (and ``run/``, ``lib/``: not the
image's configuration) and merges them, so a file that names one of our
devices changes it even when netplan is the chosen stack: such files step
aside whatever the stack (our own ``50-packet.yaml`` stays).

netplan files are YAML; the tool does not depend on a YAML library, so
``read_yaml`` reads the subset netplan files use (block mappings and
sequences, one-line or multi-line flow collections, quoted and plain scalars,
comments). A file using anything else (anchors, aliases, tags, block scalars)
is not understood: if it may define devices it is moved aside, in doubt.

A device definition selects one of our devices when:

- ``ethernets``: its ``match`` selects the NIC (every key given must hold:
  ``name`` as a glob against each of the NIC's names, ``macaddress``,
  ``driver`` as a glob, an unknown driver counting as a match; an empty
  ``match`` selects every NIC); without ``match``, its id is the NIC's name;
- a bond, bridge, VLAN, tunnel, VRF...: its id names one of our devices, or it
  takes one of the selected devices in (``interfaces``, ``link``), across files.

Every file defining or referring to a selected id moves aside, so netplan never
reads a bond whose members are gone (``netplan generate`` refuses that).
"""
import fnmatch

from packetnetworking.ownership import Aside, RendererConfig, Task, always, normal_mac

#: Device types whose entries are NICs we may match, and the others (netplan(5)).
PHYSICAL = ("ethernets",)
RADIO = ("wifis", "modems")
VIRTUAL = ("bonds", "bridges", "vlans", "tunnels", "vrfs", "dummy-devices",
           "virtual-ethernets", "nm-devices")
#: Keys naming other devices a virtual device takes in or sits on.
LINK_KEYS = ("interfaces", "link", "peer")


class Unreadable(ValueError):
    """The file uses YAML this reader does not handle."""


def step_aside(scan):
    devices = scan.devices
    found = {}
    definitions = []  # (path, kind, id, props)
    for path, text in scan.files.items():
        try:
            document = read_yaml(text)
        except Unreadable as err:
            if _may_define_devices(text, devices):
                found[path] = Aside(Task(move_aside=True),
                                    f"could not be read as plain netplan YAML ({err}) and may "
                                    "configure these devices: moved aside in doubt")
            continue
        for kind, ident, props in _definitions(document):
            definitions.append((path, kind, ident, props))
    selected = _selected_ids(definitions, devices)
    for path, kind, ident, props in definitions:
        if path in found:
            continue
        if ident in selected:
            found[path] = Aside(Task(move_aside=True), f"defines {kind}.{ident}, which "
                                f"{selected[ident]}")
            continue
        for link in _links(props):
            if link in selected:
                found[path] = Aside(Task(move_aside=True), f"puts {link} (which "
                                    f"{selected[link]}) into {kind}.{ident}")
                break
    return found


def _definitions(document):
    network = document.get("network") if isinstance(document, dict) else None
    if not isinstance(network, dict):
        return
    for kind in PHYSICAL + RADIO + VIRTUAL:
        entries = network.get(kind)
        if isinstance(entries, dict):
            for ident, props in entries.items():
                yield kind, str(ident), props if isinstance(props, dict) else {}


def _links(props):
    for key in LINK_KEYS:
        value = props.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                yield item


def _selected_ids(definitions, devices):
    """``{id: reason}`` of the definitions that configure one of ``devices``."""
    selected = {}
    for _, kind, ident, props in definitions:
        if kind in PHYSICAL:
            reason = _physical_selects(ident, props, devices)
        elif kind in VIRTUAL:
            device = devices.named(ident)
            reason = f"is {device.name}" if device else None
        else:
            reason = None
        if reason and ident not in selected:
            selected[ident] = reason
    changed = True
    while changed:  # a bridge over a bond over our NICs: follow the links to the end
        changed = False
        for _, kind, ident, props in definitions:
            if kind not in VIRTUAL or ident in selected:
                continue
            for link in _links(props):
                device = devices.named(link)
                if link in selected or device is not None:
                    selected[ident] = f"takes in {link}" + (
                        f" ({device.name})" if device and link not in selected else "")
                    changed = True
                    break
    return selected


def _physical_selects(ident, props, devices):
    match = props.get("match")
    if match is None:
        device = devices.named(ident)
        return f"is {device.name}" if device else None
    if not isinstance(match, dict) or not match:
        return "matches every NIC (empty match)" if devices.nics else None
    for device in devices.nics:
        if _match_holds(match, device):
            shown = ", ".join(f"{k}: {_show(v)}" for k, v in match.items())
            return f"matches {device.name} (match {shown})"
    return None


def _show(value):
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


def _match_holds(match, device):
    for key, value in match.items():
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if key == "name":
            if not any(fnmatch.fnmatchcase(alias, v) for v in values for alias in device.aliases):
                return False
        elif key == "macaddress":
            if not any(normal_mac(v) == device.mac for v in values):
                return False
        elif key == "driver":
            if device.driver and not any(fnmatch.fnmatchcase(device.driver, v) for v in values):
                return False
        # any other key: netplan may know it, we do not: it might hold
    return True


def _may_define_devices(text, devices):
    lowered = text.lower()
    if any(kind in lowered for kind in PHYSICAL + VIRTUAL):
        return True
    return devices.mentioned(text.replace(":", " : ").split()) is not None


# --- a YAML subset reader ------------------------------------------------------------------

class _Line:
    __slots__ = ("indent", "text")

    def __init__(self, indent, text):
        self.indent = indent
        self.text = text


def read_yaml(text):
    """The document in ``text`` as dicts, lists and strings (None for empty values)."""
    lines = _lines(text)
    if not lines:
        return None
    if lines[0].text[0] in "[{" and len(lines) == 1:  # the document is one flow node
        return _value(lines[0].text)
    value, end = _block(lines, 0, lines[0].indent)
    if end != len(lines):
        raise Unreadable(f"unexpected indentation: {lines[end].text!r}")
    return value


def _lines(text):
    lines = []
    pending = None
    for raw in text.splitlines():
        content = _without_comment(raw)
        stripped = content.strip()
        if pending is not None:
            pending.text += " " + stripped
            if _balanced(pending.text):
                lines.append(pending)
                pending = None
            continue
        if not stripped:
            continue
        if stripped in ("---", "...") or stripped.startswith("%"):
            continue
        head = content[:len(content) - len(content.lstrip())]
        if "\t" in head:
            raise Unreadable("a tab in the indentation")
        line = _Line(len(head), stripped)
        if _balanced(stripped):
            lines.append(line)
        else:
            pending = line
    if pending is not None:
        raise Unreadable("an unclosed flow collection")
    return lines


def _scan(text):
    """``(index, char, quoted)`` for each character of ``text`` outside an escape, with
    whether it lies inside a quoted scalar (a quote opens a scalar only where a YAML
    token may start: a plain scalar such as ``it's`` holds quotes)."""
    quote = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if quote == '"' and char == "\\":
                i += 2
                continue
            if char == quote:
                if quote == "'" and text[i + 1:i + 2] == "'":
                    i += 2
                    continue
                quote = None
            yield i, char, True
        elif char in "\"'" and (i == 0 or text[i - 1] in " \t[{,:-"):
            quote = char
            yield i, char, True
        else:
            yield i, char, False
        i += 1


def _without_comment(line):
    for i, char, quoted in _scan(line):
        if char == "#" and not quoted and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _balanced(text):
    depth = 0
    for _, char, quoted in _scan(text):
        if not quoted:
            depth += (char in "[{") - (char in "]}")
    return depth <= 0


def _is_item(text):
    return text == "-" or text.startswith("- ")


def _block(lines, i, indent):
    if _is_item(lines[i].text):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _mapping(lines, i, indent):
    result = {}
    while i < len(lines) and lines[i].indent == indent and not _is_item(lines[i].text):
        key, rest = _split_key(lines[i].text)
        i += 1
        if rest:
            value = _value(rest)
        elif i < len(lines) and (lines[i].indent > indent
                                 or (lines[i].indent == indent and _is_item(lines[i].text))):
            value, i = _block(lines, i, lines[i].indent)
        else:
            value = None
        result[key] = value
    if i < len(lines) and lines[i].indent > indent:
        raise Unreadable(f"unexpected indentation: {lines[i].text!r}")
    return result, i


def _sequence(lines, i, indent):
    items = []
    while i < len(lines) and lines[i].indent == indent and _is_item(lines[i].text):
        rest = lines[i].text[1:].lstrip()
        if not rest:
            i += 1
            if i < len(lines) and lines[i].indent > indent:
                value, i = _block(lines, i, lines[i].indent)
            else:
                value = None
        elif _is_item(rest) or _is_entry(rest):
            # "- key: value" or "- - item": a mapping or sequence starting after the dash
            lines[i] = _Line(indent + len(lines[i].text) - len(rest), rest)
            value, i = _block(lines, i, lines[i].indent)
        else:
            value = _value(rest)
            i += 1
        items.append(value)
    return items, i


def _is_entry(text):
    """Whether ``text`` starts a mapping (``key: value``, ``"key": value``)."""
    if text[0] in "[{":
        return False
    if text[0] in "\"'":
        try:
            _, end = _quoted(text, 0)
        except Unreadable:
            return False
        return text[end:].lstrip().startswith(":")
    return _key_end(text) is not None


def _key_end(text):
    """Index of the ``:`` ending a plain key (followed by a space or the end), or None."""
    for i, char in enumerate(text):
        if char == ":" and (i + 1 == len(text) or text[i + 1] == " "):
            return i
    return None


def _split_key(text):
    if text.startswith("?"):
        raise Unreadable("a complex key")
    if text[0] in "\"'":
        key, end = _quoted(text, 0)
        rest = text[end:].lstrip()
        if not rest.startswith(":"):
            raise Unreadable(f"a quoted key without a value: {text!r}")
        return key, rest[1:].strip()
    end = _key_end(text)
    if end is None:
        raise Unreadable(f"a line that is not a key: {text!r}")
    return text[:end].strip(), text[end + 1:].strip()


def _value(text):
    if text[0] in "&*!|>":
        raise Unreadable(f"anchors, aliases, tags and block scalars are not read: {text!r}")
    if text[0] in "[{":
        value, end = _flow(text, 0)
        if text[end:].strip():
            raise Unreadable(f"text after a flow collection: {text!r}")
        return value
    if text[0] in "\"'":
        value, end = _quoted(text, 0)
        if text[end:].strip():
            raise Unreadable(f"text after a quoted string: {text!r}")
        return value
    return text.strip()


_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", " ": " ", "0": "\0"}


def _quoted(text, pos):
    quote = text[pos]
    out = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if quote == "'" and char == "'":
            if text[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if quote == '"' and char == "\\":
            escaped = _ESCAPES.get(text[i + 1:i + 2])
            if escaped is None:
                raise Unreadable(f"an escape this reader does not decode: {text[i:i + 2]!r}")
            out.append(escaped)
            i += 2
            continue
        if quote == '"' and char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise Unreadable("an unclosed quoted string")


def _skip(text, pos):
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _flow(text, pos):
    """A flow collection or scalar at ``pos``: ``(value, position after it)``."""
    pos = _skip(text, pos)
    if pos >= len(text):
        raise Unreadable("a flow collection ends too early")
    opener = text[pos]
    if opener in "[{":
        closer = "]" if opener == "[" else "}"
        items = [] if opener == "[" else {}
        pos = _skip(text, pos + 1)
        while True:
            if pos >= len(text):
                raise Unreadable("an unclosed flow collection")
            if text[pos] == closer:
                return items, pos + 1
            if opener == "[":
                value, pos = _flow(text, pos)
                items.append(value)
            else:
                key, pos = _flow_scalar(text, pos, key=True)
                pos = _skip(text, pos)
                value = None
                if pos < len(text) and text[pos] == ":":
                    value, pos = _flow(text, pos + 1)
                items[key] = value
            pos = _skip(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos = _skip(text, pos + 1)
            elif pos < len(text) and text[pos] != closer:
                raise Unreadable(f"unexpected {text[pos]!r} in a flow collection")
    if opener in "&*!|>":
        raise Unreadable("anchors, aliases, tags and block scalars are not read")
    return _flow_scalar(text, pos)


def _flow_scalar(text, pos, key=False):
    pos = _skip(text, pos)
    if pos < len(text) and text[pos] in "\"'":
        return _quoted(text, pos)
    start = pos
    while pos < len(text):
        char = text[pos]
        if char in ",]}":
            break
        if key and char == ":" and (pos + 1 == len(text) or text[pos + 1] in " ,]}\"'"):
            break
        pos += 1
    return text[start:pos].strip(), pos


#: The netplan stack's files; a foreign file that names our devices steps aside
#: whatever the stack, netplan included (netplan merges every file with ours).
CONFIG = RendererConfig(
    name="netplan",
    reads=("etc/netplan/*.yaml",),
    step_aside=step_aside,
    aside_when_chosen=always,
)
