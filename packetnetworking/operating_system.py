"""Which operating system the files are written for.

From ``-o`` (what OSIE's ``detect_os`` prints), the target root's os-release, or
the metadata's ``operating_system``, in that order (see ``parse_os``). Names and
codenames are those of packetnetworking.releases.
"""
import logging
import re
from dataclasses import dataclass, replace
from typing import Optional, Tuple

from packetnetworking.errors import UnsupportedOS
from packetnetworking.releases import canonical_name, codename_version, find_distro

log = logging.getLogger(__name__)

_DOTTED_NUMBERS = re.compile(r"\d+(?:\.\d+)*")


@dataclass(frozen=True)
class OperatingSystem:
    """The target OS: ``distro`` (the tool's name for it) and ``version`` lower-cased
    (a codename replaced by its number), the originals kept."""

    distro: str
    version: str
    orig_distro: str = ""
    orig_version: str = ""

    @property
    def version_tuple(self) -> Tuple[int, ...]:
        """``'9.3'`` -> (9, 3), ``'22.04'`` -> (22, 4), ``'stream-9'`` -> (9,); () if none."""
        return _leading_numbers(self.version)

    @property
    def major(self) -> Optional[int]:
        parts = self.version_tuple
        return parts[0] if parts else None

    def __str__(self):
        return f"{self.distro} {self.version}".strip()


#: What ``-o`` says for a part lsb_release could not tell.
NOT_AVAILABLE = "n/a"
#: Where the installed system describes itself, relative to the target root.
OS_RELEASE_FILES = ("etc/os-release", "usr/lib/os-release")


def parse_os(option, metadata, target=None):
    """The target's OS, from the first source that names it.

    1. ``-o 'DISTRO VERSION'`` (OSIE passes ``lsb_release -si`` without spaces and
       ``-sr``: ``RedHatEnterpriseServer 7.9``, ``Debian trixie/sid``).
    2. ``-o DISTRO`` or ``-o 'DISTRO n/a'``: that distro; the version from the
       metadata when it names the same distro, else from the target's os-release
       when that does, else none (the family's newest rule, with a WARNING).
    3. The target root's os-release (``target``: a TargetRoot, or None), when
       ``-o`` is absent or ``n/a``; when the metadata names another OS, WARNING.
    4. The metadata's ``operating_system``.
    """
    distro, version = _split_option(option)
    meta_os = _make_os(metadata.distro, metadata.version or "") if metadata.distro else None
    if distro and version:
        return _make_os(distro, version)
    installed = installed_os(target) if target is not None else None
    if distro:
        chosen = _make_os(distro, "")
        for other, where in ((meta_os, "the metadata"), (installed, "the target's os-release")):
            if other is not None and other.distro == chosen.distro and other.version:
                log.info("-o %r names no version: %s %s, the version from %s",
                         option, chosen.distro, other.version, where)
                return replace(chosen, version=other.version, orig_version=other.orig_version)
        log.info("-o %r names no version, and neither the metadata nor the target's "
                 "os-release gives one for %s", option, chosen.distro)
        return chosen
    if installed is not None:
        if meta_os is not None and _disagree(installed, meta_os):
            log.warning("the target root has %s installed but the metadata says %s: "
                        "writing for %s", installed, meta_os, installed)
        if not installed.version and meta_os is not None and meta_os.distro == installed.distro:
            return replace(installed, version=meta_os.version, orig_version=meta_os.orig_version)
        return installed
    if meta_os is not None:
        return meta_os
    raise UnsupportedOS("no operating system: no -o, no etc/os-release in the target root "
                        "and no operating_system.distro in the metadata",
                        "pass -o 'DISTRO VERSION', e.g. -o 'ubuntu 24.04'")


def _split_option(option):
    """``(distro, version)`` of ``-o``; each None when absent or ``n/a``."""
    words = (option or "").split()
    if len(words) > 2:
        raise UnsupportedOS(f"-o {option!r} has more than two words",
                            "pass -o 'DISTRO VERSION', e.g. -o 'centos 7'")
    words = [None if w.lower() == NOT_AVAILABLE else w for w in words] + [None, None]
    return words[0], words[1]


def _make_os(distro, version):
    version = version.strip()
    return OperatingSystem(distro=canonical_name(distro),
                           version=codename_version(distro, version).lower(),
                           orig_distro=distro, orig_version=version)


def _disagree(one, other):
    """Different distros, or versions whose leading numbers differ."""
    if one.distro != other.distro:
        return True
    common = min(len(one.version_tuple), len(other.version_tuple))
    return one.version_tuple[:common] != other.version_tuple[:common]


def read_os_release(text):
    """``{KEY: value}`` of an os-release file (quotes and backslash escapes removed)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#") or not key.isidentifier():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = re.sub(r"\\(.)", r"\1", value)
    return values


def installed_os(target):
    """The OS the target root says it has (its os-release), or None.

    ``ID`` names the distro; an ID the tool does not know is looked up in
    ``ID_LIKE`` (with a WARNING). The version is ``VERSION_ID``, else the
    ``VERSION_CODENAME`` (Debian testing has only the codename).
    """
    for path in OS_RELEASE_FILES:
        text = target.read(path)
        if text is not None:
            break
    else:
        return None
    fields = read_os_release(text)
    distro = fields.get("ID", "").strip()
    version = fields.get("VERSION_ID", "").strip() or fields.get("VERSION_CODENAME", "").strip()
    if not distro:
        log.warning("%s has no ID: the target root does not say which OS it is", path)
        return None
    if find_distro(distro) is None:
        like = next((w for w in fields.get("ID_LIKE", "").split() if find_distro(w)), None)
        if like is None:
            log.info("%s: ID=%s is not a distro this tool knows", path, distro)
            return _make_os(distro, version)
        log.warning("%s: ID=%s is not a distro this tool knows; writing for %s, "
                    "named in its ID_LIKE", path, distro, canonical_name(like))
        distro = like
    found = _make_os(distro, version)
    log.info("%s says %s", path, found)
    return found


def _leading_numbers(text):
    """The first dotted run of decimal numbers in ``text``: ``'stream-9.3'`` -> (9, 3)."""
    match = _DOTTED_NUMBERS.search(text)
    return tuple(int(part) for part in match.group().split(".")) if match else ()
