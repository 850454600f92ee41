"""One stack owns the NICs: every other network stack in the target steps aside.

A target image often carries several stacks (ifupdown and netplan with
cloud-init's ``50-cloud-init.yaml``; NetworkManager and an old ``ifcfg-eth0``).
Two stacks configuring one NIC race at boot. Each stack declares once, in a
``RendererConfig``, what it reads and how those files name a device; the shared
stacks do so in ``packetnetworking/renderers/<stack>/foreign.py``, the families'
own stacks in their folder (``distros/debian/foreign.py``: ifupdown,
``distros/redhat/foreign.py``: ifcfg-rh, ``distros/suse/foreign.py``: SUSE ifcfg).

After the chosen stack's builders ran, the run (``DistroBuilder.build``) asks
every other stack to step aside (``step_aside``): the files of that stack that
configure one of this run's devices (``Devices``: the matched NICs by any of
their names or their MAC, and the bonds) are moved aside, renamed with
``ASIDE_SUFFIX`` (or, for a file that also holds what other devices need,
rewritten without these devices and the original kept under that suffix).
Nothing is deleted; each file is one INFO line (``-v``) and one entry of
``--dry-run``. A stack may also step aside from itself where its own reader
would merge a foreign file with ours (``aside_when_chosen``: netplan merges
every file; networkd takes the first ``.network`` file that matches). Files
that configure only other devices are left alone.

Restoring by hand: rename ``X.packet-networking.bak`` back to ``X``.
"""
import fnmatch
import logging
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Iterable, Optional, Tuple

from packetnetworking.tasks import ASIDE_SUFFIX, Task

log = logging.getLogger(__name__)

#: Larger files are not network configuration: they are left alone.
MAX_CONFIG_BYTES = 1024 * 1024

_MAC = re.compile(r"(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}")


def normal_mac(text):
    """``0C-C4-7A-AA-00-10`` -> ``0c:c4:7a:aa:00:10``; None when ``text`` is no MAC."""
    text = text.strip().strip("\"'")
    if not _MAC.fullmatch(text):
        return None
    return text.lower().replace("-", ":")


@dataclass(frozen=True)
class Device:
    """One device this run configures, as other stacks may name it.

    ``aliases``: every name it goes by (the installed OS's, the metadata's, the
    provisioning kernel's); ``driver`` empty when unknown; ``kind`` ``ether``
    (a NIC) or ``bond``.
    """

    name: str
    aliases: FrozenSet[str]
    mac: Optional[str] = None
    driver: str = ""
    kind: str = "ether"


@dataclass(frozen=True)
class Devices:
    """The matched NICs and the bonds of this run."""

    devices: Tuple[Device, ...] = ()

    @classmethod
    def of(cls, network):
        nics = []
        for iface in network.interfaces:
            names = {iface.name, iface.meta_name, iface.logical_name} - {"", None}
            nics.append(Device(iface.name, frozenset(names), normal_mac(iface.mac),
                               iface.driver or ""))
        bonds = [Device(bond.name, frozenset({bond.name}), None, "bonding", "bond")
                 for bond in network.bonds]
        return cls(tuple(nics + bonds))

    @property
    def names(self):
        return sorted(d.name for d in self.devices)

    @property
    def nics(self):
        return [d for d in self.devices if d.kind == "ether"]

    @property
    def bonds(self):
        return [d for d in self.devices if d.kind == "bond"]

    def named(self, word):
        """The device ``word`` names: one of its names, or an alias label or VLAN on
        it (``eth0:0``, ``eth0.100``); None otherwise."""
        word = word.strip().strip("\"'")
        for candidate in (word, word.partition(":")[0], word.rpartition(".")[0],
                          word.partition(".")[0]):
            if candidate:
                for device in self.devices:
                    if candidate in device.aliases:
                        return device
        return None

    def with_mac(self, text):
        mac = normal_mac(text)
        if mac is None:
            return None
        return next((d for d in self.devices if d.mac == mac), None)

    def matching(self, pattern, devices=None):
        """Devices one of whose names matches the shell glob ``pattern``."""
        return [d for d in (self.devices if devices is None else devices)
                if any(fnmatch.fnmatchcase(name, pattern) for name in d.aliases)]

    def mentioned(self, words):
        """``(device, how)`` for the first word naming one of the devices by name or MAC."""
        for word in words:
            device = self.named(word)
            if device is not None:
                return device, f"names {device.name}" if word == device.name \
                    else f"names {device.name} ({word})"
            device = self.with_mac(word)
            if device is not None:
                return device, f"names {device.name} by its MAC {device.mac}"
        return None


@dataclass(frozen=True)
class Aside:
    """What happens to one foreign file, and why (``reason`` completes "it ...")."""

    task: Task
    reason: str


