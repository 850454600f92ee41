"""Where the inputs come from: the metadata file or URL, and the host's resolvers.

The URL fetch is bounded: each attempt has a connect timeout, a read timeout
and a deadline for the whole attempt (connect, headers and body: a server that
trickles headers or body, or stalls, is cut off by a timer signal, not only
between chunks), and retries back off exponentially with jitter, capped
(``Retry-After`` is honoured up to the same cap). The worst case, documented in
the README, is ``n x ATTEMPT_DEADLINE + (n - 1) x BACKOFF_CAP`` for ``-n n``
attempts (plus the system resolver's own timeout when a host name does not
resolve: a DNS lookup cannot be interrupted).
"""
import contextlib
import ipaddress
import json
import logging
import os
import random
import signal
import sys
import threading
import time

from packetnetworking import document, metadata
from packetnetworking.errors import MetadataError, MetadataUnreachable, NoMetadataSource

log = logging.getLogger(__name__)

DEFAULT_URL = "http://metadata.packet.net/metadata"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
ATTEMPT_DEADLINE = 20.0       # whole attempt: connect, headers, last byte of the body
BACKOFF_FIRST = 1.0
BACKOFF_CAP = 30.0
#: Retried: a service can answer 404 until the hardware is registered, 408/429 ask
#: to come back, every 5xx (501 included) may pass. Any other status fails at once
#: (400, 401, 403: asking again changes nothing).
RETRY_STATUSES = frozenset({404, 408, 429}) | frozenset(range(500, 600))
#: How much of an error answer is read to quote the service's message.
ERROR_BODY_BYTES = 64 * 1024


#: What to do when a file or a URL does not hold the metadata document at all.
FILE_HINT = "pass the JSON document the metadata service serves at /metadata"
URL_HINT = "check --metadata-url: it must be the Equinix-compatible /metadata endpoint"


def load(path=None, url=None, max_attempts=10, stdin=None, url_given=True):
    """Return the validated ``Metadata`` from a file (preferred) or the URL.

    ``url_given``: the URL was passed (option or environment), not the default."""
    if path is not None:
        if url and url_given:
            log.debug("both a metadata file and a URL were given: using the file %s", path)
        where = "metadata from stdin" if path == "-" else f"metadata file {path}"
        return document.loads(read_file(path, stdin), where, FILE_HINT)
    if url:
        log.info("fetching the metadata from %s%s", url, "" if url_given else " (the default)")
        return document.loads(fetch(url, max_attempts), f"metadata from {url}", URL_HINT,
                              url=True)
    raise NoMetadataSource("no metadata source")


def read_file(path, stdin=None):
    try:
        return read_limited(path, metadata.MAX_DOCUMENT_BYTES + 1, stdin)
    except OSError as err:
        raise MetadataError(f"cannot read metadata file {path}: {err.strerror}",
                            "check the -M path") from None


def read_limited(path, limit, stdin=None):
    """At most ``limit`` bytes of ``path`` (``-``: stdin), so /dev/zero ends. Opening
    never waits: a FIFO nobody writes to reads as empty instead of hanging the run."""
    if path == "-":
        return (stdin or sys.stdin.buffer).read(limit)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.set_blocking(fd, True)  # a pipe with a writer (-M <(...)) is then read normally
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        return f.read(limit)


#: Indirection so tests can record the waits instead of sleeping.
_sleep = time.sleep


def backoff_delay(attempt, rng=random):
    """Seconds to wait after failed attempt number ``attempt`` (1-based): ~1, 2, 4 ... <= 30."""
    base = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempt - 1))
    return base * rng.uniform(0.75, 1.0)


