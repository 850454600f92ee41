"""RedHat family: its releases, its renderer, NetworkManager's fate, name pinning.

The ``ifcfg-rh`` renderer (``packetnetworking/renderers/ifcfg_rh``) writes the
files under etc/sysconfig/network-scripts. Who reads them depends on the release
(see ``RELEASES``): the legacy network-scripts service (CentOS/Scientific 7, and
CentOS/Rocky/Alma 8 images that carry it) or NetworkManager's ifcfg-rh plugin
(RHEL, every 9, Fedora). Both read the same files; only the NetworkManager link
removals and the name pinning (udev rules, systemd ``.link`` files), kept here,
differ.
"""
import logging

from packetnetworking.builder import DistroBuilder, NetworkBuilder
from packetnetworking.distros.common import HostFilesBuilder
from packetnetworking.releases import Release
from packetnetworking.releases import names as distro_names
from packetnetworking.renderers import ifcfg_rh, markers
from packetnetworking.renderers.ifcfg_rh.builder import IfcfgBuilder
from packetnetworking.renderers.ifcfg_rh.foreign import IFCFG_RH
from packetnetworking.tasks import Task

log = logging.getLogger(__name__)

#: The links whose absence disables NetworkManager (production CentOS/Rocky/Alma images).
NM_LINKS = (
    "etc/systemd/system/dbus-org.freedesktop.NetworkManager.service",
    "etc/systemd/system/dbus-org.freedesktop.nm-dispatcher.service",
    "etc/systemd/system/multi-user.target.wants/NetworkManager.service",
)
# What happens to NetworkManager when the ifcfg-rh renderer is written.
REMOVE = "remove"                    # network-scripts always present: disable NetworkManager
REMOVE_IF_LEGACY = "remove-if-legacy"  # disable it only if the target has network-scripts
KEEP = "keep"                        # NetworkManager reads the ifcfg files

_EL7 = dict(networkmanager=REMOVE)
_EL8 = dict(networkmanager=REMOVE_IF_LEGACY)
_EL9 = dict(networkmanager=KEEP, link_files=True)   # 10 and Fedora too
_RHEL = dict(networkmanager=KEEP)                    # RHEL 7 and 8 run NetworkManager

#: Rules per distro, one per release (``Release`` of packetnetworking.releases).
RELEASES = {
    "centos": (Release((7,), **_EL7), Release((8,), **_EL8), Release((9,), **_EL9),
               Release((10,), **_EL9)),
    "scientific": (Release((7,), **_EL7),),
    "rhel": (Release((7,), **_RHEL), Release((8,), **_RHEL), Release((9,), **_EL9),
             Release((10,), **_EL9)),
    "rocky": (Release((8,), **_EL8), Release((9,), **_EL9), Release((10,), **_EL9)),
    "almalinux": (Release((8,), **_EL8), Release((9,), **_EL9), Release((10,), **_EL9)),
    "fedora": (Release((), **_EL9),),  # every Fedora release
}


class NetworkManagerRemovalBuilder(NetworkBuilder):
    """Where network-scripts run the ifcfg files, NetworkManager must not fight them:
    the links that start it are moved aside (part of the ifcfg-rh renderer only), as the
    production images disabled it. The tool did not make these links, so they are
    renamed, not deleted: systemd reads no unit under a ``.bak`` name, and renaming them
    back re-enables NetworkManager."""

    def applies(self):
        return not self.distro_builder.keeps_networkmanager()

    def build_tasks(self):
        for path in NM_LINKS:
            self.tasks[path] = Task(move_aside=True)


class NamePinningBuilder(NetworkBuilder):
    """Pin each matched NIC's name to its MAC, so the name in the config files is the
    name the NIC gets: udev rules wherever NetworkManager runs, plus systemd ``.link``
    files on releases whose naming can change (9) unless the networkd stack already
    writes its own."""

    def build_tasks(self):
        distro = self.distro_builder
        if distro.keeps_networkmanager():
            self.tasks["etc/udev/rules.d/70-persistent-net.rules"] = "70-persistent-net.rules.j2"
        if distro.release.link_files and distro.renderer != "networkd":
            for iface in self.network.physical_interfaces:
                self.tasks[f"etc/systemd/network/70-{iface.name}.link"] = self.template(
                    "name.link.j2", iface=iface)


class RedHatBuilder(DistroBuilder):
    family = "redhat"
    distros = distro_names("centos", "rhel", "scientific", "rocky", "almalinux", "fedora")
    releases = RELEASES
    network_builders = [HostFilesBuilder, NamePinningBuilder]
    native_renderers = {"ifcfg-rh": [IfcfgBuilder, NetworkManagerRemovalBuilder]}
    accepted_renderers = ("ifcfg-rh", "networkmanager", "networkd")
    renderer_configs = (IFCFG_RH,)

    _keeps_nm = None

    def detect_renderer(self):
        """Fedora and every release 10+ -> networkmanager (ifcfg-rh is gone);
        network-scripts installed -> ifcfg-rh; NetworkManager installed ->
        networkmanager on 9, ifcfg-rh (which it reads) on 7 and 8; systemd-networkd
        enabled -> networkd; else ifcfg-rh."""
        if self.os.distro == "fedora":
            return "networkmanager", "Fedora runs NetworkManager with keyfiles"
        if self.version_key >= (10,):
            return "networkmanager", (f"{self.os}: NetworkManager reads keyfiles only "
                                      "(ifcfg-rh support removed in release 10)")
        found = ifcfg_rh.network_scripts(self.target)
        if found:
            return "ifcfg-rh", f"{found} present: network-scripts installed"
        found = self.installed("networkmanager")
        if found and self.version_key >= (9,):
            return "networkmanager", f"{found} present, no network-scripts"
        if found:
            # NetworkManager before 1.40 (RHEL 8.6 and older) is what read ifcfg-rh in
            # production; the keyfile renderer is written for 1.40 and later.
            return "ifcfg-rh", (f"{found} present, no network-scripts: NetworkManager reads "
                                f"ifcfg-rh on {self.os}")
        found = self.installed("networkd")
        if found:
            return "networkd", f"{found} present: systemd-networkd enabled, no network-scripts"
        return self.production_default("ifcfg-rh")

    def keeps_networkmanager(self):
        """False only when the ifcfg-rh renderer is written for a release whose network-scripts
        run the files (then NetworkManager is disabled); decided once per run."""
        if self._keeps_nm is None:
            self._keeps_nm = self._decide_networkmanager()
        return self._keeps_nm

    def _decide_networkmanager(self):
        if self.renderer not in (None, "ifcfg-rh"):
            return True
        policy = self.release.networkmanager
        if policy != REMOVE_IF_LEGACY:
            return policy == KEEP
        if self.target.any(*markers("ifcfg-rh")):
            return False
        if self.target.any(*markers("networkmanager")):
            log.info("%s: the target has NetworkManager but not the legacy network-scripts: "
                     "NetworkManager is kept and reads the ifcfg files", self.os)
            return True
        return False  # the root tells nothing: production images run network-scripts
