"""Debian family (Debian, Ubuntu): its releases, its renderer, its host files.

Renderers: ``eni`` (ifupdown's /etc/network/interfaces with ifenslave bonds and
``bonding`` in ``etc/modules``, see ``packetnetworking/renderers/eni``) plus, for
``eni``, ``etc/udev/rules.d/70-persistent-net.rules`` (NIC names pinned by MAC);
``netplan``, ``networkmanager``, ``networkd``. Always: ``etc/hostname``, ``etc/hosts`` and the
nameservers in ``etc/resolv.conf`` or, where that is systemd-resolved's stub,
``etc/systemd/resolved.conf``. What differs per release is in ``releases.py``.
"""
import logging

from packetnetworking.builder import DistroBuilder, NetworkBuilder
from packetnetworking.distros.common import HostFilesBuilder
from packetnetworking.distros.debian import releases
from packetnetworking.renderers.eni.builder import EniInterfacesBuilder, ModulesBuilder
from packetnetworking.renderers.eni.foreign import ENI
from packetnetworking.releases import names as distro_names

log = logging.getLogger(__name__)

TEMPLATES = "packetnetworking.distros.debian"
RESOLVED_CONF = "etc/systemd/resolved.conf"


def _release(network_builder):
    """The distro builder's Release (the newest Debian rule when built standalone)."""
    release = getattr(network_builder.distro_builder, "release", None)
    return release if release is not None else releases.DEBIAN[-1]


def _resolved_stub(distro_builder):
    """True when the target's etc/resolv.conf leads to systemd-resolved's stub.

    Writing through that link would land in run/, a tmpfs at boot: the servers
    would vanish. Resolved inside the target root, as the writer does.
    """
    target = getattr(distro_builder, "target", None)
    resolved = target.resolved("etc/resolv.conf") if target is not None else None
    return bool(resolved) and resolved.startswith("run/systemd/resolve/")


class DebianHostFilesBuilder(HostFilesBuilder):
    """hostname, hosts, and the nameservers where the release reads them.

    Ubuntu 17.10+ points ``etc/resolv.conf`` at systemd-resolved's stub, and so
    does any Debian image running systemd-resolved: the servers go to
    ``etc/systemd/resolved.conf`` (``[Resolve] DNS=``) and the link is left
    alone. Nothing is written for DHCP (the lease brings the servers).
    """

    def uses_resolved(self):
        return _release(self).resolved or _resolved_stub(self.distro_builder)

    @property
    def resolv_conf(self):
        return None if self.uses_resolved() else "etc/resolv.conf"

    def build_tasks(self):
        super().build_tasks()
        if not self.uses_resolved() or self.network.dhcp:
            return
        if not self.network.resolvers:
            log.warning("no resolvers (none in --resolvers nor this host's /etc/resolv.conf): "
                        "%s left alone", RESOLVED_CONF)
            self.keep(RESOLVED_CONF)
            return
        self.tasks[RESOLVED_CONF] = f"{TEMPLATES}:resolved.conf.j2"


class UdevRulesBuilder(NetworkBuilder):
    """Pin every matched NIC's name by MAC, so the names in the files are the real ones."""

    def build_tasks(self):
        self.tasks["etc/udev/rules.d/70-persistent-net.rules"] = "70-persistent-net.rules.j2"


class DebianBuilder(DistroBuilder):
    """Debian 9-13. ``release`` holds the version's rules (see releases.py)."""

    family = "debian"
    distros = distro_names("debian")
    releases = {"debian": releases.DEBIAN, "ubuntu": releases.UBUNTU}
    network_builders = [DebianHostFilesBuilder]
    native_renderers = {"eni": [EniInterfacesBuilder, ModulesBuilder, UdevRulesBuilder]}
    accepted_renderers = ("eni", "netplan", "networkmanager", "networkd")
    renderer_configs = (ENI,)

    def detect_renderer(self):
        """ifupdown installed -> eni (as production images); netplan installed ->
        netplan; NetworkManager installed -> networkmanager; systemd-networkd enabled
        -> networkd; else eni, and netplan on Ubuntu 17.10+ (what a stock image runs)."""
        found = self.first_installed(
            ("eni", "{} present: ifupdown installed"),
            ("netplan", "{} present, no ifupdown"),
            ("networkmanager", "{} present, no ifupdown or netplan"),
            ("networkd", "{} present: systemd-networkd enabled, no ifupdown or netplan"))
        if found:
            return found
        if self.os.distro == "ubuntu" and self.version_key >= (17, 10):
            return self.production_default("netplan", "stock Ubuntu 17.10+ runs netplan")
        return self.production_default("eni")


class UbuntuBuilder(DebianBuilder):
    """Ubuntu 16.04-24.04: as Debian; 17.10 and later use systemd-resolved."""

    distros = distro_names("ubuntu")
