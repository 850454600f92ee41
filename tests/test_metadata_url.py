"""Metadata from the URL: a real HTTP server on loopback (pytest-httpserver).

Waits between attempts are patched to zero except where the real backoff is the
point (``backoff_delay`` with a seeded ``random.Random`` and ``fetch`` with a
recording ``sleep``): no test sleeps for the real backoff.
"""
import json
import random
import socket
import subprocess
import sys
import time

import pytest

from support.helpers import make_metadata, nics_from_metadata, run_cli, with_os, write_metadata, \
    write_nics
from packetnetworking import source
from packetnetworking.errors import MetadataError, MetadataUnreachable

pytest.importorskip("pytest_httpserver")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Loopback must not go through a proxy configured on the host, and the test
    server's request log must not land in the stderr of in-process runs."""
    import logging
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def no_wait(monkeypatch):
    """Retries without waiting (the real delays are proven in the backoff tests)."""
    delays = []

    def instant(attempt, rng=random):
        delays.append(attempt)
        return 0.0
    monkeypatch.setattr(source, "backoff_delay", instant)
    return delays


@pytest.fixture
def doc():
    return make_metadata()


@pytest.fixture
def args(tmp_path, doc, rootfs):
    nics = write_nics(tmp_path / "nics.json", nics_from_metadata(doc))
    return ["--nics-file", nics, "-o", "centos 7", "--resolvers", "192.0.2.53", "-t",
            with_os(rootfs, "centos", "7")]


def url(httpserver):
    return httpserver.url_for("/metadata")


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def retries_in(err):
    """The retry lines of a run: each one is logged at WARNING with its reason."""
    lines = [line for line in err.splitlines()
             if line.split(": ", 1)[-1].startswith("metadata attempt")]
    assert all(line.startswith("WARNING: ") for line in lines), lines
    return [line.split(": ", 1)[1] for line in lines]


# --- success and retries -------------------------------------------------------------------
def test_metadata_from_the_url(httpserver, args, doc, rootfs):
    httpserver.expect_request("/metadata", method="GET").respond_with_json(doc)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver)])
    assert (code, err) == (0, "")
    assert (rootfs / "etc/hostname").read_text() == "node-01.example.net\n"
    assert len(httpserver.log) == 1
    assert httpserver.log[0][0].headers.get("Accept") == "application/json"


@pytest.mark.parametrize("status", [500, 501, 502, 503, 504, 599, 429])
def test_5xx_and_429_are_retried_then_success(httpserver, args, doc, rootfs, no_wait, status):
    httpserver.expect_ordered_request("/metadata").respond_with_data("busy", status=status)
    httpserver.expect_ordered_request("/metadata").respond_with_data("busy", status=status)
    httpserver.expect_ordered_request("/metadata").respond_with_json(doc)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver), "-v"])
    assert code == 0, err
    httpserver.check_assertions()
    assert len(httpserver.log) == 3
    assert retries_in(err) == [
        f"metadata attempt 1/10 failed (HTTP {status}); retrying in 0.0s",
        f"metadata attempt 2/10 failed (HTTP {status}); retrying in 0.0s"]
    assert (rootfs / "etc/hostname").exists()


def test_retries_before_a_success_show_a_warning_with_the_reason(httpserver, args, doc,
                                                                 no_wait):
    httpserver.expect_ordered_request("/metadata").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/metadata").respond_with_json(doc)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver)])
    assert code == 0
    assert retries_in(err) == ["metadata attempt 1/10 failed (HTTP 503); retrying in 0.0s"]


@pytest.mark.parametrize("status", [400, 401, 403, 410])
def test_4xx_fails_at_once_with_exit_40(httpserver, args, rootfs, no_wait, status):
    httpserver.expect_request("/metadata").respond_with_data("no", status=status)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver)])
    assert code == 40
    assert len(httpserver.log) == 1 and no_wait == []
    assert err == (f"packet-networking: error: metadata service answered HTTP {status} for "
                   f"{url(httpserver)}; check --metadata-url and the network, or pass -M FILE\n")
    assert [p.name for p in rootfs.iterdir()] == ["usr"]  # only with_os's usr/lib/os-release


def test_always_failing_uses_max_attempts_default_10(httpserver, args, no_wait):
    httpserver.expect_request("/metadata").respond_with_data("down", status=503)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver), "-v"])
    assert code == 40
    assert len(httpserver.log) == 10 and len(retries_in(err)) == 9
    assert "unreachable after 10 attempts: HTTP 503" in err.splitlines()[-1]