def fetch(url, max_attempts=10, sleep=None):
    """GET ``url`` with bounded retries; returns the body's bytes.

    Retried: connection errors, timeouts, stalls, truncated bodies, HTTP 404, 408,
    429 and 5xx. Not retried (exit 40 at once): an invalid URL, a redirect loop, any
    other HTTP status, a body larger than ``metadata.MAX_DOCUMENT_BYTES``. An error
    answer's message (``{"error": ...}``) is quoted.
    """
    import requests  # only a run that fetches needs it

    sleep = sleep or _sleep
    if max_attempts < 1:
        raise MetadataUnreachable(f"--max-attempts must be at least 1, got {max_attempts}")
    last = "no attempt made"
    for attempt in range(1, max_attempts + 1):
        retry_after = None
        try:
            body, status, retry_after = _attempt(requests, url)
            if status == 200:
                if attempt > 1:
                    log.info("metadata fetched at attempt %d/%d", attempt, max_attempts)
                return body
            said = _said(body)
            if status not in RETRY_STATUSES:
                raise MetadataUnreachable(
                    f"metadata service answered HTTP {status} for {url}{said}")
            last = f"HTTP {status}{said}"
        except requests.exceptions.TooManyRedirects:
            raise MetadataUnreachable(f"metadata URL {url} redirects too many times") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, requests.exceptions.URLRequired) as err:
            raise MetadataUnreachable(f"metadata URL {url!r} is not a valid URL ({err})") from None
        except (requests.exceptions.RequestException, _Stalled, _DeadlineExceeded) as err:
            last = _reason(err)  # connection refused/reset, timeouts, truncation, bad headers
        except (ValueError, UnicodeError) as err:  # e.g. a malformed redirect Location
            last = _reason(err)
        if attempt == max_attempts:
            break
        delay = backoff_delay(attempt)
        if retry_after is not None:
            delay = min(BACKOFF_CAP, max(delay, retry_after))
        # WARNING with the reason. At the default verbosity the CLI holds warnings until
        # the run ends (shown on success, dropped on failure, whose one line names the
        # last reason); -v shows each retry as it happens.
        log.warning("metadata attempt %d/%d failed (%s); retrying in %.1fs",
                    attempt, max_attempts, last, delay)
        sleep(delay)
    raise MetadataUnreachable(f"metadata service unreachable after {max_attempts} "
                              f"attempt{'s' if max_attempts != 1 else ''}: {last}")


def _said(body):
    """``: 'message'`` when an error answer carries a service's message, else ''."""
    try:
        message = document.service_error(json.loads(body.decode("utf-8", "replace")))
    except (ValueError, RecursionError):
        return ""
    if not message:
        return ""
    text = " ".join(message.split())
    return f": {text[:200]!r}"


class _Stalled(Exception):
    pass


class _DeadlineExceeded(BaseException):
    """Raised by the attempt timer. A BaseException, like KeyboardInterrupt, so no
    ``except Exception`` inside requests or urllib3 swallows it; they clean up and
    re-raise."""


