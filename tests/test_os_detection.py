"""Which OS the files are written for: every ``-o`` OSIE passes, ``n/a``, the target
root's os-release, the metadata; the release rules each version gets; the one list
of supported distros.

OSIE calls ``packet-networking -t $target -M "$metadata" -o "$(detect_os $target)"``,
where ``detect_os`` prints ``lsb_release -si`` with the spaces removed, a space and
``lsb_release -sr`` (or its own copy of lsb_release when the target has none: that
one says ``n/a`` for what it cannot tell). Everything runs through the CLI.
"""
import re
from pathlib import Path

import pytest

from support.helpers import REPO, make_metadata, nics_from_metadata, os_release, run_cli, snapshot, \
    write_metadata, write_nics
from packetnetworking import releases

# (-o as detect_os prints it, the distro and version the tool writes for, the family)
OSIE_FORMS = [
    ("CentOS 7.9.2009", "centos 7.9.2009", "redhat"),
    ("CentOSStream 9", "centos 9", "redhat"),
    ("RedHatEnterpriseServer 7.9", "rhel 7.9", "redhat"),
    ("RedHatEnterprise 9.2", "rhel 9.2", "redhat"),
    ("Rocky 9.3", "rocky 9.3", "redhat"),
    ("AlmaLinux 8.9", "almalinux 8.9", "redhat"),
    ("Fedora 39", "fedora 39", "redhat"),
    ("ScientificCERNSLC 7", "scientific 7", "redhat"),
    ("Scientific 7.9", "scientific 7.9", "redhat"),
    ("openSUSE 15.5", "opensuse 15.5", "suse"),
    ("openSUSEproject 42.3", "opensuse 42.3", "suse"),
    ("SUSE 15.5", "sles 15.5", "suse"),
    ("SLES 15.6", "sles 15.6", "suse"),
    ("SUSELINUX 12.5", "sles 12.5", "suse"),
    ("Debian 12.5", "debian 12.5", "debian"),
    ("Debian trixie/sid", "debian 13", "debian"),
    ("Ubuntu 22.04", "ubuntu 22.04", "debian"),
    ("ubuntu jammy", "ubuntu 22.04", "debian"),
    ("ubuntu noble", "ubuntu 24.04", "debian"),
    ("ubuntu focal", "ubuntu 20.04", "debian"),
    ("ubuntu bionic", "ubuntu 18.04", "debian"),
    ("ubuntu xenial", "ubuntu 16.04", "debian"),
    ("debian bookworm", "debian 12", "debian"),
    ("debian bullseye", "debian 11", "debian"),
    ("debian buster", "debian 10", "debian"),
    ("debian trixie", "debian 13", "debian"),
    ("debian stretch", "debian 9", "debian"),
]

#: A file only the family's stacks write (for the versions above, on an empty root).
FAMILY_FILES = {
    "redhat": re.compile(r"^etc/(sysconfig/network-scripts/ifcfg-bond0|NetworkManager/"
                         r"system-connections/bond0\.nmconnection)$"),
    "suse": re.compile(r"^etc/sysconfig/network/ifcfg-bond0$"),
    "debian": re.compile(r"^etc/(network/interfaces|netplan/.*\.yaml)$"),
    "alpine": re.compile(r"^etc/mactab$"),
    "flatcar": re.compile(r"^etc/systemd/network/.*bond0\.network$"),
}


@pytest.fixture
def server(tmp_path):
    """Write the metadata (``operating_system`` as given) and the NIC list; return a
    function running the CLI into a fresh root: ``(code, stderr, files written)``."""

    def run(option=None, operating_system=None, root_files=None, verbose="-vv", doc=None):
        doc = doc or make_metadata()
        if operating_system is None:
            doc.pop("operating_system", None)
        else:
            doc["operating_system"] = operating_system
        meta = write_metadata(tmp_path / "meta.json", doc)
        nics = write_nics(tmp_path / "nics.json", nics_from_metadata(doc))
        root = tmp_path / f"root{len(list(tmp_path.glob('root*')))}"
        root.mkdir()
        for path, content in (root_files or {}).items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):  # a symlink
                target.symlink_to(content)
            else:
                target.write_text(content)
        before = set(snapshot(root))
        args = ["-M", meta, "--nics-file", nics, "-t", root, "--resolvers", "192.0.2.53"]
        args += ["-o", option] if option is not None else []
        args += [verbose] if verbose else []
        code, out, err = run_cli(args)
        written = {p for p, (mode, _) in snapshot(root).items()
                   if p not in before and _ is not None}
        return code, err, written

    return run


def wrote_for(err):
    """``distro version`` from the -vv line naming the builder."""
    found = re.search(r"distro builder: \w+ for (.*)$", err, re.M)
    return found.group(1).strip() if found else None


