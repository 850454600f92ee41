"""Reading a JSON document's fields with messages that name the offending one:
``network.bonding.mode: expected an integer, got a string`` (MetadataError)."""
from packetnetworking.errors import MetadataError


class Fields:
    """Small typed accessors that name the offending field on failure."""

    def __init__(self, obj, path):
        if not isinstance(obj, dict):
            raise MetadataError(f"{path or 'metadata'}: expected an object, got {kind_of(obj)}")
        self.obj = obj
        self.path = path

    def name(self, key):
        return f"{self.path}.{key}" if self.path else key

    def get(self, key, kinds, required=True, default=None):
        if key not in self.obj or self.obj[key] is None:
            if required:
                raise MetadataError(f"{self.name(key)}: missing")
            return default
        value = self.obj[key]
        # bool is an int subclass: never accept it where a number is expected
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise MetadataError(
                f"{self.name(key)}: expected {_kinds_name(kinds)}, got {kind_of(value)}")
        return value


def _tuple(kinds):
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _kinds_name(kinds):
    # "an integer" when fractions are refused, so "got 4.0" does not read as a contradiction
    names = {str: "a string", int: "a number" if float in _tuple(kinds) else "an integer",
             bool: "true or false", list: "a list", dict: "an object", float: "a number"}
    return " or ".join(dict.fromkeys(names[k] for k in _tuple(kinds)))


def kind_of(value):
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"the number {value!r}"
    return {bool: "a boolean", int: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def short(value, limit=60):
    text = repr(value) if not isinstance(value, str) else value
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."
