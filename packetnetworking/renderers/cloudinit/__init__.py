"""cloud-init: not a stack, but it writes one (netplan's ``50-cloud-init.yaml``,
ifupdown's ``interfaces.d/50-cloud-init``, NetworkManager's ``cloud-init-*``
keyfiles, ifcfg files) at every boot while its network configuration is on.

Wherever cloud-init is installed (``etc/cloud/cloud.cfg`` or
``usr/bin/cloud-init``), whatever the chosen stack,
``etc/cloud/cloud.cfg.d/99-packet-networking.cfg`` turns that off
(``network: {config: disabled}``; ``99`` sorts after the image's own
``cloud.cfg.d`` files, and the last one wins). What cloud-init already wrote
is found and moved aside by the stack that reads it.
"""
from packetnetworking.builder import NetworkBuilder
from packetnetworking.ownership import RendererConfig

MARKERS = ("etc/cloud/cloud.cfg", "usr/bin/cloud-init")
NETWORK_OFF = "etc/cloud/cloud.cfg.d/99-packet-networking.cfg"


class CloudInitNetworkOffBuilder(NetworkBuilder):
    """``network: {config: disabled}`` for cloud-init, where cloud-init is installed."""

    def applies(self):
        distro_builder = self.distro_builder
        return distro_builder is not None and distro_builder.target.any(*MARKERS)

    def build_tasks(self):
        self.tasks[NETWORK_OFF] = "network-off.cfg.j2"


CLOUD_INIT = RendererConfig(name="cloud-init", builders=(CloudInitNetworkOffBuilder,))
