"""Distro names and release rules, one table and one matcher for every family.

``DISTROS`` is the one list of supported distros: each distro's name, the family
that writes its files, the other names it goes by and its release codenames.
The other names are what real callers pass: OSIE's ``detect_os`` gives
``lsb_release -si`` with the spaces removed (``RedHatEnterpriseServer``,
``CentOSStream``, ``openSUSEproject``, ``SUSELINUX``), os-release has its ``ID``
(``opensuse-leap``, ``sles``), the metadata its ``operating_system.distro``.
The families' ``distros`` lists, the family table of ``packetnetworking.distros``,
the exit-20 message and ``--list-distros`` all come from it.

``Release`` is what differs between versions of a distro; each family keeps its
table of them (``{distro: (Release, ...)}``) and ``match_release`` picks the rule
for a version, the same way and with the same warning for every family.

A leaf module: the model, the families and the CLI import it; it imports nothing
of the package.
"""
import logging
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Distro:
    """A supported distro: ``name`` (what the tool calls it), its ``family``, the
    other names it is known by and ``{codename: version}``."""

    name: str
    family: str
    aliases: Tuple[str, ...] = ()
    codenames: Tuple[Tuple[str, str], ...] = ()


_UBUNTU_CODENAMES = (
    ("trusty", "14.04"), ("xenial", "16.04"), ("artful", "17.10"), ("bionic", "18.04"),
    ("cosmic", "18.10"), ("disco", "19.04"), ("eoan", "19.10"), ("focal", "20.04"),
    ("groovy", "20.10"), ("hirsute", "21.04"), ("impish", "21.10"), ("jammy", "22.04"),
    ("kinetic", "22.10"), ("lunar", "23.04"), ("mantic", "23.10"), ("noble", "24.04"),
    ("oracular", "24.10"), ("plucky", "25.04"), ("questing", "25.10"),
)
_DEBIAN_CODENAMES = (
    ("wheezy", "7"), ("jessie", "8"), ("stretch", "9"), ("buster", "10"), ("bullseye", "11"),
    ("bookworm", "12"), ("trixie", "13"), ("forky", "14"), ("duke", "15"),
)

#: Every built-in distro, by name. Names are compared lower-cased.
DISTROS = (
    Distro("alpine", "alpine"),
    Distro("almalinux", "redhat", ("alma",)),
    Distro("centos", "redhat", ("centosstream", "centos-stream")),
    Distro("debian", "debian", codenames=_DEBIAN_CODENAMES),
    Distro("fedora", "redhat"),
    Distro("flatcar", "flatcar", ("flatcar-linux", "flatcarlinux")),
    Distro("opensuse", "suse", ("opensuseproject", "opensuse-leap", "open-suse",
                                "opensuse-tumbleweed")),
    Distro("rhel", "redhat", ("redhat", "redhatenterprise", "redhatenterpriseserver",
                              "redhatenterpriseworkstation")),
    Distro("rocky", "redhat", ("rockylinux",)),
    Distro("scientific", "redhat", ("scientificcernslc", "scientificfermi")),
    Distro("sles", "suse", ("suse", "suselinux", "sles_sap")),
    Distro("ubuntu", "debian", codenames=_UBUNTU_CODENAMES),
)

_BY_NAME: Dict[str, Distro] = {}
for _distro in DISTROS:
    for _name in (_distro.name,) + _distro.aliases:
        _BY_NAME[_name] = _distro
del _distro, _name


def find_distro(name) -> Optional[Distro]:
    """The built-in distro ``name`` (any of its names, any case) stands for, or None."""
    return _BY_NAME.get((name or "").strip().lower())


def canonical_name(name):
    """``name`` lower-cased, as the tool calls that distro (``'CentOSStream'`` ->
    ``'centos'``); a name the table does not know is returned lower-cased."""
    found = find_distro(name)
    return found.name if found else (name or "").strip().lower()


