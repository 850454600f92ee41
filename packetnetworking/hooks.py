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
import importlib.metadata
import logging
import sys

from packetnetworking.errors import EXIT_INTERNAL, PacketNetworkingError

log = logging.getLogger(__name__)

HOOK_ENTRY_POINTS = "packetnetworking.hooks"
DISTRO_ENTRY_POINTS = "packetnetworking.distros"


class BuilderHook:
    registry = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        BuilderHook.registry.append(cls)


def entry_points(group):
    """The installed entry points of ``group``."""
    if sys.version_info >= (3, 10):
        return list(importlib.metadata.entry_points(group=group))
    return list(importlib.metadata.entry_points().get(group, []))  # 3.9: a dict by group


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
