"""systemd-networkd: ``.link``, ``.netdev`` and ``.network`` files in etc/systemd/network.

Files, all named ``05-packet-<device>.<kind>``:

- ``.link`` per NIC: pins the name by the NIC's permanent MAC (udev applies
  it when the NIC appears, before anything enslaves it);
- ``.netdev`` per bond: mode and options, and the MAC the bond carries (without
  it networkd >= 242 gives the bond a generated MAC the switch does not know);
- ``.network`` per NIC and per bond: what the device does (its role in the model,
  ``NetworkModel.devices``); a NIC the model leaves alone gets ``Unmanaged=yes``.

Decisions, and why:

- The prefix ``05`` sorts before netplan's generated ``10-netplan-*`` (a
  stock cloud image's netplan file still runs at boot) and the distributions'
  own defaults (``80-*``, ``99-default.link``, Flatcar's ``zz-default.network``):
  networkd and udev use the first file that matches a device.
- NICs are matched by ``PermanentMACAddress=`` (systemd >= 245): a bond takes
  its first port's MAC, and the ports take the bond's, so a ``MACAddress=``
  match would also catch the bond (or miss a port). The ``.network`` files add
  ``Name=`` (the name the ``.link`` pins), and the ``.link`` files add
  ``MACAddress=`` (a NIC shows its permanent MAC when it appears): a systemd
  older than 245 ignores ``PermanentMACAddress=`` and would otherwise read an
  empty ``[Match]``, which matches every device.
- Bond timings carry their unit (``100ms``): a bare number is seconds to networkd.
- Bonds set ``ConfigureWithoutCarrier=yes``: addresses stay while LACP
  renegotiates. Ports and address-less devices are not required for
  ``network-online`` (a NIC without a cable must not stall the boot).
- Static layouts set ``IPv6AcceptRA=no``: the metadata gives every address
  and route; a router advertisement must not add more. DHCP keeps networkd's
  defaults (IPv6 from router advertisements).
- Nameservers go in ``DNS=`` (read by systemd-resolved where it runs);
  ``etc/resolv.conf`` stays the family's business (HostFilesBuilder).
- Where NetworkManager is installed too (a RedHat or desktop image given
  ``--renderer networkd``), it is told to leave these NICs and bonds alone
  (stacks/networkmanager/foreign.py); else it would start DHCP on a NIC before
  networkd enslaves it. Foreign ``.network`` files and the units to enable are
  in foreign.py.
"""
from packetnetworking.builder import NetworkBuilder
from packetnetworking.renderers.networkd.foreign import NETWORK_DIR, PREFIX


def path(name, kind):
    return f"{NETWORK_DIR}/{PREFIX}{name}.{kind}"


class NetworkdBuilder(NetworkBuilder):
    """Every layout: links for the NICs, netdevs for the bonds, a network per device."""

    def build_tasks(self):
        net = self.network
        for device in net.nic_devices:
            self.tasks[path(device.name, "link")] = self.template("nic.link.j2", device=device)
            self.tasks[path(device.name, "network")] = self.template(
                "nic.network.j2", device=device)
        for device in net.bond_devices:
            self.tasks[path(device.name, "netdev")] = self.template(
                "bond.netdev.j2", bond=device.bond)
            self.tasks[path(device.name, "network")] = self.template(
                "bond.network.j2", device=device)


#: What ``renderers.shared_renderer()`` returns for "networkd".
BUILDERS = [NetworkdBuilder]
