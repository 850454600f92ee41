"""Where the inputs come from: the metadata file or URL, and the host's resolvers.

The URL fetch is bounded: each attempt has a connect timeout, a read timeout
and a total deadline (a server that sends headers then trickles or stalls is
cut off), and retries back off exponentially with jitter, capped. The worst
case is documented in the README:
``attempts x (CONNECT_TIMEOUT + ATTEMPT_DEADLINE) + sum of backoffs``.
"""
import ipaddress
import logging
import random
import time

from packetnetworking import metadata
from packetnetworking.errors import MetadataError, MetadataUnreachable, NoMetadataSource

log = logging.getLogger(__name__)

DEFAULT_URL = "http://metadata.packet.net/metadata"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
ATTEMPT_DEADLINE = 20.0       # whole response, headers to last byte
BACKOFF_FIRST = 1.0
BACKOFF_CAP = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504}) | frozenset(range(505, 600))


def load(path=None, url=None, max_attempts=10, stdin=None):
    """Return the validated ``Metadata`` from a file (preferred) or the URL."""
    if path is not None:
        if url:
            log.debug("both a metadata file and a URL were given: using the file %s", path)
        return metadata.loads(read_file(path, stdin))
    if url:
        return metadata.loads(fetch(url, max_attempts))
    raise NoMetadataSource("no metadata source")


def read_file(path, stdin=None):
    limit = metadata.MAX_DOCUMENT_BYTES
    try:
        if path == "-":
            import sys
            data = (stdin or sys.stdin.buffer).read(limit + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(limit + 1)
    except OSError as err:
        raise MetadataError(f"cannot read metadata file {path}: {err.strerror}",
                            "check the -M path") from None
    return data


def backoff_delay(attempt, rng=random):
    """Seconds to wait after failed attempt number ``attempt`` (1-based): ~1, 2, 4 ... <= 30."""
    base = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempt - 1))
    return base * rng.uniform(0.75, 1.0)


def fetch(url, max_attempts=10, sleep=time.sleep):
    """GET ``url`` with bounded retries; returns the body's bytes."""
    import requests  # only when a URL is used: it is slow to import

    if max_attempts < 1:
        raise MetadataUnreachable(f"--max-attempts must be at least 1, got {max_attempts}")
    session = requests.Session()
    session.max_redirects = 5
    session.trust_env = True
    last = "no attempt made"
    for attempt in range(1, max_attempts + 1):
        retry_after = None
        try:
            body, status, retry_after = _get(session, requests, url)
            if status == 200:
                return body
            if status not in RETRY_STATUSES:
                raise MetadataUnreachable(f"metadata service answered HTTP {status} for {url}")
            last = f"HTTP {status}"
        except requests.exceptions.TooManyRedirects:
            raise MetadataUnreachable(f"metadata URL {url} redirects too many times") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as err:
            raise MetadataUnreachable(f"metadata URL {url!r} is not a valid URL ({err})") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError, _Stalled) as err:
            last = _reason(err)
        if attempt == max_attempts:
            break
        delay = backoff_delay(attempt)
        if retry_after is not None:
            delay = min(BACKOFF_CAP, max(delay, retry_after))
        log.warning("metadata attempt %d/%d failed (%s); retrying in %.1fs",
                    attempt, max_attempts, last, delay)
        sleep(delay)
    raise MetadataUnreachable(f"metadata service unreachable after {max_attempts} attempts: {last}")


class _Stalled(Exception):
    pass


def _get(session, requests, url):
    """One attempt: (body, status, Retry-After seconds or None)."""
    started = time.monotonic()
    with session.get(url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), stream=True,
                     headers={"Accept": "application/json"}) as response:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if response.status_code != 200:
            return b"", response.status_code, retry_after
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > metadata.MAX_DOCUMENT_BYTES:
                raise MetadataError(f"metadata from {url} is larger than "
                                    f"{metadata.MAX_DOCUMENT_BYTES} bytes")
            if time.monotonic() - started > ATTEMPT_DEADLINE:
                raise _Stalled(f"response not complete after {ATTEMPT_DEADLINE:.0f}s")
        expected = response.headers.get("Content-Length")
        if expected and expected.isdigit() and int(expected) != size:
            raise _Stalled(f"truncated body: {size} of {expected} bytes")
        return b"".join(chunks), 200, retry_after


def _retry_after(value):
    if value and value.strip().isdigit():
        return float(min(int(value.strip()), BACKOFF_CAP))
    return None


def _reason(err):
    text = str(err)
    for marker in ("Read timed out", "Connection refused", "timed out", "Name or service not known"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:120] if text else type(err).__name__


def host_resolvers(path="/etc/resolv.conf"):
    """``nameserver`` lines (IPv4 and IPv6) of the host's resolv.conf, valid ones only."""
    servers = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return servers
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                servers.append(str(ipaddress.ip_address(words[1].split("%")[0])))
            except ValueError:
                log.warning("ignoring nameserver %r in %s: not an IP address", words[1], path)
    return list(dict.fromkeys(servers))


def parse_resolvers(text):
    """``--resolvers`` value: comma-separated IP addresses."""
    servers = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            servers.append(str(ipaddress.ip_address(item)))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address") from None
    return list(dict.fromkeys(servers))
