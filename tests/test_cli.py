"""The command line: options, environment, output, exit codes.

What only a real process shows (exit status, tracebacks, stdin, environment, -q
silence) runs ``python -m packetnetworking`` as a subprocess; the rest runs in-process.
"""
import functools
import re

import pytest

from support.helpers import make_metadata, nics_from_metadata, read_kv, run_cli, snapshot, \
    with_os, write_metadata, write_nics
from packetnetworking import __version__, source
from packetnetworking.builder import DistroBuilder

ERROR = re.compile(r"^packet-networking: error: \S.*\n\Z")


@pytest.fixture
def files(tmp_path):
    """(metadata path, NIC file path) for the default server."""
    doc = make_metadata()
    return (write_metadata(tmp_path / "meta.json", doc),
            write_nics(tmp_path / "nics.json", nics_from_metadata(doc, ["eno1", "eno2"])))


@pytest.fixture
def base(files):
    meta, nics = files
    return ["-M", meta, "--nics-file", nics, "-o", "centos 7", "--resolvers", "192.0.2.53"]


def assert_one_line_error(code, out, err, expected_code, *fragments):
    assert code == expected_code, err
    assert out == ""
    assert ERROR.match(err), f"not one error line: {err!r}"
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


# --- help, version, usage ----------------------------------------------------------------
def test_version():
    code, out, err = run_cli(["--version"], subprocess=True)
    assert (code, out, err) == (0, f"packet-networking, version {__version__}\n", "")


def test_help_lists_every_option():
    code, out, err = run_cli(["--help"], subprocess=True)
    assert code == 0 and err == ""
    for option in ("-M, --metadata-file", "--metadata-url", "PACKET_METADATA_URL",
                   "-o, --operating-system", "-t, --rootfs", "--resolvers", "PACKET_RESOLVERS",
                   "-n, --max-attempts", "--nics-file", "-v, --verbose", "-q, --quiet",
                   "--version", "--help", "http://metadata.packet.net/metadata",
                   "default: 10"):
        assert option in out, option


@pytest.mark.parametrize("argv, fragment", [
    ([], "Missing option '-t'"),
    (["-t"], "requires an argument"),
    (["-t", "/tmp/x", "--bogus"], "--bogus"),
    (["-t", "/tmp/x", "--resolvers", "1.1.1.1,dns.example"], "'dns.example' is not an IP"),
    (["-t", "/tmp/x", "-n", "0"], "-n"),
    (["-t", "/tmp/x", "--renderer", "yast"], "--renderer"),
])
def test_usage_errors_are_exit_2_in_one_line(argv, fragment):
    code, out, err = run_cli(argv, subprocess=True)
    assert_one_line_error(code, out, err, 2, fragment, "(see --help)")


def test_metadata_file_that_is_a_directory_is_a_usage_error(tmp_path):
    code, out, err = run_cli(["-M", tmp_path, "-t", tmp_path / "r"])
    assert_one_line_error(code, out, err, 2)


@pytest.mark.parametrize("option, kind, message", [
    ("-M", "dir", "File '{path}' is a directory."),
    ("--nics-file", "dir", "File '{path}' is a directory."),
    ("-t", "file", "Directory '{path}' is a file."),
])
def test_a_path_of_the_wrong_kind_is_a_usage_error(tmp_path, option, kind, message):
    path = tmp_path / kind
    path.mkdir() if kind == "dir" else path.write_text("x\n")
    argv = ["-t", tmp_path / "root", option, path] if option != "-t" else ["-t", path]
    code, out, err = run_cli(argv, subprocess=True)
    assert_one_line_error(code, out, err, 2, message.format(path=path), option)


# --- success -------------------------------------------------------------------------
def test_success_prints_one_line_and_writes_the_files(base, rootfs):
    with_os(rootfs, "centos", "7")
    code, out, err = run_cli(base + ["-t", rootfs], subprocess=True)
    assert (code, err) == (0, "")
    assert out == f"Configuration files written to root filesystem '{rootfs}'\n"
    assert (rootfs / "etc/hostname").read_text() == "node-01.example.net\n"


