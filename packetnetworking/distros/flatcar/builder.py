"""Flatcar Container Linux: systemd-networkd files (the shared ``networkd`` stack).

Flatcar runs systemd-resolved, and ``etc/resolv.conf`` is its link into /run:
the nameservers go into the networkd files (``DNS=``), where resolved reads
them, and the link is left alone. ``etc/hostname`` and ``etc/hosts`` are
written as for every family.
"""
from packetnetworking.builder import DistroBuilder
from packetnetworking.distros.common import HostFilesBuilder
from packetnetworking.releases import names as distro_names


class FlatcarHostFilesBuilder(HostFilesBuilder):
    resolv_conf = None


class FlatcarBuilder(DistroBuilder):
    family = "flatcar"
    distros = distro_names("flatcar")
    network_builders = [FlatcarHostFilesBuilder]
    accepted_renderers = ("networkd",)

    def detect_renderer(self):
        return "networkd", "Flatcar Container Linux runs systemd-networkd"
