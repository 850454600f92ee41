"""BuilderHook: every subclass is a hook, called at lifecycle triggers.

``trigger(name, builder, ...)`` makes a fresh instance of every hook class and
calls its ``hook_<name>(builder, ...)`` where defined. Exceptions raised in a
hook propagate: a hook that fails must stop the run, not be skipped silently.

Triggers: ``initialized`` (the network model is ready and may be edited),
``tasks_built`` (the task dict may be edited), ``written`` (after the write).
"""
import importlib.metadata
import logging
import sys

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


def trigger(name, *args, **kwargs):
    load_plugins()
    for cls in list(BuilderHook.registry):
        method = getattr(cls(), f"hook_{name}", None)
        if method is not None:
            log.debug("hook %s.%s", cls.__name__, method.__name__)
            method(*args, **kwargs)


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