def test_quiet_success_prints_nothing(base, rootfs):
    assert run_cli(base + ["-t", rootfs, "-q"], subprocess=True) == (0, "", "")
    assert (rootfs / "etc/hostname").exists()


def test_quiet_dry_run_prints_nothing_and_writes_nothing(base, rootfs):
    assert run_cli(base + ["-t", rootfs, "-q", "--dry-run"]) == (0, "", "")
    assert snapshot(rootfs) == {}


def test_metadata_from_stdin(files, rootfs):
    with_os(rootfs, "centos", "7")
    meta, nics = files
    code, out, err = run_cli(["-M", "-", "--nics-file", nics, "-o", "centos 7", "-t", rootfs,
                              "--resolvers", "192.0.2.53"], subprocess=True,
                             stdin=meta.read_bytes())
    assert (code, err) == (0, "")
    assert (rootfs / "etc/hostname").read_text() == "node-01.example.net\n"


def test_nics_from_stdin(files, rootfs):
    with_os(rootfs, "centos", "7")
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", "-", "-o", "centos 7", "-t", rootfs,
                              "--resolvers", "192.0.2.53"], stdin=nics.read_bytes())
    assert (code, err) == (0, "")


def test_verbose_levels(base, rootfs):
    with_os(rootfs, "centos", "7")
    code, out, err = run_cli(base + ["-t", rootfs])
    assert err == ""
    code, out, err = run_cli(base + ["-t", rootfs, "-v"])
    assert "INFO: name=eno1 driver=i40e mac=0c:c4:7a:aa:00:10" in err
    assert "INFO: name=eno2 driver=i40e mac=0c:c4:7a:aa:00:11" in err
    assert "DEBUG:" not in err
    for flags in (["-vv"], ["-v", "-v"], ["--verbose", "--verbose"]):
        code, out, err = run_cli(base + ["-t", rootfs] + flags)
        assert code == 0 and "DEBUG:" in err, flags


@pytest.fixture
def plugin_logger(monkeypatch):
    """A hook, as a plugin would ship it, that logs through its own stdlib logger."""
    import logging

    from packetnetworking import hooks

    monkeypatch.setattr(hooks.BuilderHook, "registry", list(hooks.BuilderHook.registry))

    class ChattyPluginHook(hooks.BuilderHook):
        def hook_initialized(self, builder):
            log = logging.getLogger("some_plugin")
            log.info("plugin detail")
            log.warning("plugin says hi")


@pytest.mark.parametrize("flags, expected", [
    ([], "WARNING: plugin says hi\n"),
    (["-v"], "INFO: plugin detail\nWARNING: plugin says hi\n"),
    (["-q"], ""),
])
def test_a_plugin_logger_follows_the_cli_verbosity(plugin_logger, base, rootfs, flags, expected):
    with_os(rootfs, "centos", "7")  # the test's own folder, in the no-OS warning, says "plugin"
    code, out, err = run_cli(base + ["-t", rootfs] + flags)
    assert code == 0
    assert [line for line in err.splitlines(keepends=True) if "plugin" in line] == \
        expected.splitlines(keepends=True)


def test_held_warnings_are_dropped_when_the_run_fails(plugin_logger, files, rootfs):
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "plan9 1", "-t", rootfs])
    assert_one_line_error(code, out, err, 20, "no builder for distro 'plan9'")