def test_max_attempts_option(httpserver, args, no_wait):
    httpserver.expect_request("/metadata").respond_with_data("down", status=500)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver), "-n", "3"])
    assert code == 40 and len(httpserver.log) == 3


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_bad_max_attempts_is_a_usage_error(args, value):
    code, out, err = run_cli(args + ["-n", value])
    assert code == 2 and err.count("\n") == 1


def test_connection_refused_is_exit_40_after_n_attempts(args, no_wait):
    port = closed_port()
    code, out, err = run_cli(args + ["--metadata-url", f"http://127.0.0.1:{port}/metadata",
                                     "-n", "3", "-v"])
    assert code == 40 and out == ""
    assert retries_in(err) == [
        "metadata attempt 1/3 failed (connection refused); retrying in 0.0s",
        "metadata attempt 2/3 failed (connection refused); retrying in 0.0s"]
    last = err.splitlines()[-1]
    assert last.startswith("packet-networking: error: metadata service unreachable after 3 "
                           "attempts: connection refused")
    assert "Traceback" not in err


def test_read_timeout_is_retried(httpserver, args, doc, monkeypatch, no_wait):
    monkeypatch.setattr(source, "READ_TIMEOUT", 0.3)
    calls = []

    def slow_then_fast(request):
        from werkzeug import Response
        calls.append(time.monotonic())
        if len(calls) == 1:
            time.sleep(1.0)
        return Response(json.dumps(doc), content_type="application/json")

    httpserver.expect_request("/metadata").respond_with_handler(slow_then_fast)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver), "-v"])
    assert code == 0, err
    # the test server answers one request at a time: attempts queued behind the slow
    # one may time out too, so only the first retry's reason is certain
    assert len(calls) >= 2
    assert retries_in(err)[0] == "metadata attempt 1/10 failed (read timed out); retrying in 0.0s"


def test_every_attempt_has_a_connect_and_a_read_timeout(httpserver, doc, monkeypatch):
    import requests
    seen = []
    real_get = requests.Session.get

    def spy(self, *a, **kw):
        seen.append(kw.get("timeout"))
        return real_get(self, *a, **kw)
    monkeypatch.setattr(requests.Session, "get", spy)
    httpserver.expect_request("/metadata").respond_with_json(doc)
    source.fetch(url(httpserver), 1)
    assert seen == [(source.CONNECT_TIMEOUT, source.READ_TIMEOUT)]
    assert 0 < source.CONNECT_TIMEOUT <= 30 and 0 < source.READ_TIMEOUT <= 60


# --- what comes back must be a valid document ------------------------------------------------
def test_invalid_json_from_the_url_is_exit_40(httpserver, args):
    httpserver.expect_request("/metadata").respond_with_data("<html>maintenance</html>")
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver)])
    assert code == 40 and err.count("\n") == 1
    assert f"metadata from {url(httpserver)} is an HTML page" in err


def test_invalid_field_from_the_url_is_exit_40_naming_it(httpserver, args, doc):
    doc["network"]["addresses"][2]["gateway"] = "10.0.0.300"
    httpserver.expect_request("/metadata").respond_with_json(doc)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver)])
    assert code == 40
    assert err.startswith(f"packet-networking: error: metadata from {url(httpserver)}: "
                          "network.addresses[2].gateway: '10.0.0.300' is not an IPv4 address; ")


def test_bad_url_fails_at_once(args, no_wait):
    code, out, err = run_cli(args + ["--metadata-url", "not a url"])
    assert code == 40 and no_wait == [] and err.count("\n") == 1


def test_empty_url_and_no_file_is_exit_10(args):
    code, out, err = run_cli(args + ["--metadata-url", ""])
    assert code == 10
    assert err == ("packet-networking: error: no metadata source; pass -M FILE or "
                   "--metadata-url URL\n")


