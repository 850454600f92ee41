"""Loggers that import the standard ``logging`` module only when a message is kept.

Importing ``logging`` (with the ``traceback``, ``string`` and ``textwrap`` it pulls
in) costs about 8 ms, a quarter of what a run spends beyond its unavoidable
imports, and a run at the default verbosity usually logs nothing it keeps: its
messages are debug and info ones, below the level the CLI shows
(docs/performance.md).

``get(name)`` returns a logger with the usual methods (``debug`` ... ``exception``,
``log``, ``isEnabledFor``). Used as a library, every message goes straight to
``logging.getLogger(name)``. The CLI calls ``drop_below(level, setup)``: messages
under ``level`` are then dropped on the spot (the CLI's root level would drop them
anyway), and the first message at or over it imports ``logging``, runs
``setup(logging)`` once (handlers and levels) and is handed over. ``ensure()`` runs
that set-up now: the CLI calls it before loading third-party code (plugins,
requests) whose own stdlib loggers must meet the same handlers.
"""
DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50

_floor = 0       # messages under this level are dropped without importing logging
_setup = None    # set-up still to run before the first message reaches logging


def drop_below(level, setup=None):
    """Drop messages under ``level``; ``setup(logging)`` runs before the first other one."""
    global _floor, _setup
    _floor, _setup = level, setup


def reset():
    """Back to library behaviour: every message goes to ``logging``, no pending set-up."""
    drop_below(0)


def ensure():
    """Import ``logging``, run the pending set-up if any, and return the module."""
    global _setup
    import logging

    setup, _setup = _setup, None
    if setup is not None:
        setup(logging)
    return logging


class Logger:
    """A stand-in for ``logging.getLogger(name)`` that may never need it."""

    def __init__(self, name):
        self.name = name
        self._logger = None

    def _real(self):
        if self._logger is None or _setup is not None:
            self._logger = ensure().getLogger(self.name)
        return self._logger

    def isEnabledFor(self, level):
        return level >= _floor and self._real().isEnabledFor(level)

    def log(self, level, msg, *args, **kwargs):
        self._at(level, msg, args, kwargs)

    def debug(self, msg, *args, **kwargs):
        self._at(DEBUG, msg, args, kwargs)

    def info(self, msg, *args, **kwargs):
        self._at(INFO, msg, args, kwargs)

    def warning(self, msg, *args, **kwargs):
        self._at(WARNING, msg, args, kwargs)

    def error(self, msg, *args, **kwargs):
        self._at(ERROR, msg, args, kwargs)

    def critical(self, msg, *args, **kwargs):
        self._at(CRITICAL, msg, args, kwargs)

    def exception(self, msg, *args, exc_info=True, **kwargs):
        self._at(ERROR, msg, args, dict(kwargs, exc_info=exc_info))

    def _at(self, level, msg, args, kwargs):
        if level >= _floor:
            # the record names the caller of debug()/log()..., not this module
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2
            self._real().log(level, msg, *args, **kwargs)

    def __repr__(self):
        return f"<packetnetworking.lazylog.Logger {self.name}>"


def get(name):
    """The logger for ``name`` (usually ``__name__``)."""
    return Logger(name)