def names(*distros):
    """Every name of the given distros (theirs first, then the other names): the
    ``distros`` list of a built-in DistroBuilder."""
    result = []
    for name in distros:
        distro = _BY_NAME[name]
        result += [distro.name, *distro.aliases]
    return result


def families():
    """``{family: [every name it serves]}`` in table order."""
    table = {}
    for distro in DISTROS:
        table.setdefault(distro.family, []).extend((distro.name,) + distro.aliases)
    return table


def codename_version(distro, version):
    """The version a codename stands for (``ubuntu jammy`` -> ``22.04``; Debian's
    ``trixie/sid`` -> ``13``), else ``version`` unchanged."""
    found = find_distro(distro)
    if not found or not version:
        return version
    word = version.strip().lower().split("/")[0]
    return dict(found.codenames).get(word, version)


def list_lines():
    """The supported distros as ``--list-distros`` prints them: one line each,
    ``name  family  other names``, in columns."""
    rows = [("DISTRO", "FAMILY", "ALSO ACCEPTED AS")]
    rows += [(d.name, d.family, ", ".join(d.aliases)) for d in DISTROS]
    width = max(len(row[0]) for row in rows) + 2
    fam_width = max(len(row[1]) for row in rows) + 2
    return [f"{name:<{width}}{family:<{fam_width}}{aliases}".rstrip()
            for name, family, aliases in rows]


def summary():
    """One line naming every supported distro with its other names in brackets."""
    return ", ".join(f"{d.name} ({', '.join(d.aliases)})" if d.aliases else d.name
                     for d in DISTROS)


@dataclass(frozen=True)
class Release:
    """What the tool does differently for the releases whose version starts with
    ``version`` (``(22, 4)``: Ubuntu 22.04, 22.04.3; ``(9,)``: 9, 9.3; ``()``: any).

    One type for every family; each family reads its own fields:

    - Debian, Ubuntu: ``bond_first`` writes the bond stanza before its
      members in ``/etc/network/interfaces`` (production's Debian 10 fix);
      ``resolved``: the nameservers go to ``etc/systemd/resolved.conf`` because
      ``etc/resolv.conf`` is systemd-resolved's stub.
    - RedHat: ``networkmanager``, what happens to NetworkManager when the ifcfg
      stack is written (``remove``, ``remove-if-legacy`` or ``keep``);
      ``link_files``: NIC names are also pinned by systemd ``.link`` files.
    - SUSE, Alpine: the version alone (SUSE's stack is chosen from it).
    """

    version: Tuple[int, ...]
    bond_first: bool = False
    resolved: bool = False
    networkmanager: str = "keep"
    link_files: bool = False

    @property
    def name(self):
        """``(16, 4)`` -> ``'16.04'``, ``(9,)`` -> ``'9'``, ``()`` -> ``'any'``."""
        if not self.version:
            return "any"
        return ".".join(f"{part:02d}" if i else str(part) for i, part in enumerate(self.version))

    def matches(self, version_tuple):
        return tuple(version_tuple[:len(self.version)]) == self.version


def match_release(releases, os_info):
    """The rule of ``releases`` (one distro's rules, oldest release first) for ``os_info``.

    A version that starts with a rule's numbers gets that rule, silently (the
    longest such rule). Any other version gets a WARNING and the latest rule
    whose version is below it; a version below every rule gets the oldest, one
    with no number (``sid``, ``tumbleweed``, none given) the newest. Release
    order is the table's: openSUSE Leap 42 came before Leap 15.
    """
    version = os_info.version_tuple
    exact = [r for r in releases if r.matches(version)]
    if exact:
        return max(exact, key=lambda r: len(r.version))
    if not version:
        chosen = releases[-1]
    else:
        older = [r for r in releases if r.version < version]
        chosen = older[-1] if older else releases[0]
    log.warning("%s %s: no rule for this version (known: %s); using the rules of %s %s",
                os_info.distro, os_info.version or "(no version)",
                ", ".join(r.name for r in releases), os_info.distro, chosen.name)
    return chosen