# --- file versus URL ------------------------------------------------------------------------
def test_file_is_preferred_over_the_url_and_that_is_said_at_debug(httpserver, args, doc,
                                                                    tmp_path):
    httpserver.expect_request("/metadata").respond_with_data("unused", status=500)
    meta = write_metadata(tmp_path / "meta.json", doc)
    code, out, err = run_cli(args + ["-M", meta, "--metadata-url", url(httpserver), "-vv"])
    assert code == 0, err
    assert httpserver.log == []
    assert f"DEBUG: both a metadata file and a URL were given: using the file {meta}" in err
    code, out, err = run_cli(args + ["-M", meta, "--metadata-url", url(httpserver)])
    assert (code, err) == (0, "")


def test_url_from_the_environment(httpserver, args, doc, rootfs):
    httpserver.expect_request("/metadata").respond_with_json(doc)
    code, out, err = run_cli(args, subprocess=True,
                             env={"PACKET_METADATA_URL": url(httpserver), "NO_PROXY": "*"})
    assert code == 0, err
    assert len(httpserver.log) == 1
    assert (rootfs / "etc/hostname").read_text() == "node-01.example.net\n"


def test_url_option_wins_over_the_environment(httpserver, args, doc):
    httpserver.expect_request("/metadata").respond_with_json(doc)
    code, out, err = run_cli(args + ["--metadata-url", url(httpserver)],
                             env={"PACKET_METADATA_URL": f"http://127.0.0.1:{closed_port()}/"})
    assert code == 0, err


_IMPORT_PROBE = """
import sys
from packetnetworking import cli
try:
    cli.main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("requests" in sys.modules, code)
"""


def _probe(args):
    proc = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                          env=_probe_env())
    return proc.stdout.decode().splitlines()[-1].split()


def _probe_env():
    import os
    import packetnetworking
    from pathlib import Path
    env = dict(os.environ, NO_PROXY="*")
    env["PYTHONPATH"] = str(Path(packetnetworking.__file__).resolve().parents[1])
    return env


def test_requests_is_not_imported_when_a_file_is_used(tmp_path, args, doc):
    meta = write_metadata(tmp_path / "meta.json", doc)
    assert _probe(args + ["-M", meta]) == ["False", "0"]


def test_requests_is_imported_when_the_url_is_used(httpserver, args, doc):
    httpserver.expect_request("/metadata").respond_with_json(doc)
    assert _probe(args + ["--metadata-url", url(httpserver)]) == ["True", "0"]


# --- the real backoff ------------------------------------------------------------------------
def test_backoff_sequence_first_about_1s_doubling_capped_at_30s_with_jitter():
    rng = random.Random(1234)
    delays = [source.backoff_delay(attempt, rng) for attempt in range(1, 13)]
    bases = [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30]
    for delay, base in zip(delays, bases):
        assert 0.75 * base <= delay <= base
    assert 0.75 <= delays[0] <= 1.0
    assert max(delays) <= 30.0
    assert len(set(delays[5:])) > 1                     # jitter even at the cap
    other = [source.backoff_delay(a, random.Random(99)) for a in range(1, 13)]
    assert other != delays                              # jitter differs between runs
    rng = random.Random(1234)
    again = [source.backoff_delay(a, rng) for a in range(1, 13)]
    assert again == delays                              # and is reproducible with a seed


def test_fetch_sleeps_the_real_backoff_between_attempts(httpserver):
    httpserver.expect_request("/metadata").respond_with_data("down", status=500)
    slept = []
    with pytest.raises(MetadataUnreachable):
        source.fetch(url(httpserver), 4, sleep=slept.append)
    assert len(slept) == 3
    for delay, base in zip(slept, [1, 2, 4]):
        assert 0.75 * base <= delay <= base


@pytest.mark.parametrize("header, expected", [("3", 3.0), ("120", 30.0)])
def test_retry_after_is_honoured_up_to_the_cap(httpserver, header, expected):
    httpserver.expect_ordered_request("/metadata").respond_with_data(
        "slow down", status=429, headers={"Retry-After": header})
    httpserver.expect_ordered_request("/metadata").respond_with_json({"x": 1})
    slept = []
    assert json.loads(source.fetch(url(httpserver), 3, sleep=slept.append)) == {"x": 1}
    assert slept == [expected]


def test_oversized_response_is_refused(httpserver, monkeypatch):
    monkeypatch.setattr(source.metadata, "MAX_DOCUMENT_BYTES", 1000)
    httpserver.expect_request("/metadata").respond_with_data("x" * 5000)
    with pytest.raises(MetadataError, match="(larger|more) than (the )?1000"):
        source.fetch(url(httpserver), 2, sleep=lambda s: None)
