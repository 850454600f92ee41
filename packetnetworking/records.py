"""Small value classes without ``dataclasses``.

Creating a dataclass generates the source of ``__init__``, ``__repr__``, ``__eq__``
and ``__hash__`` and compiles it with ``exec()``: with a dozen of them that was
~9 ms of every run (docs/performance.md), more than the rest of the model costs.
Here the methods are written once, on two base classes, and each record writes
its own ``__init__``; the fields are read from that ``__init__``'s parameters,
once per class.

- ``Record``: mutable; ``==`` field by field, same class only; unhashable (as a
  dataclass with ``eq=True``); ``repr`` like a dataclass: ``Name(a=1, b='x')``;
  ``replace(**changes)`` returns a copy with some fields changed.
- ``FrozenRecord``: the same, immutable and hashable. Its ``__init__`` stores the
  fields with ``self.__dict__.update(...)``, since assignment is refused.

Per-field opt-outs, as class attributes naming fields: ``_not_in_repr`` (left out
of ``repr``) and ``_not_compared`` (left out of ``==`` and of the hash).
"""
from operator import attrgetter


def _tuple_getter(names):
    """A function of a record returning the tuple of the named fields."""
    if len(names) == 1:  # attrgetter of one name returns the value itself
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return attrgetter(*names) if names else lambda obj: ()


class FrozenRecordError(AttributeError):
    """An attribute of a frozen record was assigned or deleted."""


class Record:
    """Base of mutable records. Subclasses define ``__init__`` with one parameter per field."""

    _fields = ()        # every field, in __init__ order: set per class below
    _repr_fields = ()
    _key = staticmethod(_tuple_getter(()))  # the compared fields of a record, as a tuple
    _not_in_repr = ()
    _not_compared = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        code = getattr(cls.__init__, "__code__", None)
        if code is None:  # no __init__ yet: a base class such as FrozenRecord, no fields
            return
        cls._fields = code.co_varnames[1:code.co_argcount + code.co_kwonlyargcount]
        unknown = set(cls._not_in_repr + cls._not_compared) - set(cls._fields)
        if unknown:
            raise TypeError(f"{cls.__qualname__}: {', '.join(sorted(unknown))} is not a "
                            "parameter of __init__")
        cls._repr_fields = tuple(n for n in cls._fields if n not in cls._not_in_repr)
        cls._key = staticmethod(_tuple_getter(
            [n for n in cls._fields if n not in cls._not_compared]))

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key(self) == self._key(other)

    __hash__ = None  # mutable: a hash would change with the fields

    def __repr__(self):
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_fields)
        return f"{self.__class__.__qualname__}({fields})"

    def replace(self, **changes):
        """A new record with the fields of this one, ``changes`` applied (through
        ``__init__``, as ``dataclasses.replace`` does)."""
        unknown = changes.keys() - self._fields
        if unknown:
            raise TypeError(f"{self.__class__.__qualname__} has no field "
                            f"{', '.join(sorted(unknown))}")
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return self.__class__(**values)


class FrozenRecord(Record):
    """Base of immutable, hashable records."""

    def __hash__(self):
        return hash(self._key(self))

    def __setattr__(self, name, value):
        raise FrozenRecordError(f"cannot assign to {name!r}: {self.__class__.__qualname__} is "
                                "frozen (use .replace())")

    def __delattr__(self, name):
        raise FrozenRecordError(f"cannot delete {name!r}: {self.__class__.__qualname__} is "
                                "frozen")