@contextlib.contextmanager
def _deadline(seconds):
    """Interrupt the attempt (connect, headers or body, wherever it blocks) after
    ``seconds``. Uses SIGALRM, so only in the main thread; elsewhere the body loop's
    own check between chunks is the bound."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"):
        yield
        return
    armed = [True]

    def expired(signum, frame):
        if armed[0]:
            raise _DeadlineExceeded(f"no complete response within {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


def _attempt(requests, url):
    """One attempt with its own session (nothing half-read is reused) and deadline."""
    with requests.Session() as session:
        session.max_redirects = 5
        session.trust_env = True
        with _deadline(ATTEMPT_DEADLINE):
            return _get(session, requests, url)


def _get(session, requests, url):
    """One attempt: (body, status, Retry-After seconds or None)."""
    started = time.monotonic()
    with session.get(url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), stream=True,
                     headers={"Accept": "application/json",
                              "Accept-Encoding": "identity"}) as response:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if response.status_code != 200:
            return _error_body(response), response.status_code, retry_after
        announced = response.headers.get("Content-Length", "").strip()
        if announced.isdigit() and (len(announced) > 12
                                    or int(announced) > metadata.MAX_DOCUMENT_BYTES):
            raise MetadataError(f"metadata from {url} announces {announced[:20]} bytes, more "
                                f"than the {metadata.MAX_DOCUMENT_BYTES} accepted", URL_HINT)
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > metadata.MAX_DOCUMENT_BYTES:
                raise MetadataError(f"metadata from {url} is larger than "
                                    f"{metadata.MAX_DOCUMENT_BYTES} bytes", URL_HINT)
            if time.monotonic() - started > ATTEMPT_DEADLINE:
                raise _Stalled(f"response not complete after {ATTEMPT_DEADLINE:g}s")
        expected = response.headers.get("Content-Length")
        if expected and expected.isdigit() and int(expected) != size:
            raise _Stalled(f"truncated body: {size} of {expected} bytes")
        return b"".join(chunks), 200, retry_after


def _error_body(response):
    """The first ``ERROR_BODY_BYTES`` of an error answer (b'' when it cannot be read)."""
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(16 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size >= ERROR_BODY_BYTES:
                break
    except Exception:  # noqa: BLE001  (the status is the answer; its body is a bonus)
        return b""
    return b"".join(chunks)[:ERROR_BODY_BYTES]


def _retry_after(value):
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP date), capped; else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value[:6]), BACKOFF_CAP))
    try:
        import email.utils  # an HTTP date in Retry-After: rare, and a costly import

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, min(when.timestamp() - time.time(), BACKOFF_CAP))


def _reason(err):
    text = str(err)
    for marker in ("Read timed out", "Connection refused", "Connection reset", "timed out",
                   "Name or service not known", "IncompleteRead", "RemoteDisconnected",
                   "BadStatusLine"):
        if marker in text:
            return marker.lower()
    return " ".join(text.split())[:120] if text.strip() else type(err).__name__


#: The host's resolver files; module constants so tests can point them elsewhere.
HOST_RESOLV_CONF = "/etc/resolv.conf"
#: What systemd-resolved forwards to when the host's resolv.conf is its stub.
RESOLVED_UPSTREAM_CONF = "/run/systemd/resolve/resolv.conf"
#: The address of systemd-resolved's stub listener.
RESOLVED_STUB = "127.0.0.53"


def host_resolvers(path=None, upstream_path=None):
    """The nameservers of the host's resolv.conf that the installed server can use.

    A loopback server (127.0.0.0/8, ::1: systemd-resolved's stub, docker's
    127.0.0.11, a local dnsmasq) answers on this host only, never on the server:
    it is not returned. When the file is systemd-resolved's stub, the servers it
    forwards to (``upstream_path``) are used instead; other loopback entries are
    left out with a WARNING, and a WARNING says when none is left.
    """
    path = path or HOST_RESOLV_CONF
    servers = _nameserver_lines(path)
    loopback = [s for s in servers if ipaddress.ip_address(s).is_loopback]
    if not loopback:
        return servers
    kept = [s for s in servers if s not in loopback]
    if RESOLVED_STUB in loopback:
        upstream_path = upstream_path or RESOLVED_UPSTREAM_CONF
        upstream = [s for s in _nameserver_lines(upstream_path)
                    if not ipaddress.ip_address(s).is_loopback]
        if upstream:
            log.info("%s points at systemd-resolved's stub (%s): using the servers it "
                     "forwards to, from %s", path, RESOLVED_STUB, upstream_path)
            return list(dict.fromkeys(upstream + kept))
    log.warning("%s lists the loopback nameserver%s %s, which the installed server cannot "
                "reach: left out%s", path, "s" if len(loopback) > 1 else "", ", ".join(loopback),
                "" if kept else "; no nameserver is left (pass --resolvers)")
    return kept


def _nameserver_lines(path):
    """``nameserver`` lines (IPv4 and IPv6) of a resolv.conf, valid ones only, once each."""
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
                servers.append(nameserver(words[1].split("%")[0]))  # a scope stays on this host
            except ValueError:
                log.info("ignoring nameserver %r in %s: not an IP address", words[1], path)
    return list(dict.fromkeys(servers))


def nameserver(text):
    """A nameserver as every stack can write it: a plain IP. ``ipaddress`` accepts any
    text after ``%`` (newlines included) and prints it back, so a scope is refused."""
    ip = ipaddress.ip_address(text)
    if getattr(ip, "scope_id", None) is not None:
        raise ValueError(f"{text!r} has a scope (%...)")
    return str(ip)


def parse_resolvers(text):
    """``--resolvers`` value: comma-separated IP addresses."""
    servers = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            servers.append(nameserver(item))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address") from None
    return list(dict.fromkeys(servers))
