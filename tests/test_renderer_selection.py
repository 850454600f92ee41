"""``--renderer``: forced renderers, and ``auto`` reading fake roots that hold only marker files."""
import json
import os
from types import SimpleNamespace

import pytest

from packetnetworking import distros
from packetnetworking.builder import DistroBuilder, NetworkBuilder
from packetnetworking.operating_system import OperatingSystem
from support.stack_cases import MACS, NAMES, RESOLVERS, document, family_present, run_cli

def family_builder(distro_family, os_name, root):
    """The DistroBuilder of ``os_name`` for a fake root (the real family; for a family
    without rules of its own, the base class accepting eni and netplan)."""
    distro, version = os_name.split()
    network = SimpleNamespace(os=OperatingSystem(distro, version))
    if distro_family == "gentoo":
        builder = DistroBuilder(network, str(root))
        builder.accepted_renderers = ("eni", "netplan")
        builder.native_renderers = {"eni": [NetworkBuilder]}
        return builder
    cls = distros.find(distro)
    assert cls.family == distro_family
    return cls(network, str(root))


def make_root(tmp_path, markers=(), links=None, files=None):
    """A fake root: ``markers`` (paths; a trailing / makes a directory), ``links``
    ``{path: target}``, ``files`` ``{path: content}``."""
    root = tmp_path / "root"
    root.mkdir(parents=True, exist_ok=True)
    for rel in markers:
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    for rel, content in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    for rel, target in (links or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / rel)
    return root


def pick(tmp_path, distro_family, os_name, **root):
    return family_builder(distro_family, os_name, make_root(tmp_path, **root)).choose_renderer()


UBUNTU_STOCK = ["usr/sbin/netplan", "etc/netplan/50-cloud-init.yaml",
                "usr/lib/systemd/systemd-networkd"]
RH_NM = ["usr/sbin/NetworkManager", "etc/NetworkManager/NetworkManager.conf"]
RH_SCRIPTS = ["etc/sysconfig/network-scripts/ifup-eth", "etc/rc.d/init.d/network",
              "usr/sbin/ifup"]
NETWORKD_ENABLED = "etc/systemd/system/multi-user.target.wants/systemd-networkd.service"

#: (family, os, markers in the root, expected renderer, words the reason must contain)
RULES = [
    # Debian / Ubuntu
    ("debian", "ubuntu 24.04", UBUNTU_STOCK, "netplan", "usr/sbin/netplan present, no ifupdown"),
    ("debian", "ubuntu 22.04", ["etc/netplan/"], "netplan", "etc/netplan present"),
    ("debian", "ubuntu 24.04", UBUNTU_STOCK + ["sbin/ifup"], "eni", "sbin/ifup present"),
    ("debian", "ubuntu 20.04", ["usr/sbin/ifup", "etc/network/interfaces"], "eni",
     "ifupdown installed"),
    ("debian", "debian 12", ["usr/sbin/netplan", "etc/netplan/90-default.yaml"], "netplan",
     "no ifupdown"),
    ("debian", "debian 12", ["usr/sbin/ifup", "usr/sbin/netplan"], "eni", "ifupdown"),
    ("debian", "debian 12", RH_NM, "networkmanager", "no ifupdown or netplan"),
    # networkd is part of systemd on Debian: installed is not enabled
    ("debian", "debian 12", ["lib/systemd/systemd-networkd",
                             "lib/systemd/system/systemd-networkd.service"], "eni",
     "production default for debian 12"),
    ("debian", "debian 12", [NETWORKD_ENABLED, "lib/systemd/system/systemd-networkd.service"],
     "networkd", "systemd-networkd enabled"),
    # Red Hat family
    ("redhat", "rocky 9", RH_NM + ["etc/sysconfig/network-scripts/readme-ifcfg-rh.txt"],
     "networkmanager", "usr/sbin/NetworkManager present, no network-scripts"),
    ("redhat", "almalinux 9", RH_NM + RH_SCRIPTS, "ifcfg-rh", "network-scripts installed"),
    ("redhat", "rocky 8", RH_NM, "ifcfg-rh", "reads ifcfg-rh"),
    ("redhat", "centos 7", RH_NM + RH_SCRIPTS, "ifcfg-rh", "network-scripts"),
    ("redhat", "rhel 10.0", RH_NM + RH_SCRIPTS, "networkmanager", "release 10"),
    ("redhat", "centos stream-10", RH_SCRIPTS, "networkmanager", "release 10"),
    ("redhat", "rocky 10", [], "networkmanager", "keyfiles only"),
    ("redhat", "almalinux 10.1", RH_SCRIPTS, "networkmanager", "ifcfg-rh support removed"),
    ("redhat", "fedora 41", RH_SCRIPTS, "networkmanager", "Fedora"),
    ("redhat", "rocky 9", [NETWORKD_ENABLED, "usr/lib/systemd/system/systemd-networkd.service"],
     "networkd", "systemd-networkd enabled"),
    # SUSE
    ("suse", "sles 16", ["usr/sbin/wicked"], "networkmanager", "wicked removed"),
    ("suse", "opensuse 16.0", [], "networkmanager", "wicked removed"),
    ("suse", "sles 15.6", ["usr/sbin/wicked", "usr/sbin/NetworkManager"], "wicked",
     "wicked installed"),
    ("suse", "opensuse 15.5", ["usr/sbin/NetworkManager"], "networkmanager", "no wicked"),
    ("suse", "opensuse 42.3", ["sbin/wicked"], "wicked", "wicked"),
    ("suse", "opensuse tumbleweed", ["usr/sbin/wicked"], "networkmanager", "wicked removed"),
    # Alpine, Flatcar: one renderer whatever the root holds
    ("alpine", "alpine 3.20", ["usr/sbin/netplan"], "eni", "Alpine"),
    ("flatcar", "flatcar 4081.2.0", ["sbin/ifup", "usr/sbin/NetworkManager"], "networkd",
     "Flatcar"),
]


