"""``--renderer auto``: pick the stack the target root really runs.

What is installed in the target root decides; when it tells nothing (an empty
or missing root, or none of the markers below), the family's production
default for that version does. Every answer comes with the reason logged at
INFO (``renderer: netplan (usr/sbin/netplan present, no ifupdown)``).

Rules per family (``DistroBuilder.family``), first match wins:

- ``flatcar``: networkd.
- ``alpine``: eni.
- ``debian`` (Debian, Ubuntu): ifupdown installed -> eni (as production
  images); netplan installed -> netplan; NetworkManager installed -> keyfiles;
  systemd-networkd enabled -> networkd; else Debian eni, Ubuntu 16.04 eni and
  Ubuntu 17.10+ netplan (what a stock image runs).
- ``redhat``: Fedora and every release 10+ -> keyfiles (ifcfg-rh is gone);
  network-scripts installed -> ifcfg-rh; NetworkManager installed -> keyfiles
  on 9, ifcfg-rh (which it reads) on 7 and 8; systemd-networkd enabled ->
  networkd; else ifcfg-rh.
- ``suse``: 16+ -> keyfiles (wicked is gone); wicked installed -> wicked;
  NetworkManager installed -> keyfiles; else wicked.
- any other family: the first of its stacks whose program is installed, else
  its first stack.

A version without a number (``tumbleweed``, ``stream``) counts as the newest.
"""

#: Marker files, relative to the target root. TargetRoot follows symlinks
#: inside the root, so ``sbin/ifup`` also finds a usr-merged ``usr/sbin/ifup``.
IFUPDOWN = ("sbin/ifup", "usr/sbin/ifup")
NETPLAN = ("usr/sbin/netplan", "sbin/netplan", "usr/lib/netplan/generate",
           "lib/netplan/generate", "usr/libexec/netplan/generate", "etc/netplan")
NETWORKMANAGER = ("usr/sbin/NetworkManager", "sbin/NetworkManager", "etc/NetworkManager")
NETWORKD_ENABLED = (
    "etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
    "etc/systemd/system/sockets.target.wants/systemd-networkd.socket",
    "etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service",
)
#: The legacy network-scripts (initscripts) of the RedHat family.
NETWORK_SCRIPTS = ("etc/sysconfig/network-scripts/ifup-eth", "etc/rc.d/init.d/network",
                   "etc/init.d/network")
NETWORK_SCRIPTS_DIR = "etc/sysconfig/network-scripts"
WICKED = ("usr/sbin/wicked", "sbin/wicked")

#: openSUSE Leap 42.x came before Leap 15 and ran wicked.
SUSE_BEFORE_15 = (42,)


def auto_renderer(distro_builder):
    """``(stack name, reason)`` for ``distro_builder`` (a DistroBuilder instance).

    The stack is one the family accepts; whether this build can write it is
    checked by ``DistroBuilder.choose_renderer`` (exit 20 when it cannot).
    """
    probe = _Probe(distro_builder.target)
    os_info = distro_builder.os
    rule = _RULES.get(distro_builder.family, _any_family)
    stack, reason = rule(probe, os_info, distro_builder)
    accepted = _accepted(distro_builder)
    if stack not in accepted:
        fallback = accepted[0]
        return fallback, (f"{reason}, but {os_info.distro} does not accept {stack}: "
                          f"{fallback}, its first stack")
    return stack, reason


def _accepted(distro_builder):
    return list(distro_builder.accepted_renderers or distro_builder.native_renderers
                or distro_builder.available_renderers())


class _Probe:
    """What the target root shows; each answer names the marker that was found."""

    def __init__(self, target):
        self.target = target
        self.empty = target.is_empty()

    def found(self, markers):
        """The first marker present in the root, or None."""
        return next((m for m in markers if self.target.exists(m)), None)

    def network_scripts(self):
        """The legacy network-scripts: their own files, or ``ifup`` beside their folder.

        NetworkManager's ``ifup`` wrapper (NetworkManager-initscripts-updown)
        calls nmcli: that one does not count.
        """
        found = self.found(NETWORK_SCRIPTS)
        if found:
            return found
        if not self.target.is_dir(NETWORK_SCRIPTS_DIR):
            return None
        for ifup in ("usr/sbin/ifup", "sbin/ifup"):
            text = self.target.read(ifup)
            if text is not None and "nmcli" not in text:
                return f"{NETWORK_SCRIPTS_DIR}/ with {ifup}"
        return None


