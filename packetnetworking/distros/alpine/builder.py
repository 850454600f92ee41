"""Alpine 3.x: ifupdown-ng's /etc/network/interfaces, NIC names pinned by mdev + nameif.

Alpine does not run udev's predictable naming: the kernel names NICs eth0, eth1,
... in probe order. The files therefore use the metadata's names (eth0, eth1)
and pin them: ``etc/mactab`` maps every physical NIC's MAC to its name and a
rule appended to ``etc/mdev.conf`` runs ``nameif`` when a NIC appears.

``/etc/network/interfaces`` is written by the ``eni`` renderer in ifupdown-ng's
dialect (Alpine's ifupdown since 3.13; see ``packetnetworking/renderers/eni``).
"""
import logging
import re

from packetnetworking.builder import DistroBuilder, NetworkBuilder
from packetnetworking.distros.common import HostFilesBuilder
from packetnetworking.renderers.eni.builder import IfupdownNgInterfacesBuilder, ModulesBuilder
from packetnetworking.renderers.eni.foreign import ENI
from packetnetworking.model import _natural_key
from packetnetworking.releases import Release
from packetnetworking.releases import names as distro_names

log = logging.getLogger(__name__)

_ETH = re.compile(r"^eth(\d+)$")


def mactab_entries(net):
    """``[(name, mac)]`` for every physical NIC, sorted by name.

    Matched NICs keep their (metadata) names; every other NIC found on the
    machine is named ``ethN`` after the highest ``ethN`` in use, in MAC order, so
    that the kernel cannot hand one of the metadata names to a spare NIC.
    """
    entries = {iface.name: iface.mac for iface in net.interfaces}
    taken_macs = set(entries.values())
    numbers = [int(m.group(1)) for m in map(_ETH.match, entries) if m]
    next_number = max(numbers) + 1 if numbers else 0
    for mac in sorted({nic.mac for nic in net.nics} - taken_macs):
        while f"eth{next_number}" in entries:
            next_number += 1
        entries[f"eth{next_number}"] = mac
        next_number += 1
    return sorted(entries.items(), key=lambda item: _natural_key(item[0]))


class MdevNamesBuilder(NetworkBuilder):
    """``etc/mactab`` (every NIC) and the ``nameif`` rule appended to ``etc/mdev.conf``.

    mdev.conf is appended to, never replaced: it holds every other device rule.
    """

    def build_tasks(self):
        self.tasks["etc/mactab"] = self.template("mactab.j2", entries=mactab_entries(self.network))
        self.tasks["etc/mdev.conf"] = self.template("mdev.conf.j2", append=True)


class AlpineBuilder(DistroBuilder):
    family = "alpine"
    distros = distro_names("alpine")
    releases = {"alpine": (Release((3,)),)}
    network_builders = [HostFilesBuilder]
    native_renderers = {"eni": [IfupdownNgInterfacesBuilder, ModulesBuilder, MdevNamesBuilder]}
    accepted_renderers = ("eni",)
    renderer_configs = (ENI,)

    def detect_renderer(self):
        return "eni", "Alpine runs ifupdown (etc/network/interfaces)"

    def build(self):
        # mactab pins the metadata names, so they are the names the OS will use
        for iface in self.network.interfaces:
            if iface.name != iface.meta_name:
                log.debug("alpine: %s is named %s (pinned in etc/mactab)", iface.name,
                          iface.meta_name)
                iface.name = iface.meta_name
        return super().build()