@pytest.mark.parametrize("family,os_name,markers,renderer,reason", RULES,
                         ids=[f"{r[1]}:{r[3]}:{i}" for i, r in enumerate(RULES)])
def test_auto_rule(tmp_path, family, os_name, markers, renderer, reason):
    chosen, why = pick(tmp_path, family, os_name, markers=markers)
    assert (chosen, reason in why) == (renderer, True), why


#: Empty root: the family's production default for the version.
DEFAULTS = [
    ("debian", "debian 9", "eni"), ("debian", "debian 13", "eni"),
    ("debian", "ubuntu 16.04", "eni"), ("debian", "ubuntu 18.04", "netplan"),
    ("debian", "ubuntu 24.04", "netplan"),
    ("redhat", "centos 7", "ifcfg-rh"), ("redhat", "rocky 8", "ifcfg-rh"),
    ("redhat", "rhel 9.4", "ifcfg-rh"), ("redhat", "almalinux 9", "ifcfg-rh"),
    ("redhat", "rhel 10", "networkmanager"), ("redhat", "fedora 40", "networkmanager"),
    ("suse", "sles 12", "wicked"), ("suse", "sles 15", "wicked"),
    ("suse", "sles 16", "networkmanager"),
    ("alpine", "alpine 3.19", "eni"), ("flatcar", "flatcar current", "networkd"),
]


@pytest.mark.parametrize("family,os_name,renderer", DEFAULTS, ids=[d[1] for d in DEFAULTS])
def test_empty_root_gets_the_production_default(tmp_path, family, os_name, renderer):
    chosen, why = pick(tmp_path, family, os_name)
    assert chosen == renderer, why


def test_empty_root_reason_says_so(tmp_path):
    assert pick(tmp_path, "redhat", "rocky 9")[1] == (
        "empty target root: the production default for rocky 9")
    assert "no network program found" in pick(tmp_path, "redhat", "rocky 9",
                                              markers=["etc/os-release"])[1]


def test_missing_root_tells_nothing(tmp_path):
    builder = family_builder("debian", "debian 12", tmp_path / "does-not-exist")
    assert builder.choose_renderer()[0] == "eni"


def test_usrmerged_sbin_link_is_followed_inside_the_root(tmp_path):
    chosen, why = pick(tmp_path, "debian", "debian 12", markers=["usr/sbin/ifup"],
                       links={"sbin": "usr/sbin"})
    assert chosen == "eni" and "sbin/ifup" in why


def test_absolute_links_resolve_inside_the_root_never_on_the_host(tmp_path):
    """``sbin -> /usr/sbin`` must not find this host's ifup (installed here as a validator)."""
    chosen, _ = pick(tmp_path, "debian", "ubuntu 24.04", markers=["usr/sbin/netplan"],
                     links={"sbin": "/usr/sbin", "usr/sbin/ifup": "/usr/sbin/ifup"})
    assert chosen == "netplan"


def test_networkmanagers_ifup_wrapper_is_not_network_scripts(tmp_path):
    wrapper = "#!/bin/bash\nexec /usr/bin/nmcli connection up \"$1\"\n"
    common = dict(markers=RH_NM + ["etc/sysconfig/network-scripts/"])
    assert pick(tmp_path / "a", "redhat", "rocky 9", files={"usr/sbin/ifup": wrapper},
                **common)[0] == "networkmanager"
    chosen, why = pick(tmp_path / "b", "redhat", "rocky 9",
                       files={"usr/sbin/ifup": "#!/bin/bash\n# network-scripts\n"}, **common)
    assert chosen == "ifcfg-rh" and "etc/sysconfig/network-scripts/ with usr/sbin/ifup" in why


