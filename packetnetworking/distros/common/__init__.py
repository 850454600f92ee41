"""Files every family writes the same way: hostname, hosts, resolv.conf."""
import logging

from packetnetworking.builder import NetworkBuilder

log = logging.getLogger(__name__)


class HostFilesBuilder(NetworkBuilder):
    """``etc/hostname``, ``etc/hosts`` and (static layouts) ``etc/resolv.conf``.

    ``resolv_conf`` names the file that takes the nameservers; a family whose
    resolv.conf is managed elsewhere (systemd-resolved) overrides it or sets
    it to None.
    """

    templates_package = "packetnetworking.distros.common"
    resolv_conf = "etc/resolv.conf"

    def build_tasks(self):
        self.tasks["etc/hostname"] = "hostname.j2"
        self.tasks["etc/hosts"] = "hosts.j2"
        if self.network.dhcp or not self.resolv_conf:
            return
        if not self.network.resolvers:
            log.warning("no resolvers (none in --resolvers nor this host's /etc/resolv.conf): "
                        "%s left alone", self.resolv_conf)
            self.keep(self.resolv_conf)
            return
        self.tasks[self.resolv_conf] = "resolv.conf.j2"