def warnings(err):
    return [line for line in err.splitlines() if line.startswith("WARNING")]


# --- -o ---------------------------------------------------------------------------------
@pytest.mark.parametrize("option, expected, family", OSIE_FORMS,
                         ids=[f[0] for f in OSIE_FORMS])
def test_every_os_detect_os_prints_is_written_for_without_warning(server, option, expected,
                                                                   family):
    # the root detect_os read: an os-release of the OS it printed
    code, err, written = server(option, {"distro": "centos", "version": "7"},
                                {"etc/os-release": os_release(*expected.split())})
    assert code == 0, err
    assert wrote_for(err) == expected
    assert any(FAMILY_FILES[family].match(p) for p in written), sorted(written)
    assert warnings(err) == []


@pytest.mark.parametrize("option", ["SUSE", "SUSE n/a", "SUSELINUX ", "sles"])
def test_a_suse_distro_alone_takes_the_metadata_version(server, option):
    code, err, written = server(option, {"distro": "sles", "version": "15"},
                                {"etc/os-release": os_release("sles", "15.6")})
    assert code == 0, err
    assert wrote_for(err) == "sles 15"
    assert "etc/sysconfig/network/ifcfg-bond0" in written
    assert warnings(err) == []


def test_n_a_keeps_the_distro_and_takes_the_version_of_the_same_distro(server):
    code, err, written = server("Debian n/a", {"distro": "debian", "version": "11"})
    assert (code, wrote_for(err)) == (0, "debian 11"), err


def test_n_a_never_writes_the_metadata_distro_into_another_root(server):
    """The metadata names CentOS; -o names Debian: Debian files, Debian's version from
    the target's os-release."""
    code, err, written = server("Debian n/a", {"distro": "centos", "version": "7"},
                                {"etc/os-release": 'ID=debian\nVERSION_ID="12"\n'})
    assert (code, wrote_for(err)) == (0, "debian 12"), err
    assert "etc/network/interfaces" in written
    assert not any(p.startswith("etc/sysconfig") for p in written)
    assert warnings(err) == []


def test_n_a_with_no_version_anywhere_uses_the_newest_rule_with_a_warning(server):
    code, err, written = server("Debian n/a", {"distro": "centos", "version": "7"})
    assert (code, wrote_for(err)) == (0, "debian"), err
    assert "etc/network/interfaces" in written
    newest = releases.Release((13,)).name
    assert [w for w in warnings(err) if "no rule for this version" in w
            and w.endswith(f"using the rules of debian {newest}")], err


@pytest.mark.parametrize("option", ["n/a n/a", " ", ""])
def test_nothing_known_from_o_falls_back_to_the_metadata(server, option):
    code, err, written = server(option, {"distro": "ubuntu", "version": "22.04"})
    assert (code, wrote_for(err)) == (0, "ubuntu 22.04"), err


# --- the target root's os-release -------------------------------------------------------------
UBUNTU_OS_RELEASE = ('NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n'
                     'VERSION_CODENAME=noble\n')


def test_the_target_os_release_wins_over_the_metadata_with_a_warning(server):
    code, err, written = server(None, {"distro": "centos", "version": "7"},
                                {"etc/os-release": UBUNTU_OS_RELEASE})
    assert (code, wrote_for(err)) == (0, "ubuntu 24.04"), err
    assert any(p.startswith("etc/netplan/") for p in written)
    assert not any(p.startswith("etc/sysconfig") for p in written)
    assert [w for w in warnings(err) if "ubuntu 24.04" in w and "centos 7" in w], err


def test_agreeing_target_and_metadata_do_not_warn(server):
    code, err, written = server("n/a n/a", {"distro": "ubuntu", "version": "24.04"},
                                {"etc/os-release": UBUNTU_OS_RELEASE})
    assert (code, wrote_for(err), warnings(err)) == (0, "ubuntu 24.04", []), err


def test_a_document_without_operating_system_works_on_a_root_with_os_release(server):
    code, err, written = server(None, None, {"usr/lib/os-release": 'ID="rocky"\n'
                                             'ID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n',
                                             "etc/os-release": Path("../usr/lib/os-release")})
    assert (code, wrote_for(err)) == (0, "rocky 9.3"), err
    assert warnings(err) == []


def test_usr_lib_os_release_is_read_when_etc_has_none(server):
    code, err, written = server(None, None, {"usr/lib/os-release": "ID=opensuse-leap\n"
                                             "VERSION_ID=15.6\n"})
    assert (code, wrote_for(err)) == (0, "opensuse 15.6"), err