def test_a_renderer_the_family_does_not_accept_falls_back_to_its_first(tmp_path):
    builder = family_builder("debian", "ubuntu 24.04", make_root(tmp_path, markers=["usr/sbin/netplan"]))
    builder.accepted_renderers = ("eni",)
    chosen, why = builder.choose_renderer()
    assert chosen == "eni" and "does not accept netplan" in why


def test_unknown_family_uses_what_is_installed(tmp_path):
    assert pick(tmp_path / "a", "gentoo", "gentoo 2.15", markers=["usr/sbin/netplan"])[0] == \
        "netplan"
    assert pick(tmp_path / "b", "gentoo", "gentoo 2.15")[0] == "eni"


# --- through the CLI: the real families, fake roots, files and log line ---------------------

def run(tmp_path, os_name, root, *extra):
    if not family_present(os_name.split()[0]):
        pytest.skip(f"no family for {os_name.split()[0]} in this tree")
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps(document()))
    nics = tmp_path / "nics.json"
    nics.write_text(json.dumps([{"name": NAMES[i], "mac": MACS[i]} for i in range(2)]))
    args = ["-M", str(meta), "--nics-file", str(nics), "-o", os_name, "-t", str(root),
            "--resolvers", ",".join(RESOLVERS), "-v", *extra]
    code, stderr = run_cli(args)
    return {"code": code, "stderr": stderr}


def written(root):
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


#: (os, markers, renderer, a file that renderer writes)
CLI_RULES = [
    ("ubuntu 24.04", UBUNTU_STOCK, "netplan", "etc/netplan/50-packet.yaml"),
    ("ubuntu 24.04", UBUNTU_STOCK + ["sbin/ifup"], "eni", "etc/network/interfaces"),
    ("debian 12", ["usr/sbin/netplan", "etc/netplan/90-default.yaml"], "netplan",
     "etc/netplan/50-packet.yaml"),
    ("debian 12", ["sbin/ifup", "etc/network/interfaces"], "eni", "etc/network/interfaces"),
    ("rocky 9", RH_NM, "networkmanager",
     "etc/NetworkManager/system-connections/bond0.nmconnection"),
    ("rocky 9", RH_NM + RH_SCRIPTS, "ifcfg-rh", "etc/sysconfig/network-scripts/ifcfg-bond0"),
    ("almalinux 10", RH_NM, "networkmanager",
     "etc/NetworkManager/system-connections/bond0.nmconnection"),
    ("rhel 10", RH_NM + RH_SCRIPTS, "networkmanager",
     "etc/NetworkManager/system-connections/bond0.nmconnection"),
    ("centos stream-10", RH_NM, "networkmanager",
     "etc/NetworkManager/system-connections/bond0.nmconnection"),
    ("rocky 10", RH_NM, "networkmanager",
     "etc/NetworkManager/system-connections/bond0.nmconnection"),
    ("fedora 41", RH_NM, "networkmanager",
     "etc/NetworkManager/system-connections/bond0.nmconnection"),
    ("centos 7", RH_SCRIPTS, "ifcfg-rh", "etc/sysconfig/network-scripts/ifcfg-bond0"),
    ("sles 16", ["usr/sbin/NetworkManager"], "networkmanager",
     "etc/NetworkManager/system-connections/bond0.nmconnection"),
    ("sles 15", ["usr/sbin/wicked"], "wicked", "etc/sysconfig/network/ifcfg-bond0"),
    ("alpine 3.20", ["sbin/ifup"], "eni", "etc/network/interfaces"),
    ("flatcar 4081.2.0", ["usr/lib/systemd/systemd-networkd"], "networkd",
     "etc/systemd/network/05-packet-bond0.netdev"),
]


@pytest.mark.parametrize("os_name,markers,renderer,path", CLI_RULES,
                         ids=[f"{r[0]}:{r[2]}:{i}" for i, r in enumerate(CLI_RULES)])
