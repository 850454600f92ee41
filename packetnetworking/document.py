"""Is this the metadata document? Decode what a file or a service gave and say what it
is when it is not the document: empty, an HTML page, not JSON, not an object, an
error answer of a metadata service, a document without a network section. Every
message names the input (``metadata file m.json``, ``metadata from http://...``).
"""
import dataclasses
import json

from packetnetworking.errors import MetadataError
from packetnetworking.fields import kind_of
from packetnetworking.metadata import FIX_DOCUMENT, MAX_DOCUMENT_BYTES, parse



def loads(data, where="metadata", hint="check the metadata source", url=False):
    """Decode a metadata document (bytes or str) and validate it.

    ``where`` names the input in every message (``metadata file m.json``,
    ``metadata from http://...``); ``hint`` says what to do when it is not the
    document at all; ``url``: it came from a metadata service.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise MetadataError(f"{where} is {len(data)} bytes, more than the "
                            f"{MAX_DOCUMENT_BYTES} accepted", hint)
    head = data.lstrip(b" \t\r\n")[:512].lower()
    if not head:
        raise MetadataError(f"{where} is empty", hint)
    if head.startswith(b"<") and (b"<html" in head or b"<!doctype html" in head):
        raise MetadataError(f"{where} is an HTML page, not the JSON metadata document", hint)
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise MetadataError(f"{where} is not UTF-8 text ({err.reason} at byte {err.start})",
                            hint) from None
    except (ValueError, RecursionError) as err:  # ValueError: also a 5000-digit number
        at = f" (line {err.lineno} column {err.colno})" if hasattr(err, "lineno") else ""
        reason = getattr(err, "msg", None) or (
            "nested too deeply" if isinstance(err, RecursionError) else "a number is too long")
        raise MetadataError(f"{where} is not valid JSON{at}: {reason}", hint) from None
    if not isinstance(doc, dict):
        raise MetadataError(f"{where} is {kind_of(doc)}, not a JSON object", hint)
    message = service_error(doc)
    if message is not None:
        text = " ".join(message.split())[:200]
        raise MetadataError(f"{where} is an error from the metadata service: {text!r}",
                            "check that this server is registered with the service and that "
                            "--metadata-url is its /metadata endpoint" if url else
                            "fetch the document again once the service knows this server")
    if "network" not in doc:
        raise MetadataError(f"{where} has no network section",
                            "--metadata-url must be the Equinix-compatible /metadata endpoint "
                            "(Hegel's current /metadata serves storage only)" if url else
                            "pass the Equinix-compatible metadata document (Hegel's current "
                            "/metadata serves storage only)")
    try:
        return dataclasses.replace(parse(doc), source=where)
    except MetadataError as err:
        raise MetadataError(f"{where}: {err}", err.hint or FIX_DOCUMENT) from None


def service_error(doc):
    """The message of an error a metadata service answered with, or None.

    Hegel answers ``{"error": "..."}`` or ``{"error": {"error": ..., "comment": ...}}``;
    Equinix-style services ``{"errors": ["..."]}``. A document with a network
    section is never an error.
    """
    if not isinstance(doc, dict) or "network" in doc:
        return None
    for key in ("error", "errors"):
        value = doc.get(key)
        if isinstance(value, dict):
            value = [value.get(k) for k in ("error", "message", "comment")]
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value if v not in (None, ""))
        if value not in (None, ""):
            return str(value)
    return None
