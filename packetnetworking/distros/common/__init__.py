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


def pick_release(os_info, table, family):
    """The rule of ``table`` (``{major version: rule}``, oldest first) for ``os_info``'s
    major version; a version without a rule gets the newest one, with a WARNING."""
    if os_info.major in table:
        return table[os_info.major]
    newest = list(table)[-1]
    log.warning("%s %r has no %s rule (known: %s): using the rules for %s %s",
                os_info.distro, os_info.version or "(no version)", family,
                ", ".join(str(v) for v in table), os_info.distro, newest)
    return table[newest]