def test_main_gives_the_root_logger_back(base, rootfs):
    """A program calling main() itself keeps its own logging set-up afterwards."""
    import logging

    from packetnetworking import cli

    root = logging.getLogger()
    mine = logging.NullHandler()
    saved = root.handlers[:], root.level
    root.handlers[:] = [mine]
    root.setLevel(logging.ERROR)
    try:
        with pytest.raises(SystemExit):
            cli.main([str(a) for a in base + ["-t", rootfs, "-q"]])
        assert (root.handlers, root.level) == ([mine], logging.ERROR)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_clustered_short_flags_set_the_log_level(files, rootfs):
    meta, nics = files
    code, out, err = run_cli(["-vvM", meta, "--nics-file", nics, "-o", "centos 7",
                              "--resolvers", "192.0.2.53", "-t", rootfs])
    assert code == 0 and "DEBUG:" in err


@pytest.mark.parametrize("spelling", [
    ["-M", "{meta}", "--nics-file", "{nics}", "-o", "centos 7", "-t", "{root}", "-n", "3", "-q"],
    ["--metadata-file", "{meta}", "--nics-file", "{nics}", "--operating-system", "centos 7",
     "--rootfs", "{root}", "--max-attempts", "3", "--quiet"],
    ["-M{meta}", "--nics-file={nics}", "-ocentos 7", "-t{root}", "-n3", "-q"],
    ["--metadata-file={meta}", "--nics-file", "{nics}", "-o", "centos 7", "-qt", "{root}"],
])
def test_short_long_and_attached_spellings_mean_the_same(files, tmp_path, spelling):
    """Each spelling click documents parses the same."""
    meta, nics = files
    root = tmp_path / "root"
    root.mkdir()
    argv = [a.format(meta=meta, nics=nics, root=root) for a in spelling]
    assert run_cli(argv + ["--resolvers", "192.0.2.53"], subprocess=True) == (0, "", "")
    assert (root / "etc/hostname").read_text() == "node-01.example.net\n"


def test_a_short_option_missing_its_value_and_an_unknown_one_are_usage_errors(rootfs):
    code, out, err = run_cli(["-t", rootfs, "-M"], subprocess=True)
    assert_one_line_error(code, out, err, 2, "'-M' requires an argument")
    code, out, err = run_cli(["-t", rootfs, "-Z"], subprocess=True)
    assert_one_line_error(code, out, err, 2, "No such option", "-Z")


# --- operating system ----------------------------------------------------------------
@pytest.mark.parametrize("option", ["CentOS 7", "centos 7", "n/a n/a", "N/A 7", "centos N/A"])
def test_os_option_case_and_n_a(files, rootfs, option):
    with_os(rootfs, "centos", "7")
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", option, "-t", rootfs,
                              "--resolvers", "192.0.2.53"])
    assert (code, err) == (0, ""), option


@pytest.mark.parametrize("option", ["centos 7 extra", "Red Hat 9"])
def test_os_option_of_more_than_two_words_is_exit_20(files, rootfs, option):
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", option, "-t", rootfs,
                              "--resolvers", "192.0.2.53"], subprocess=True)
    assert_one_line_error(code, out, err, 20, "more than two words", "-o 'DISTRO VERSION'")
    assert snapshot(rootfs) == {}


def test_os_without_a_builder_is_exit_20(files, rootfs):
    if any("*" in b.distros for b in DistroBuilder.registry):
        pytest.skip("a catch-all distro builder is registered")
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "plan9 4", "-t", rootfs,
                              "--resolvers", "192.0.2.53"], subprocess=True)
    assert_one_line_error(code, out, err, 20, "no builder for distro 'plan9'", "centos")
    assert snapshot(rootfs) == {}


def test_no_os_anywhere_is_exit_20(tmp_path, rootfs):
    doc = make_metadata()
    del doc["operating_system"]
    meta = write_metadata(tmp_path / "m.json", doc)
    nics = write_nics(tmp_path / "n.json", nics_from_metadata(doc))
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-t", rootfs,
                              "--resolvers", "192.0.2.53"])
    assert_one_line_error(code, out, err, 20, "no operating system")


