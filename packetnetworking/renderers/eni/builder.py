"""The ``eni`` renderer's files: ``etc/network/interfaces`` in Debian's ifupdown or
Alpine's ifupdown-ng dialect, and ``bonding`` appended to ``etc/modules``.

Both dialects print the device list of ``devices.py``; a family picks the
builders of its dialect in its ``native_renderers``.
"""
from packetnetworking.builder import NetworkBuilder
from packetnetworking.renderers.eni.devices import eni_devices
from packetnetworking.renderers.eni.foreign import INTERFACES


class EniInterfacesBuilder(NetworkBuilder):
    """``etc/network/interfaces`` for Debian's ifupdown + ifenslave, every layout.

    Debian 10's ifenslave wants the bond before its members: the family's release
    rule says so (``Release.bond_first``)."""

    interfaces_template = "interfaces.j2"

    def build_tasks(self):
        self.tasks[INTERFACES] = self.interfaces_template

    def bond_first(self):
        release = getattr(self.distro_builder, "release", None)
        return bool(getattr(release, "bond_first", False))

    def context(self):
        return {"devices": eni_devices(self.network, bond_first=self.bond_first())}


class IfupdownNgInterfacesBuilder(EniInterfacesBuilder):
    """``etc/network/interfaces`` for ifupdown-ng (Alpine 3.13+): ``use bond`` +
    ``bond-members``, addresses in CIDR form; also parses with Debian's ifupdown."""

    interfaces_template = "interfaces-ng.j2"

    def bond_first(self):
        return False


class ModulesBuilder(NetworkBuilder):
    """Append ``bonding`` to ``etc/modules`` so the module is loaded at boot."""

    def applies(self):
        return bool(self.network.bonds)

    def build_tasks(self):
        self.tasks["etc/modules"] = self.template("modules.j2", append=True)
