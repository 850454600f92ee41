"""Nameservers taken from the host (no --resolvers): loopback servers answer on the
provisioning host only, so they never reach the target's files.

The host's files are the module's paths (source.HOST_RESOLV_CONF and
RESOLVED_UPSTREAM_CONF), pointed at files the tests write.
"""
import pytest

from support.helpers import make_metadata, nics_from_metadata, run_cli, snapshot, with_os, \
    write_metadata, write_nics
from packetnetworking import source

#: One release of each family (and each stack that writes nameservers).
FAMILY_OPTIONS = ["debian 12", "ubuntu 24.04", "centos 7", "rocky 9", "sles 15", "alpine 3.20",
                  "flatcar 4081.2.0"]
STUB = "# This is /run/systemd/resolve/stub-resolv.conf\nnameserver 127.0.0.53\noptions edns0\n"
UPSTREAM = "# This is /run/systemd/resolve/resolv.conf\nnameserver 192.0.2.10\n" \
           "nameserver 2001:db8::10\nnameserver 127.0.0.1\n"


@pytest.fixture
def host(tmp_path, monkeypatch):
    """``host(resolv_conf, upstream=None)`` writes the host's files and points source at them."""

    def write(resolv_conf, upstream=None):
        conf = tmp_path / "host-resolv.conf"
        conf.write_text(resolv_conf)
        monkeypatch.setattr(source, "HOST_RESOLV_CONF", str(conf))
        up = tmp_path / "host-run-resolv.conf"
        if upstream is not None:
            up.write_text(upstream)
        monkeypatch.setattr(source, "RESOLVED_UPSTREAM_CONF", str(up))

    return write


def run(tmp_path, option):
    doc = make_metadata()
    root = with_os(tmp_path / "root", *option.split())
    before = snapshot(root)
    code, out, err = run_cli(["-M", write_metadata(tmp_path / "m.json", doc), "--nics-file",
                              write_nics(tmp_path / "n.json", nics_from_metadata(doc)),
                              "-o", option, "-t", root])
    assert code == 0, err
    # every file written but etc/hosts, whose localhost lines name loopback addresses
    text = "\n".join(content.decode() for path, (mode, content) in snapshot(root).items()
                     if isinstance(content, bytes) and path != "etc/hosts"
                     and before.get(path) != (mode, content))
    return text, err


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
def test_the_systemd_resolved_stub_is_replaced_by_its_upstream_servers(tmp_path, host, option):
    host(STUB, UPSTREAM)
    text, err = run(tmp_path, option)
    assert "192.0.2.10" in text and "2001:db8::10" in text
    assert "127.0.0." not in text
    assert "WARNING" not in err


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
def test_loopback_servers_are_dropped_with_a_warning(tmp_path, host, option):
    host("nameserver 127.0.0.11\nnameserver 192.0.2.20\nnameserver ::1\n")
    text, err = run(tmp_path, option)
    assert "192.0.2.20" in text
    assert "127.0.0.11" not in text and "::1\n" not in text and "::1 " not in text
    warning = [line for line in err.splitlines() if "loopback" in line]
    assert len(warning) == 1 and warning[0].startswith("WARNING:"), err
    assert "127.0.0.11" in warning[0] and "::1" in warning[0]


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
def test_nothing_left_is_a_warning_and_no_nameserver(tmp_path, host, option):
    host(STUB)  # the stub, and no upstream file (e.g. resolved not running here)
    text, err = run(tmp_path, option)
    assert "127.0.0.53" not in text
    assert "nameserver " not in text and "dns-nameservers" not in text
    assert "DNS=" not in text and "DNS1=" not in text and "dns=" not in text
    assert any("no nameserver is left" in line and line.startswith("WARNING:")
               for line in err.splitlines()), err


def test_explicit_resolvers_are_written_as_given(tmp_path, host):
    """--resolvers is the operator's choice (a target may run its own local resolver)."""
    host(STUB, UPSTREAM)
    doc = make_metadata()
    root = tmp_path / "root"
    root.mkdir()
    code, out, err = run_cli(["-M", write_metadata(tmp_path / "m.json", doc), "--nics-file",
                              write_nics(tmp_path / "n.json", nics_from_metadata(doc)),
                              "-o", "debian 12", "-t", root, "--resolvers", "192.0.2.99"])
    assert code == 0, err
    assert (root / "etc" / "resolv.conf").read_text().count("nameserver 192.0.2.99") == 1


def test_the_stub_with_no_upstream_but_another_server_keeps_it(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.53\nnameserver 192.0.2.30\n")
    assert source.host_resolvers(str(conf), str(tmp_path / "absent")) == ["192.0.2.30"]


def test_upstream_servers_come_once_and_before_the_others(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.53\nnameserver 192.0.2.10\n")
    upstream = tmp_path / "upstream.conf"
    upstream.write_text(UPSTREAM)
    assert source.host_resolvers(str(conf), str(upstream)) == ["192.0.2.10", "2001:db8::10"]