# --- resolvers -----------------------------------------------------------------------
def nameservers(rootfs):
    """resolv.conf's nameservers, wherever the family's builder put it."""
    for path in ("etc/resolv.conf", "run/systemd/resolve/stub-resolv.conf"):
        if (rootfs / path).exists():
            return [line.split()[1] for line in (rootfs / path).read_text().splitlines()
                    if line.startswith("nameserver")]
    return None


def test_resolvers_option_ipv4_and_ipv6(files, rootfs):
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "centos 7", "-t", rootfs,
                              "--resolvers", " 147.75.207.207, 2001:4860:4860::8888,"])
    assert code == 0, err
    assert nameservers(rootfs) == ["147.75.207.207", "2001:4860:4860::8888"]


def test_resolvers_from_the_environment(files, rootfs):
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "centos 7", "-t", rootfs],
                             subprocess=True, env={"PACKET_RESOLVERS": "192.0.2.1,192.0.2.2"})
    assert code == 0, err
    assert nameservers(rootfs) == ["192.0.2.1", "192.0.2.2"]


def test_resolvers_option_wins_over_the_environment(files, rootfs):
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "centos 7", "-t", rootfs,
                              "--resolvers", "192.0.2.9"], env={"PACKET_RESOLVERS": "192.0.2.1"})
    assert code == 0 and nameservers(rootfs) == ["192.0.2.9"]


def test_resolvers_default_to_the_hosts_resolv_conf(files, rootfs, tmp_path, monkeypatch):
    host = tmp_path / "host-resolv.conf"
    host.write_text("# generated\nsearch example.net\nnameserver 10.1.1.1\n"
                    "nameserver   2001:db8::53  \nnameserver fe80::1%eth0\nnameserver bogus\n"
                    "nameserver 10.1.1.1\n;nameserver 10.9.9.9\noptions edns0\n")
    monkeypatch.setattr(source, "host_resolvers",
                        functools.partial(source.host_resolvers, str(host)))
    meta, nics = files
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "centos 7", "-t", rootfs])
    assert code == 0
    assert nameservers(rootfs)[:2] == ["10.1.1.1", "2001:db8::53"]
    assert "10.9.9.9" not in nameservers(rootfs) and "bogus" not in nameservers(rootfs)
    assert nameservers(rootfs).count("10.1.1.1") == 1


def test_host_resolvers_missing_file_means_none(tmp_path):
    assert source.host_resolvers(str(tmp_path / "absent")) == []


# --- exit codes: one line, no traceback (a traceback only at -vv) ------------------------------
def test_no_metadata_source_is_exit_10(rootfs):
    code, out, err = run_cli(["--metadata-url", "", "-t", rootfs], subprocess=True)
    assert_one_line_error(code, out, err, 10, "no metadata source", "-M FILE")


def test_missing_metadata_file_is_exit_40(tmp_path, rootfs):
    code, out, err = run_cli(["-M", tmp_path / "absent.json", "-t", rootfs], subprocess=True)
    assert_one_line_error(code, out, err, 40, "cannot read metadata file", "absent.json")


def test_bad_field_is_exit_40_and_traceback_only_at_vv(tmp_path, rootfs):
    doc = make_metadata()
    doc["network"]["addresses"][2]["gateway"] = "10.0.0.300"
    meta = write_metadata(tmp_path / "m.json", doc)
    nics = write_nics(tmp_path / "n.json", nics_from_metadata(doc))
    argv = ["-M", meta, "--nics-file", nics, "-o", "centos 7", "-t", rootfs]
    code, out, err = run_cli(argv, subprocess=True)
    assert_one_line_error(code, out, err, 40)
    assert err.startswith(f"packet-networking: error: metadata file {meta}: network.addresses[2]"
                          ".gateway: '10.0.0.300' is not an IPv4 address; ")
    code, out, err = run_cli(argv + ["-vv"], subprocess=True)
    assert code == 40 and "Traceback" in err
    assert err.rstrip("\n").splitlines()[-1].startswith(
        f"packet-networking: error: metadata file {meta}: network.")
    assert run_cli(argv + ["-q"], subprocess=True) == (40, "", "")
    assert snapshot(rootfs) == {}


