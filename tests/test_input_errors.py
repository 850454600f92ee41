"""Answers of real metadata services (a real HTTP server on loopback) and inputs that
are not what they should be: each is one line naming the file or URL, saying what
is wrong and what to do, with the documented exit code and nothing written.

Service shapes: Hegel answers ``{"error": ...}`` (a string, or an object with
``error`` and ``comment``) and its current ``/metadata`` serves only the storage
section; hollow-metadataservice answers ``{"errors": [...]}``; a service can
answer 404 until the hardware is registered.
"""
import json
import re

import pytest

from support.helpers import make_metadata, nics_from_metadata, run_cli, snapshot, write_metadata, \
    write_nics
from packetnetworking import source

pytest.importorskip("pytest_httpserver")

ONE_LINE = re.compile(r"^packet-networking: error: [^\n]+; [^\n]+\n\Z")
FAMILY_OPTIONS = ["debian 12", "ubuntu 24.04", "centos 7", "rocky 9", "sles 15", "alpine 3.20",
                  "flatcar 4081.2.0"]
HEGEL_STORAGE = {"metadata": {"instance": {"storage": {"disks": [
    {"device": "/dev/sda", "wipe_table": True,
     "partitions": [{"label": "ROOT", "number": 1, "size": 0}]}]}}}}


@pytest.fixture(autouse=True)
def quiet_loopback(monkeypatch):
    import logging
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(source, "backoff_delay", lambda attempt, rng=None: 0.0)


@pytest.fixture
def cli(tmp_path):
    """``cli(*args, option="debian 12")``: the CLI with the default server's NIC list,
    into an empty root; returns ``(code, stdout, stderr, root)``."""
    doc = make_metadata()
    nics = write_nics(tmp_path / "nics.json", nics_from_metadata(doc))

    def run(*args, option="debian 12", nics_file=None):
        root = tmp_path / f"root{len(list(tmp_path.glob('root*')))}"
        root.mkdir()
        code, out, err = run_cli(["--nics-file", nics_file or nics, "-o", option, "-t", root,
                                  "--resolvers", "192.0.2.53", *args])
        return code, out, err, root

    return run


def assert_refused(code, err, root, expected_code, *fragments):
    assert code == expected_code, err
    assert ONE_LINE.match(err), err
    for fragment in fragments:
        assert fragment in err, err
    assert snapshot(root) == {}


# --- the metadata service ------------------------------------------------------------------------
@pytest.mark.parametrize("option", FAMILY_OPTIONS)
def test_404_until_the_hardware_is_registered_is_retried(httpserver, cli, option):
    httpserver.expect_ordered_request("/metadata").respond_with_json(
        {"error": "no hardware found for source ip"}, status=404)
    httpserver.expect_ordered_request("/metadata").respond_with_data("", status=404)
    httpserver.expect_ordered_request("/metadata").respond_with_json(make_metadata())
    code, out, err, root = cli("--metadata-url", httpserver.url_for("/metadata"), option=option)
    assert code == 0, err
    assert len(httpserver.log) == 3
    assert (root / "etc" / "hostname").read_text().strip() == "node-01.example.net"


def test_404_to_the_end_quotes_the_service(httpserver, cli):
    httpserver.expect_request("/metadata").respond_with_json(
        {"error": "no hardware found for source ip"}, status=404)
    url = httpserver.url_for("/metadata")
    code, out, err, root = cli("--metadata-url", url, "-n", "3")
    assert_refused(code, err, root, 40, "after 3 attempts: HTTP 404: "
                   "'no hardware found for source ip'", "--metadata-url")
    assert len(httpserver.log) == 3


def test_one_attempt_is_singular(httpserver, cli):
    httpserver.expect_request("/metadata").respond_with_data("down", status=503)
    code, out, err, root = cli("--metadata-url", httpserver.url_for("/metadata"), "-n", "1")
    assert_refused(code, err, root, 40, "after 1 attempt: HTTP 503")


@pytest.mark.parametrize("status, body, quoted", [
    (403, {"error": "forbidden"}, "'forbidden'"),
    (401, {"errors": ["invalid token", "try again"]}, "'invalid token; try again'"),
    (400, {"error": {"error": "bad request", "comment": "no source address"}},
     "'bad request; no source address'"),
], ids=["hegel-403", "hollow-401", "hegel-object-400"])
def test_client_errors_fail_at_once_quoting_the_service(httpserver, cli, status, body, quoted):
    httpserver.expect_request("/metadata").respond_with_json(body, status=status)
    url = httpserver.url_for("/metadata")
    code, out, err, root = cli("--metadata-url", url)
    assert_refused(code, err, root, 40, f"HTTP {status} for {url}: {quoted}")
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("body, quoted", [
    ({"error": "Not found"}, "'Not found'"),
    ({"error": {"error": "record not found", "comment": "hardware"}},
     "'record not found; hardware'"),
])
def test_an_error_document_is_exit_40_quoting_the_service(httpserver, cli, body, quoted):
    httpserver.expect_request("/metadata").respond_with_json(body)
    url = httpserver.url_for("/metadata")
    code, out, err, root = cli("--metadata-url", url)
    assert_refused(code, err, root, 40, f"metadata from {url} is an error from the metadata "
                   f"service: {quoted}", "--metadata-url")
    assert len(httpserver.log) == 1


