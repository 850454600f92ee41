"""Discover the machine's physical NICs: lshw XML, lshw JSON, a JSON NIC list, or sysfs.

Every external command is bounded by a timeout: discovery must never hang a
provisioning run. Parsing is pure so saved captures can be tested as they are.
"""
import dataclasses
import json
import logging
import os
import re
import shutil
from typing import Optional

from packetnetworking.errors import NICError
from packetnetworking.names import check_ifname, normalize_mac

log = logging.getLogger(__name__)

LSHW_TIMEOUT = 60
UDEVADM_TIMEOUT = 10
MAX_CAPTURE_BYTES = 32 * 1024 * 1024

#: Drivers of things that are not a physical port (or are the parent of one).
VIRTUAL_DRIVERS = frozenset({
    "bonding", "bridge", "veth", "tun", "dummy", "8021q", "vlan", "macvlan", "macvtap",
    "ipvlan", "vxlan", "geneve", "team", "openvswitch", "virtio-pci", "wireguard", "vrf",
})

#: udev name properties, in the order the installed OS prefers them.
#: ``ethtool -P`` prints ``Permanent address: aa:bb:cc:dd:ee:ff``.
_PERMANENT_ADDRESS = re.compile(r"Permanent address:\s*(\S+)")

UDEV_NAME_ORDER = ("ID_NET_NAME_ONBOARD", "ID_NET_NAME_SLOT", "ID_NET_NAME_PATH", "ID_NET_NAME_MAC")


@dataclasses.dataclass(frozen=True)
class NIC:
    """A physical port: ``name`` is what the installed OS will call it, ``logical_name``
    the kernel's name now (``name`` when not given)."""

    name: str
    mac: str
    driver: str = ""
    logical_name: str = ""
    businfo: str = ""

    def __post_init__(self):
        if not self.logical_name:
            object.__setattr__(self, "logical_name", self.name)


#: What --nics-file accepts, for the messages that refuse a file.
FIX_ENTRY = "correct that entry of the NIC list"
NIC_FILE_FORMATS = ("pass `lshw -class network -xml` (or -json) output, or a JSON NIC list "
                    '[{"name": "eno1", "mac": "..."}]')


def load_nics_file(data, source="NIC file"):
    """Parse a saved lshw XML capture, an lshw JSON capture or the JSON NIC list;
    a file with no physical NIC in it is refused, naming what it should hold."""
    if len(data) > MAX_CAPTURE_BYTES:
        raise NICError(f"{source} is larger than {MAX_CAPTURE_BYTES} bytes", NIC_FILE_FORMATS)
    text = data.lstrip()
    head = text[:512].lower()
    if not head:
        raise NICError(f"{source} is empty", NIC_FILE_FORMATS)
    if head.startswith(b"<") and (b"<html" in head or b"<!doctype html" in head):
        raise NICError(f"{source} is an HTML page, not a NIC list", NIC_FILE_FORMATS)
    if head[:1] == b"<":
        nics = parse_lshw_xml(data, source)
    elif head[:1] in (b"[", b"{"):
        try:
            doc = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as err:
            raise NICError(f"{source} is not valid JSON: {err}", NIC_FILE_FORMATS) from None
        nics = parse_json(doc, source)
    else:
        raise NICError(f"{source} is neither lshw XML nor JSON", NIC_FILE_FORMATS)
    if not nics:
        raise NICError(f"{source} holds no physical NIC", NIC_FILE_FORMATS)
    return nics


def parse_lshw_xml(data, source="lshw output"):
    """Physical NICs from ``lshw -xml`` (``<list>`` or single ``<node>``, any depth)."""
    from lxml import etree  # only needed for lshw input

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise NICError(f"{source} is not valid XML: {err}",
                       "capture it again with `lshw -class network -xml`") from None
    if root is None:
        raise NICError(f"{source} is empty", "capture it again with `lshw -class network -xml`")
    nics = []
    for node in root.iter("node"):
        if node.get("class") != "network":
            continue
        driver = ""
        for setting in node.iterfind("configuration/setting"):
            if setting.get("id") == "driver":
                driver = setting.get("value") or ""
        nic = _physical_nic(node.findtext("logicalname"), node.findtext("serial"),
                            node.findtext("businfo"), driver, source)
        if nic:
            nics.append(nic)
    return nics


def parse_json(doc, source="NIC file"):
    """The JSON NIC list (``[{"name", "mac", "driver"?}]``) or an ``lshw -json`` capture."""
    if isinstance(doc, list) and doc and all(isinstance(d, dict) and "mac" in d for d in doc):
        return _parse_nic_list(doc, source)
    nics = []
    stack = [doc]
    while stack:
        node = stack.pop(0)
        if isinstance(node, list):
            stack[0:0] = node
            continue
        if not isinstance(node, dict):
            continue
        if node.get("class") == "network":
            config = node.get("configuration") if isinstance(node.get("configuration"), dict) else {}
            names = node.get("logicalname")
            if isinstance(names, list):  # lshw lists aliases; the first is the interface
                names = names[0] if names else None
            nic = _physical_nic(names, node.get("serial"), node.get("businfo"),
                                config.get("driver") or "", source)
            if nic:
                nics.append(nic)
        children = node.get("children")
        if isinstance(children, list):
            stack[0:0] = children
    return nics


