"""SUSE family (openSUSE, SLES): its releases, its renderer, its host files.

The ``wicked`` renderer (``packetnetworking/renderers/wicked``) writes SUSE's
ifcfg files under etc/sysconfig/network; from release 16 the family runs
NetworkManager (``networkmanager`` renderer).
"""
import logging

from packetnetworking.builder import DistroBuilder
from packetnetworking.distros.common import HostFilesBuilder
from packetnetworking.renderers.wicked.builder import (
    SYSCONFIG, NetconfigDNSBuilder, WickedBuilder)
from packetnetworking.renderers.wicked.foreign import SUSE_IFCFG
from packetnetworking.releases import Release
from packetnetworking.releases import names as distro_names

log = logging.getLogger(__name__)

#: One rule per release: the renderer is chosen from the version (wicked until 15,
#: NetworkManager from 16) and the target. Leap 42.x came between 13.2 and 15.
RELEASES = {
    "opensuse": (Release((42,)), Release((15,)), Release((16,))),
    "sles": (Release((12,)), Release((15,)), Release((16,))),
}

#: openSUSE Leap 42.x came before Leap 15 and ran wicked.
BEFORE_15 = (42,)


def resolv_conf_in_run(distro_builder):
    """True when the target's etc/resolv.conf leads into run/ (Leap links it to
    /run/netconfig/resolv.conf): run/ is a tmpfs at boot, a file written there is lost."""
    resolved = distro_builder.target.resolved("etc/resolv.conf")
    return bool(resolved) and resolved.startswith(("run/", "var/run/"))


class SuseHostFilesBuilder(HostFilesBuilder):
    """hostname, hosts and resolv.conf; when resolv.conf is netconfig's link into run/,
    the link is left alone: netconfig writes it at boot from NETCONFIG_DNS_STATIC_SERVERS."""

    @property
    def resolv_conf(self):
        if resolv_conf_in_run(self.distro_builder):
            log.info("etc/resolv.conf leads into run/ (netconfig's): left alone, the servers "
                     "go to %s/config", SYSCONFIG)
            return None
        return "etc/resolv.conf"


class SuseBuilder(DistroBuilder):
    family = "suse"
    distros = distro_names("opensuse", "sles")
    releases = RELEASES
    network_builders = [SuseHostFilesBuilder]
    native_renderers = {"wicked": [WickedBuilder, NetconfigDNSBuilder]}
    accepted_renderers = ("wicked", "networkmanager")
    renderer_configs = (SUSE_IFCFG,)

    def detect_renderer(self):
        """16+ -> networkmanager (wicked is gone); wicked installed -> wicked;
        NetworkManager installed -> networkmanager; else wicked."""
        version = self.version_key
        if version >= (16,) and version[0] not in BEFORE_15:
            return "networkmanager", f"{self.os}: NetworkManager (wicked removed in release 16)"
        return (self.first_installed(("wicked", "{} present: wicked installed"),
                                     ("networkmanager", "{} present, no wicked"))
                or self.production_default("wicked"))
