"""The subset of YAML netplan files use, read without a YAML library (the tool does not
depend on one): block mappings and sequences, one-line or multi-line flow
collections, quoted and plain scalars, comments. Anything else (anchors, aliases,
tags, block scalars) raises ``Unreadable``; foreign.py decides what that means.
"""
import dataclasses


class Unreadable(ValueError):
    """The file uses YAML this reader does not handle."""


@dataclasses.dataclass
class _Line:
    """One logical line: its indentation and its text (a flow collection spanning several
    lines is joined into one)."""

    indent: int
    text: str


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