def _parse_nic_list(doc, source):
    nics = []
    for i, entry in enumerate(doc):
        name, raw_mac = entry.get("name"), entry.get("mac")
        mac = normalize_mac(raw_mac)
        if mac is None:
            raise NICError(f"{source}[{i}].mac: {raw_mac!r} is not a MAC address", FIX_ENTRY)
        if not check_ifname(name):
            raise NICError(f"{source}[{i}].name: {name!r} is not a safe interface name", FIX_ENTRY)
        logical = entry.get("logical_name") or name
        if not check_ifname(logical):
            raise NICError(f"{source}[{i}].logical_name: {logical!r} is not a safe interface "
                           "name", FIX_ENTRY)
        driver = entry.get("driver") or ""
        if not isinstance(driver, str):
            raise NICError(f"{source}[{i}].driver: expected a string", FIX_ENTRY)
        nics.append(NIC(name=name, mac=mac, driver=driver, logical_name=logical))
    return nics


def _physical_nic(name, serial, businfo, driver, source):
    if not isinstance(name, str) or not isinstance(serial, str):
        return None  # unclaimed controller, wireless controller, ...
    name, businfo = name.strip(), (businfo or "").strip() if isinstance(businfo, str) else ""
    driver = driver.strip() if isinstance(driver, str) else ""
    if driver in VIRTUAL_DRIVERS or not businfo:
        log.debug("skipping %s (driver=%s businfo=%s): not a physical port", name, driver, businfo)
        return None
    mac = normalize_mac(serial)
    if mac is None:
        log.debug("skipping %s: serial %r is not a MAC", name, serial)
        return None
    if not check_ifname(name):
        raise NICError(f"{source}: interface name {name!r} is not a safe interface name",
                       "pass --nics-file with a JSON NIC list naming the NICs")
    return NIC(name=name, mac=mac, driver=driver, businfo=businfo)


def discover(sysfs="/sys/class/net"):
    """Live discovery: lshw once, then permanent MACs and udev names from sysfs."""
    import subprocess  # live discovery only: saved captures need none
    nics = None
    lshw = shutil.which("lshw")
    if lshw:
        try:
            out = subprocess.run([lshw, "-class", "network", "-xml", "-disable", "fb"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=LSHW_TIMEOUT, check=True).stdout
            nics = parse_lshw_xml(out, "lshw output") or None
            if nics is None:  # e.g. lshw without root or in a container: sysfs still knows
                log.warning("lshw found no physical NIC; reading %s instead", sysfs)
        except (subprocess.SubprocessError, OSError, NICError) as err:
            log.warning("lshw failed (%s); reading %s instead", err, sysfs)
    else:
        log.warning("lshw is not installed; reading %s instead", sysfs)
    if nics is None:
        nics = discover_sysfs(sysfs)
    udevadm = shutil.which("udevadm")
    if nics and not udevadm:
        log.warning("udevadm is not installed: the NICs keep the names they have now "
                    "(%s), which the installed OS may not use; install udev or pass "
                    "--nics-file", ", ".join(n.logical_name for n in nics))
    nics = [_refine_live(nic, sysfs, udevadm) for nic in nics]
    for nic in nics:
        log.info("name=%s driver=%s mac=%s kernel-name=%s", nic.name, nic.driver or "?",
                 nic.mac, nic.logical_name)
    if not nics:
        raise NICError("no physical NIC found", "check that the NIC drivers are loaded")
    return nics


def discover_sysfs(sysfs="/sys/class/net"):
    """Physical NICs from sysfs: entries with a ``device`` link."""
    nics = []
    try:
        names = sorted(os.listdir(sysfs))
    except OSError as err:
        raise NICError(f"cannot list {sysfs}: {err.strerror}",
                       "check that sysfs is mounted, or pass --nics-file") from None
    for name in names:
        base = os.path.join(sysfs, name)
        if not os.path.exists(os.path.join(base, "device")) or not check_ifname(name):
            continue
        driver = os.path.basename(os.path.realpath(os.path.join(base, "device", "driver")))
        if driver in VIRTUAL_DRIVERS:
            continue
        mac = normalize_mac(_read(os.path.join(base, "address")))
        if mac:
            nics.append(NIC(name=name, mac=mac, driver=driver, businfo="sysfs"))
    return nics


def _refine_live(nic, sysfs, udevadm):
    """Permanent MAC (bond slaves show the bond's) and the installed OS's name."""
    base = os.path.join(sysfs, nic.logical_name)
    perm = normalize_mac(_read(os.path.join(base, "bonding_slave", "perm_hwaddr")))
    if perm is None:
        perm = _ethtool_permaddr(nic.logical_name)
    name = (_udev_name(udevadm, base) if udevadm else None) or nic.logical_name
    return dataclasses.replace(nic, mac=perm or nic.mac, name=name)


def _ethtool_permaddr(ifname):
    import subprocess  # live discovery only: saved captures need none
    ethtool = shutil.which("ethtool")
    if not ethtool:
        return None
    try:
        out = subprocess.run([ethtool, "-P", ifname], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=UDEVADM_TIMEOUT, text=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    found = _PERMANENT_ADDRESS.search(out)
    mac = normalize_mac(found.group(1)) if found else None
    return None if mac in (None, "00:00:00:00:00:00") else mac


def _udev_name(udevadm, base):
    import subprocess  # live discovery only: saved captures need none
    try:
        out = subprocess.run([udevadm, "info", "--query=property", base], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=UDEVADM_TIMEOUT, text=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    for key in UDEV_NAME_ORDER:
        if check_ifname(props.get(key)):
            return props[key]
    return None


def _read(path) -> Optional[str]:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read(256).strip()
    except OSError:
        return None