def test_hegels_storage_only_metadata_names_the_endpoint_to_use(httpserver, cli):
    httpserver.expect_request("/metadata").respond_with_json(HEGEL_STORAGE)
    url = httpserver.url_for("/metadata")
    code, out, err, root = cli("--metadata-url", url)
    assert_refused(code, err, root, 40, f"metadata from {url} has no network section",
                   "Equinix-compatible /metadata endpoint", "storage only")


@pytest.mark.parametrize("body, said", [
    (b"", "is empty"), (b"   \n", "is empty"),
    (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "is an HTML page"),
    (b"[1, 2]", "is a list, not a JSON object"), (b'{"hostname": ', "is not valid JSON"),
])
def test_what_a_url_serves_instead_of_the_document_is_named(httpserver, cli, body, said):
    httpserver.expect_request("/metadata").respond_with_data(body)
    url = httpserver.url_for("/metadata")
    code, out, err, root = cli("--metadata-url", url)
    assert_refused(code, err, root, 40, f"metadata from {url} {said}", "; check --metadata-url")


def test_a_large_document_from_the_service_parses(httpserver, cli):
    doc = make_metadata(customdata="x" * (20 << 20))
    httpserver.expect_request("/metadata").respond_with_data(json.dumps(doc))
    code, out, err, root = cli("--metadata-url", httpserver.url_for("/metadata"))
    assert code == 0, err


# --- -vv names a URL only when one was given -----------------------------------------------------
def test_vv_does_not_claim_a_url_when_only_the_default_applies(tmp_path, cli):
    meta = write_metadata(tmp_path / "m.json", make_metadata())
    code, out, err, root = cli("-M", meta, "-vv")
    assert code == 0 and "URL were given" not in err and source.DEFAULT_URL not in err
    code, out, err, root = cli("-M", meta, "-vv", "--metadata-url", "http://192.0.2.1/metadata")
    assert code == 0 and "both a metadata file and a URL were given" in err


# --- files -------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, said", [
    (b"", "is empty"),
    (b"\n\n", "is empty"),
    (b"<html><head><title>Login</title></head></html>", "is an HTML page"),
    (b"[]", "is a list, not a JSON object"),
    (b'"text"', "is a string, not a JSON object"),
    (b"{", "is not valid JSON (line 1 column 2)"),
    (json.dumps(HEGEL_STORAGE).encode(), "has no network section"),
    (json.dumps({"error": "Not found"}).encode(), "is an error from the metadata service"),
], ids=["empty", "blank", "html", "list", "string", "truncated", "hegel-storage", "error"])
def test_a_metadata_file_that_is_not_the_document_names_the_file(tmp_path, cli, content, said):
    path = tmp_path / "meta.json"
    path.write_bytes(content)
    code, out, err, root = cli("-M", path)
    assert_refused(code, err, root, 40, f"metadata file {path} {said}")


def test_metadata_on_stdin_is_named_stdin(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    nics = write_nics(tmp_path / "nics.json", nics_from_metadata(make_metadata()))
    code, out, err = run_cli(["-M", "-", "--nics-file", nics, "-o", "debian 12", "-t", root],
                             stdin=b"")
    assert_refused(code, err, root, 40, "metadata from stdin is empty")


@pytest.mark.parametrize("content, said", [
    (json.dumps(make_metadata()).encode(), "holds no physical NIC"),
    (b"{}", "holds no physical NIC"),
    (b"[]", "holds no physical NIC"),
    (b'<?xml version="1.0"?><list></list>', "holds no physical NIC"),
    (b"<!DOCTYPE html><html></html>", "is an HTML page"),
    (b"", "is empty"),
], ids=["the-metadata", "object", "list", "empty-capture", "html", "empty"])
def test_a_nic_file_without_nics_is_exit_50_naming_it_and_the_formats(tmp_path, cli, content,
                                                                       said):
    meta = write_metadata(tmp_path / "m.json", make_metadata())
    path = tmp_path / "page.html"
    path.write_bytes(content)
    code, out, err, root = cli("-M", meta, nics_file=path)
    assert_refused(code, err, root, 50, f"NIC file {path} {said}", "lshw -class network -xml",
                   "JSON NIC list")
    assert "check that the metadata is this server's" not in err


def test_nothing_to_configure_names_the_file(tmp_path, cli):
    doc = make_metadata()
    doc["network"]["addresses"] = []
    meta = write_metadata(tmp_path / "m.json", doc)
    code, out, err, root = cli("-M", meta)
    assert_refused(code, err, root, 40, f"metadata file {meta}: network.addresses: no enabled "
                   "management address")
