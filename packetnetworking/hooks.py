"""BuilderHook: every subclass is a hook, called at lifecycle triggers.

``trigger(name, builder, ...)`` makes a fresh instance of every hook class and
calls its ``hook_<name>(builder, ...)`` where defined. A hook that fails stops the
run, it is never skipped silently: a PacketNetworkingError keeps its message and
exit code, anything else (SystemExit and other BaseExceptions included) becomes a
HookError naming the hook class (exit 70).

Triggers: ``initialized`` (the network model is ready and may be edited),
``tasks_built`` (the task dict may be edited), ``written`` (every file is in place, inside
the writer's transaction: a hook that fails there undoes the run).
"""
import os
import sys

from packetnetworking import lazylog
from packetnetworking.errors import EXIT_INTERNAL, PacketNetworkingError

log = lazylog.get(__name__)

HOOK_ENTRY_POINTS = "packetnetworking.hooks"
DISTRO_ENTRY_POINTS = "packetnetworking.distros"
PLUGIN_GROUPS = (HOOK_ENTRY_POINTS, DISTRO_ENTRY_POINTS)


class BuilderHook:
    registry = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        BuilderHook.registry.append(cls)


_PLUGINS = None


def entry_points(group):
    """The installed entry points of ``group``.

    The plugin groups are looked up once per process, together. Most installs
    have no plugin: a plain look at the ``entry_points.txt`` files on sys.path
    settles that without importing importlib.metadata, whose full scan of every
    installed distribution costs more than the rest of a run (docs/performance.md).
    When any file names one of the groups, importlib.metadata does the real work.
    """
    global _PLUGINS
    if group not in PLUGIN_GROUPS:
        return _select(_all_entry_points(), group)
    if _PLUGINS is None:
        found = {}
        if _may_declare(PLUGIN_GROUPS):
            everything = _all_entry_points()
            found = {name: _select(everything, name) for name in PLUGIN_GROUPS}
        _PLUGINS = found
    return list(_PLUGINS.get(group, []))


def _all_entry_points():
    from importlib import metadata as importlib_metadata

    lazylog.ensure()  # plugins about to load may log through the logging module

    return importlib_metadata.entry_points()


def _select(everything, group):
    if hasattr(everything, "select"):
        return list(everything.select(group=group))
    return list(everything.get(group, []))  # Python 3.9: {group: [EntryPoint]}


def _may_declare(groups):
    """False only when no distribution importlib.metadata could see names ``groups``.

    Reads, without parsing, the ``entry_points.txt`` of every ``*.dist-info`` and
    ``*.egg-info`` directory on sys.path (and ``EGG-INFO`` of ``.egg`` entries). A
    false alarm only costs the full scan; anything this cannot look into (a zip on
    sys.path, a custom finder serving distributions) counts as a match.
    """
    import importlib.machinery

    for finder in sys.meta_path:
        if (getattr(finder, "find_distributions", None) is not None
                and finder is not importlib.machinery.PathFinder):
            return True
    needles = [group.encode("utf-8") for group in groups]
    for entry in sys.path:
        path = entry or "."
        try:
            names = os.listdir(path)
        except NotADirectoryError:
            return True      # a zip or egg file: importlib.metadata can read into it
        except OSError:
            continue         # missing or unreadable: importlib.metadata skips it too
        is_egg = path.lower().endswith(".egg")
        for name in names:
            low = name.lower()
            if not (low.endswith((".dist-info", ".egg-info")) or (is_egg and low == "egg-info")):
                continue
            text = _read_file(os.path.join(path, name, "entry_points.txt"))
            if text is not None and any(needle in text for needle in needles):
                return True
    return False


def _read_file(path):
    """The bytes of ``path``, or None if it cannot be read (most distributions have no
    entry_points.txt). os-level calls: ``open()`` builds a file object per attempt,
    which doubled the cost of this scan over the hundred distributions of a full
    system Python."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)


_LOADED = False


def load_plugins():
    """Import third-party hook classes (entry-point group ``packetnetworking.hooks``)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for entry in entry_points(HOOK_ENTRY_POINTS):
        log.debug("loading hook plugin %s", entry.value)
        entry.load()


class HookError(PacketNetworkingError):
    """A hook raised something other than a PacketNetworkingError (SystemExit and other
    BaseExceptions included): a bug in the hook, exit 70. Nothing stays written."""

    exit_code = EXIT_INTERNAL
    hint = "the target was left as it was; fix or remove the hook"


def trigger(name, *args, **kwargs):
    """Call ``hook_<name>`` of every hook. A PacketNetworkingError a hook raises keeps its
    message and exit code, Ctrl-C stays an interrupt; anything else becomes a HookError
    naming the hook class."""
    load_plugins()
    for cls in list(BuilderHook.registry):
        try:
            method = getattr(cls(), f"hook_{name}", None)
            if method is not None:
                log.debug("hook %s.hook_%s", cls.__name__, name)
                method(*args, **kwargs)
        except (PacketNetworkingError, KeyboardInterrupt):
            raise
        except BaseException as err:
            detail = " ".join(str(err).split())
            raise HookError(f"hook {cls.__name__} failed in hook_{name}: "
                            f"{type(err).__name__}{': ' + detail if detail else ''}") from err


class SingleInterfaceHook(BuilderHook):
    """Single-NIC plans: only the first interface is cabled, so configure only it."""

    plans = ("baremetal_1e", "x1.small.x86")

    def hook_initialized(self, builder):
        network = builder.network
        if network.plan in self.plans and len(network.interfaces) > 1:
            log.info("plan %s: keeping only %s", network.plan, network.interfaces[0].name)
            del network.interfaces[1:]


class LogicalInterfaceNamesHook(BuilderHook):
    """Plans whose OS keeps the kernel's names: configure those, not udev's."""

    plans = ("baremetal_hua",)

    def hook_initialized(self, builder):
        network = builder.network
        if network.plan in self.plans:
            for iface in network.interfaces:
                iface.name = iface.logical_name or iface.name