def _default(probe, os_info, stack, why=""):
    state = "empty target root" if probe.empty else "no network program found in the target"
    detail = f"; {why}" if why else ""
    return stack, f"{state}: the production default for {os_info}{detail}"


def _newest(os_info):
    """The version as a tuple; a version without numbers sorts after every release."""
    return os_info.version_tuple or (10 ** 6,)


def _generic_markers(probe):
    """``(stack, reason)`` from the programs shared by several families, or None."""
    found = probe.found(NETWORKMANAGER)
    if found:
        return "networkmanager", f"{found} present"
    found = probe.found(NETWORKD_ENABLED)
    if found:
        return "networkd", f"{found} present: systemd-networkd enabled"
    return None


def _flatcar(probe, os_info, distro_builder):
    return "networkd", "Flatcar Container Linux runs systemd-networkd"


def _alpine(probe, os_info, distro_builder):
    return "eni", "Alpine runs ifupdown (etc/network/interfaces)"


def _debian(probe, os_info, distro_builder):
    found = probe.found(IFUPDOWN)
    if found:
        return "eni", f"{found} present: ifupdown installed"
    found = probe.found(NETPLAN)
    if found:
        return "netplan", f"{found} present, no ifupdown"
    generic = _generic_markers(probe)
    if generic:
        stack, reason = generic
        return stack, f"{reason}, no ifupdown or netplan"
    if os_info.distro == "ubuntu" and _newest(os_info) >= (17, 10):
        return _default(probe, os_info, "netplan", "stock Ubuntu 17.10+ runs netplan")
    return _default(probe, os_info, "eni")


def _redhat(probe, os_info, distro_builder):
    if os_info.distro == "fedora":
        return "networkmanager", "Fedora runs NetworkManager with keyfiles"
    if _newest(os_info) >= (10,):
        return "networkmanager", (f"{os_info}: NetworkManager reads keyfiles only "
                                  "(ifcfg-rh support removed in release 10)")
    found = probe.network_scripts()
    if found:
        return "ifcfg-rh", f"{found} present: network-scripts installed"
    found = probe.found(NETWORKMANAGER)
    if found and _newest(os_info) >= (9,):
        return "networkmanager", f"{found} present, no network-scripts"
    if found:
        # NetworkManager before 1.40 (RHEL 8.6 and older) is what read ifcfg-rh in
        # production; the keyfile stack is written for 1.40 and later.
        return "ifcfg-rh", (f"{found} present, no network-scripts: NetworkManager reads "
                         f"ifcfg-rh on {os_info}")
    found = probe.found(NETWORKD_ENABLED)
    if found:
        return "networkd", f"{found} present: systemd-networkd enabled, no network-scripts"
    return _default(probe, os_info, "ifcfg-rh")


def _suse(probe, os_info, distro_builder):
    version = _newest(os_info)
    if version >= (16,) and version[0] not in SUSE_BEFORE_15:
        return "networkmanager", f"{os_info}: NetworkManager (wicked removed in release 16)"
    found = probe.found(WICKED)
    if found:
        return "wicked", f"{found} present: wicked installed"
    found = probe.found(NETWORKMANAGER)
    if found:
        return "networkmanager", f"{found} present, no wicked"
    return _default(probe, os_info, "wicked")


#: Programs that tell a stack, for families without rules of their own.
_STACK_MARKERS = (
    ("eni", IFUPDOWN), ("netplan", NETPLAN), ("networkmanager", NETWORKMANAGER),
    ("networkd", NETWORKD_ENABLED), ("ifcfg-rh", NETWORK_SCRIPTS), ("wicked", WICKED),
)


def _any_family(probe, os_info, distro_builder):
    accepted = _accepted(distro_builder)
    for stack, markers in _STACK_MARKERS:
        if stack in accepted:
            found = probe.found(markers)
            if found:
                return stack, f"{found} present"
    return _default(probe, os_info, accepted[0], "the family's first stack")


_RULES = {
    "flatcar": _flatcar,
    "alpine": _alpine,
    "debian": _debian,
    "redhat": _redhat,
    "suse": _suse,
}