def test_an_absolute_os_release_link_is_read_inside_the_root(server, tmp_path):
    """/etc/os-release -> /usr/lib/os-release resolves in the target, never on the host."""
    code, err, written = server(None, None, {"usr/lib/os-release": "ID=debian\nVERSION_ID=11\n",
                                             "etc/os-release": Path("/usr/lib/os-release")})
    assert (code, wrote_for(err)) == (0, "debian 11"), err


def test_debian_testing_is_named_by_its_codename(server):
    code, err, written = server(None, {"distro": "debian", "version": "12"},
                                {"etc/os-release": 'ID=debian\nVERSION_CODENAME=trixie\n'})
    assert (code, wrote_for(err)) == (0, "debian 13"), err


def test_an_unknown_id_uses_a_known_id_like_with_a_warning(server):
    code, err, written = server(None, None, {"etc/os-release": 'ID="someel"\n'
                                             'ID_LIKE="rhel fedora"\nVERSION_ID="9.4"\n'})
    assert (code, wrote_for(err)) == (0, "rhel 9.4"), err
    assert [w for w in warnings(err) if "someel" in w and "ID_LIKE" in w], err


def test_an_os_release_without_id_is_a_warning_and_the_metadata_names_the_os(server):
    code, err, written = server(None, {"distro": "ubuntu", "version": "22.04"},
                                {"etc/os-release": 'NAME="Custom image"\n'})
    assert (code, wrote_for(err)) == (0, "ubuntu 22.04"), err
    assert [w for w in warnings(err) if "etc/os-release has no ID" in w], err


def test_no_os_anywhere_is_exit_20_and_writes_nothing(server):
    code, err, written = server(None, None, verbose=None)
    assert code == 20
    assert err.startswith("packet-networking: error: no operating system") and "; pass -o" in err
    assert written == set()


# --- release rules --------------------------------------------------------------------------
def test_ubuntu_older_than_every_rule_gets_the_oldest_eni_and_resolv_conf(server):
    code, err, written = server("Ubuntu 14.04", None)
    assert code == 0, err
    assert {"etc/network/interfaces", "etc/resolv.conf"} <= written
    assert "etc/systemd/resolved.conf" not in written
    assert [w for w in warnings(err) if w.endswith("using the rules of ubuntu 16.04")], err


def test_centos_6_gets_the_oldest_rule_without_link_files(server):
    code, err, written = server("CentOS 6.10", None)
    assert code == 0, err
    assert "etc/sysconfig/network-scripts/ifcfg-bond0" in written
    assert not any(p.endswith(".link") for p in written), sorted(written)
    assert [w for w in warnings(err) if w.endswith("using the rules of centos 7")], err


@pytest.mark.parametrize("option", [
    "RedHatEnterprise 10.0", "CentOSStream 10", "Rocky 10.0", "AlmaLinux 10.0", "SLES 16.0",
    "openSUSE 16.0", "Debian 13", "Ubuntu 24.04", "Fedora 41", "Fedora 43", "alpine 3.20",
    "flatcar 4081.2.0"])
def test_every_supported_release_has_its_own_rule(server, option):
    distro, version = option.split()
    code, err, written = server(option, None, {"etc/os-release": os_release(
        releases.find_distro(distro).name, version)})
    assert code == 0, err
    assert warnings(err) == []
    family = releases.find_distro(option.split()[0]).family
    assert any(FAMILY_FILES[family].match(p) for p in written) or family == "suse", \
        sorted(written)


# --- the one list of supported distros --------------------------------------------------------
def test_list_distros_prints_every_name_and_alias():
    code, out, err = run_cli(["--list-distros"])
    assert (code, err) == (0, "")
    for distro in releases.DISTROS:
        line = next(line for line in out.splitlines() if line.split()[0] == distro.name)
        assert distro.family in line.split()
        for alias in distro.aliases:
            assert alias in line
    assert "opensuse-leap" in out and "redhatenterpriseserver" in out


def test_the_exit_20_message_lists_the_supported_distros_with_aliases(server):
    code, err, written = server("Plan9 4", None, verbose=None)
    assert code == 20 and err.count("\n") == 1, err
    assert "no builder for distro 'plan9'" in err
    for distro in releases.DISTROS:
        for name in (distro.name,) + distro.aliases:
            assert re.search(rf"[ (]{re.escape(name)}[ ,)]", err), name


def test_the_docs_list_of_distros_is_the_codes():
    """docs/distros.md shows ``packet-networking --list-distros`` output verbatim."""
    doc = REPO / "docs" / "distros.md"
    if not doc.exists():
        pytest.skip("docs/distros.md is not written yet")
    code, out, err = run_cli(["--list-distros"])
    text = "\n".join(line.rstrip() for line in doc.read_text().splitlines())
    assert out.rstrip("\n") in text, (
        "docs/distros.md must hold the output of `packet-networking --list-distros` "
        "verbatim (in a code block): paste it again")