def test_no_matching_nic_is_exit_50_listing_both_mac_sets(tmp_path, rootfs):
    doc = make_metadata()
    meta = write_metadata(tmp_path / "m.json", doc)
    nics = write_nics(tmp_path / "n.json", [{"name": "eno1", "mac": "02:00:00:00:00:01"}])
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "centos 7", "-t", rootfs],
                             subprocess=True)
    assert_one_line_error(code, out, err, 50, "0c:c4:7a:aa:00:10, 0c:c4:7a:aa:00:11",
                          "02:00:00:00:00:01")
    assert snapshot(rootfs) == {}


@pytest.mark.parametrize("content", [None, b"not a capture", b"<list><node"])
def test_unreadable_nic_file_is_exit_50(files, rootfs, tmp_path, content):
    meta, _ = files
    nics = tmp_path / "bad-nics"
    if content is not None:
        nics.write_bytes(content)
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "centos 7", "-t", rootfs])
    assert_one_line_error(code, out, err, 50)


def test_hostile_target_is_exit_60_and_unchanged(base, rootfs):
    (rootfs / "etc").mkdir()
    (rootfs / "etc/hostname").write_text("before\n")
    (rootfs / "etc/sysconfig").write_text("a file where a directory belongs\n")
    before = snapshot(rootfs)
    code, out, err = run_cli(base + ["-t", rootfs], subprocess=True)
    assert_one_line_error(code, out, err, 60, "is not a directory")
    assert snapshot(rootfs) == before
    assert run_cli(base + ["-t", rootfs, "-q"], subprocess=True) == (60, "", "")


def test_warnings_do_not_hide_the_success(tmp_path, rootfs):
    """An interface with no NIC is left out with a warning; the run still succeeds."""
    with_os(rootfs, "centos", "7")
    doc = make_metadata()
    meta = write_metadata(tmp_path / "m.json", doc)
    nics = write_nics(tmp_path / "n.json", nics_from_metadata(doc, ["eno1", "eno2"])[:1])
    code, out, err = run_cli(["-M", meta, "--nics-file", nics, "-o", "centos 7", "-t", rootfs,
                              "--resolvers", "192.0.2.53"])
    assert code == 0
    assert err == ("WARNING: metadata interface eth1 (0c:c4:7a:aa:00:11) matches no NIC on "
                   "this machine: left out\n")
    written = b"".join(c for _, c in snapshot(rootfs).values() if isinstance(c, bytes))
    assert b"0c:c4:7a:aa:00:11" not in written


def test_ifcfg_values_for_centos_7(base, rootfs):
    """The operator's view of the default server on CentOS 7 (ifcfg)."""
    assert run_cli(base + ["-t", rootfs])[0] == 0
    scripts = rootfs / "etc/sysconfig/network-scripts"
    bond = read_kv(scripts / "ifcfg-bond0")
    assert bond["DEVICE"] == "bond0"
    assert "mode=802.3ad" in bond["BONDING_OPTS"] and "miimon=100" in bond["BONDING_OPTS"]
    assert (bond["IPADDR"], bond.get("PREFIX") or bond.get("NETMASK")) in (
        ("198.51.100.23", "31"), ("198.51.100.23", "255.255.255.254"))
    assert bond["IPV6ADDR"] == "2001:db8:10:2a00::3/127"
    slaves = {p.name: read_kv(p) for p in scripts.glob("ifcfg-eno*")}
    assert {k: (v["MASTER"], v["HWADDR"].lower()) for k, v in slaves.items()} == {
        "ifcfg-eno1": ("bond0", "0c:c4:7a:aa:00:10"), "ifcfg-eno2": ("bond0", "0c:c4:7a:aa:00:11")}
    routes = (scripts / "route-bond0").read_text()
    assert "10.0.0.0/8 via 10.66.4.4" in routes