@dataclass(frozen=True)
class Scan:
    """What a stack's ``step_aside`` gets: its files that may step aside.

    ``files``: path -> text; ``ours``: paths whose current content this tool wrote
    (an earlier run, per the manifest): their original is gone, so nothing is kept
    aside for them; ``target``: the TargetRoot, for what else a file refers to.
    """

    files: Dict[str, str]
    devices: Devices
    chosen: str
    ours: FrozenSet[str] = frozenset()
    target: object = None


def never(path):
    return False


def always(path):
    return True


def move_aside_where(selects):
    """A ``step_aside`` that moves aside every file ``selects(path, text, devices)``
    gives a reason for (the stacks whose files stand alone)."""

    def step_aside(scan):
        found = {}
        for path, text in scan.files.items():
            reason = selects(path, text, scan.devices)
            if reason:
                found[path] = Aside(Task(move_aside=True), reason)
        return found

    return step_aside


@dataclass(frozen=True)
class Unit:
    """A systemd unit the stack needs enabled; ``wanted_by`` is used only when the
    unit file has no ``[Install]`` section to read."""

    name: str
    wanted_by: Tuple[str, ...] = ()


@dataclass(frozen=True)
class RendererConfig:
    """What one network stack reads and runs.

    - ``reads``: globs of the files it reads (last path part only, ``etc/netplan/*.yaml``);
    - ``ignores``: name endings its reader skips (backups);
    - ``step_aside(scan) -> {path: Aside}``: what becomes of those files that
      configure this run's devices when another stack owns them;
    - ``aside_when_chosen(path)``: files that step aside even when this stack is the
      chosen one (its reader would combine them with ours);
    - ``builders``: NetworkBuilder classes that tell the stack to leave the devices
      alone (each decides in ``applies()``), run whatever stack is chosen;
    - ``units``: systemd units enabled when this stack is chosen (see units.py).
    """

    name: str
    reads: Tuple[str, ...] = ()
    ignores: Tuple[str, ...] = ()
    step_aside: Callable[[Scan], Dict[str, Aside]] = field(default=lambda scan: {})
    aside_when_chosen: Callable[[str], bool] = never
    builders: Tuple[type, ...] = ()
    units: Tuple[Unit, ...] = ()

    def files(self, target):
        """Paths of the files it reads in ``target``, sorted."""
        found = []
        for pattern in self.reads:
            for path in target.glob(pattern):
                name = path.rpartition("/")[2]
                if name.endswith(ASIDE_SUFFIX) or name.endswith(self.ignores):
                    continue
                found.append(path)
        return sorted(set(found))


def step_aside(configs: Iterable[RendererConfig], chosen, devices, target, keep=(), ours=()):
    """``{path: Task}`` so that no stack but ``chosen`` configures ``devices``.

    ``keep``: paths this run writes itself (never touched here); ``ours``: paths
    whose content an earlier run of this tool wrote: they are rewritten without
    keeping them aside, and instead of moving them aside the manifest's cleanup
    removes them.
    """
    keep, ours = set(keep), frozenset(ours)
    tasks = {}
    for config in configs:
        is_chosen = config.name == chosen
        files = {}
        for path in config.files(target):
            if path in keep or path in tasks:
                continue
            if is_chosen and not config.aside_when_chosen(path):
                continue
            text = target.read(path, limit=MAX_CONFIG_BYTES + 1)
            if text is None or len(text) > MAX_CONFIG_BYTES:
                continue
            files[path] = text
        if not files:
            continue
        scan = Scan(files, devices, chosen or "", ours, target)
        for path, aside in sorted(config.step_aside(scan).items()):
            if path in keep or path in tasks or (aside.task.move_aside and path in ours):
                continue
            tasks[path] = aside.task
            log.info("%s %s: it %s; %s", path, _what(path, aside.task), aside.reason,
                     _owner(config, chosen))
    return tasks


def _what(path, task):
    if task.move_aside:
        return f"moved aside to {path}{ASIDE_SUFFIX}"
    if task.keep_aside:
        return f"rewritten without these devices (the original kept as {path}{ASIDE_SUFFIX})"
    return "rewritten without these devices"


def _owner(config, chosen):
    if config.name == chosen:
        return f"{chosen} would read it beside the files written for it"
    return f"{chosen or 'the chosen stack'} owns these devices, not {config.name}"


def words(text):
    """Whitespace-separated words of ``text`` with quotes and trailing commas taken off."""
    return [w.strip("\"',;") for w in text.split()]


def ini_sections(text, comments=("#", ";")):
    """``[(section, key, value)]`` of an INI-like file (systemd units, keyfiles), in
    order; keys keep their case, section names too."""
    entries = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(comments):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if sep:
            entries.append((section, key.strip(), value.strip()))
    return entries


def shell_assignments(text):
    """``{KEY: value}`` of a shell-style ``KEY=value`` file (ifcfg), quotes removed."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values