def test_cli_auto_writes_the_chosen_renderer_and_logs_why(tmp_path, os_name, markers, renderer,
                                                          path):
    root = make_root(tmp_path, markers=markers)
    result = run(tmp_path, os_name, root)
    assert result["code"] == 0, result["stderr"]
    lines = [line for line in result["stderr"].splitlines() if line.startswith("INFO: renderer: ")]
    assert len(lines) == 1 and lines[0].startswith(f"INFO: renderer: {renderer} ("), result["stderr"]
    assert path in written(root)
    others = {"netplan": "etc/netplan/50-packet.yaml", "eni": "etc/network/interfaces",
              "networkd": "etc/systemd/network/05-packet-bond0.netdev",
              "networkmanager": "etc/NetworkManager/system-connections/bond0.nmconnection",
              "ifcfg-rh": "etc/sysconfig/network-scripts/ifcfg-bond0"}
    for other, other_path in others.items():
        if other != renderer and other_path != path:
            assert other_path not in written(root), f"{renderer} root also got {other_path}"


def test_cli_log_line_names_marker_and_reason(tmp_path):
    root = make_root(tmp_path, markers=UBUNTU_STOCK)
    result = run(tmp_path, "ubuntu 24.04", root)
    assert "INFO: renderer: netplan (usr/sbin/netplan present, no ifupdown)" in result["stderr"]


def test_keyfiles_do_not_remove_networkmanager(tmp_path):
    links = {f"etc/systemd/system/{name}": f"/usr/lib/systemd/system/{target}" for name, target in (
        ("dbus-org.freedesktop.NetworkManager.service", "NetworkManager.service"),
        ("multi-user.target.wants/NetworkManager.service", "NetworkManager.service"))}
    root = make_root(tmp_path, markers=RH_NM + ["usr/lib/systemd/system/NetworkManager.service"],
                     links=links)
    result = run(tmp_path, "rocky 9", root)
    assert result["code"] == 0, result["stderr"]
    for rel in links:
        assert os.path.islink(root / rel), f"{rel} removed while writing keyfiles"


#: Forced renderers: (os, accepted, refused)
FORCED = [
    ("ubuntu 24.04", ["eni", "netplan", "networkmanager", "networkd"], ["ifcfg-rh", "wicked"]),
    ("debian 12", ["eni", "netplan", "networkmanager", "networkd"], ["ifcfg-rh", "wicked"]),
    ("rocky 9", ["ifcfg-rh", "networkmanager", "networkd"], ["eni", "netplan"]),
    ("sles 15", ["wicked", "networkmanager"], ["eni", "netplan", "networkd"]),
    ("alpine 3.20", ["eni"], ["ifcfg-rh", "wicked", "netplan", "networkmanager", "networkd"]),
    ("flatcar 4081.2.0", ["networkd"], ["eni", "ifcfg-rh", "wicked", "netplan", "networkmanager"]),
]


@pytest.mark.parametrize("os_name,accepted,refused", FORCED, ids=[f[0] for f in FORCED])
def test_cli_forced_renderer(tmp_path, os_name, accepted, refused):
    """A forced renderer wins over what the root shows; one the family does not accept is
    exit 20 and writes nothing."""
    for renderer in accepted:
        root = make_root(tmp_path / renderer, markers=["sbin/ifup", "usr/sbin/netplan"])
        result = run(tmp_path, os_name, root, "--renderer", renderer)
        assert result["code"] == 0, (renderer, result["stderr"])
        assert f"INFO: renderer: {renderer} (forced by --renderer)" in result["stderr"]
    for renderer in refused:
        root = make_root(tmp_path / renderer)
        result = run(tmp_path, os_name, root, "--renderer", renderer)
        assert result["code"] == 20, (renderer, result["stderr"])
        assert written(root) == set()


@pytest.mark.parametrize("os_name,flavour,path", [
    ("rocky 9", "ifcfg-rh", "etc/sysconfig/network-scripts/ifcfg-bond0"),
    ("sles 15", "wicked", "etc/sysconfig/network/ifcfg-bond0"),
])
def test_renderer_ifcfg_is_the_familys_ifcfg_with_one_warning(tmp_path, os_name, flavour, path):
    """Scripts in the field pass ``--renderer ifcfg``: it still writes the family's ifcfg
    files, and one WARNING names the renderer to pass instead."""
    root = make_root(tmp_path)
    result = run(tmp_path, os_name, root, "--renderer", "ifcfg")
    assert result["code"] == 0, result["stderr"]
    assert path in written(root)
    warnings = [line for line in result["stderr"].splitlines()
                if line.startswith("WARNING: --renderer ifcfg")]
    assert len(warnings) == 1 and f"--renderer {flavour}" in warnings[0], result["stderr"]
    assert f"INFO: renderer: {flavour} (forced by --renderer)" in result["stderr"]


def test_renderer_ifcfg_is_refused_where_the_family_has_no_ifcfg(tmp_path):
    root = make_root(tmp_path)
    result = run(tmp_path, "debian 12", root, "--renderer", "ifcfg")
    assert result["code"] == 20 and written(root) == set(), result["stderr"]
