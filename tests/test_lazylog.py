"""Logging that imports ``logging`` only when a message is kept (packetnetworking.lazylog).

What the operator sees must not change: warnings held until a run succeeds and
dropped when it fails, nothing at all with -q, everything live with -v, and a
third-party hook's own stdlib logging meeting the same rules. Most of this only
shows in a fresh process (pytest itself imports logging), so those tests run
``python -m packetnetworking`` or a small probe.
"""
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import make_metadata, nics_from_metadata, run_cli, with_os, write_metadata, \
    write_nics
from packetnetworking import lazylog

REPO = Path(__file__).resolve().parents[1]
MISSING_NIC = ("WARNING: metadata interface eth1 (0c:c4:7a:aa:00:11) matches no NIC on this "
               "machine: left out\n")


@pytest.fixture(autouse=True)
def _library_mode():
    lazylog.reset()
    yield
    lazylog.reset()


@pytest.fixture
def one_nic_missing(tmp_path):
    """CLI arguments for a server whose second interface has no NIC: a warning, then success."""
    doc = make_metadata()
    meta = write_metadata(tmp_path / "m.json", doc)
    nics = write_nics(tmp_path / "n.json", nics_from_metadata(doc, ["eno1", "eno2"])[:1])
    rootfs = with_os(tmp_path / "root")
    return ["-M", meta, "--nics-file", nics, "-o", "centos 7", "--resolvers", "192.0.2.53",
            "-t", rootfs]


# --- as a library ----------------------------------------------------------------------------
def test_library_messages_reach_logging_naming_their_caller(caplog):
    log = lazylog.get("packetnetworking.test")
    with caplog.at_level(logging.DEBUG, logger="packetnetworking.test"):
        log.debug("seen %s", "debug")
        log.warning("seen %s", "warning")
        log.log(logging.INFO, "seen info")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        assert log.isEnabledFor(logging.DEBUG)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("DEBUG", "seen debug"), ("WARNING", "seen warning"), ("INFO", "seen info"),
        ("ERROR", "failed")]
    assert {r.funcName for r in caplog.records} == {
        "test_library_messages_reach_logging_naming_their_caller"}
    assert {r.filename for r in caplog.records} == {"test_lazylog.py"}
    assert caplog.records[-1].exc_info[0] is ValueError


def test_dropped_messages_never_run_the_setup_and_kept_ones_run_it_once(caplog):
    calls = []
    lazylog.drop_below(lazylog.WARNING, calls.append)
    log = lazylog.get("packetnetworking.test")
    with caplog.at_level(logging.DEBUG, logger="packetnetworking.test"):
        log.debug("dropped")
        log.info("dropped")
        assert not log.isEnabledFor(logging.INFO)
        assert calls == []
        log.warning("kept")
        log.error("kept too")
    assert calls == [logging]
    assert [r.getMessage() for r in caplog.records] == ["kept", "kept too"]


def test_ensure_runs_a_pending_setup_once():
    calls = []
    lazylog.drop_below(lazylog.WARNING, calls.append)
    assert lazylog.ensure() is logging
    lazylog.ensure()
    assert calls == [logging]


# --- through the CLI, in fresh processes -------------------------------------------------------
def test_warnings_are_shown_after_a_successful_run(one_nic_missing):
    code, out, err = run_cli(one_nic_missing, subprocess=True)
    assert code == 0
    assert err == MISSING_NIC
    assert out.startswith("Configuration files written")


def test_warnings_of_a_failed_run_are_dropped_for_its_one_error_line(one_nic_missing):
    rootfs = Path(one_nic_missing[-1])
    (rootfs / "etc").write_text("a file where a directory belongs\n")
    code, out, err = run_cli(one_nic_missing, subprocess=True)
    assert code == 60
    assert err.count("\n") == 1 and err.startswith("packet-networking: error: ")


def test_quiet_prints_nothing_and_verbose_shows_the_warning_live(one_nic_missing):
    assert run_cli(one_nic_missing + ["-q"], subprocess=True) == (0, "", "")
    code, out, err = run_cli(one_nic_missing + ["-v"], subprocess=True)
    assert code == 0
    assert MISSING_NIC in err
    assert "INFO: " in err


_PLUGIN_PROBE = textwrap.dedent("""\
    import json, sys
    from packetnetworking import cli
    try:
        cli.main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    print(json.dumps({"code": code, "logging": "logging" in sys.modules}))
    """)


@pytest.fixture
def warning_plugin(tmp_path):
    """A hook plugin (entry point) that logs a warning through the stdlib directly."""
    site = tmp_path / "site"
    dist = site / "pn_warning_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pn-warning-plugin\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[packetnetworking.hooks]\nwarn = pn_warning_plugin\n")
    (site / "pn_warning_plugin.py").write_text(textwrap.dedent("""\
        import logging

        from packetnetworking.hooks import BuilderHook


        class WarningHook(BuilderHook):
            def hook_initialized(self, builder):
                logging.getLogger("pn_warning_plugin").warning("from the plugin")
        """))
    return site


def _probe(args, site=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), site])))
    out = subprocess.run([sys.executable, "-c", _PLUGIN_PROBE, *map(str, args)],
                         capture_output=True, text=True, env=env, timeout=120)
    *lines, last = out.stdout.splitlines()
    return json.loads(last), lines, out.stderr


def test_a_plugins_own_logging_obeys_the_cli(warning_plugin, tmp_path):
    doc = make_metadata()
    args = ["-M", write_metadata(tmp_path / "m.json", doc), "--nics-file",
            write_nics(tmp_path / "n.json", nics_from_metadata(doc, ["eno1", "eno2"])),
            "-o", "centos 7", "--resolvers", "192.0.2.53", "-t", with_os(tmp_path)]
    result, _, err = _probe(args, str(warning_plugin))
    assert result["code"] == 0
    assert err == "WARNING: from the plugin\n"  # held, then shown once, in the CLI's format
    result, lines, err = _probe(args + ["-q"], str(warning_plugin))
    assert (result["code"], lines, err) == (0, [], "")  # not Python's last-resort handler
