"""Checks written with string operations give the verdicts of the patterns they replace.

Names, MACs, version numbers, stale temporary files and blank-line runs used to be
matched with regular expressions; compiling those cost about 1.3 ms of every run
(docs/performance.md), so they are plain string code now. Here each one is held
against its old pattern on generated strings made of the characters that matter
(separators, digits, hex letters, other letters, non-ASCII digits and letters,
whitespace, newlines) and on hand-picked edge cases.
"""
import re

from hypothesis import example, given, settings, strategies as st

from packetnetworking import metadata, model, templating, writer

IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
MAC_DOTTED = re.compile(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$")
TEMPORARY = re.compile(r"\..+\.pn-(new|backup)-[0-9]+-[0-9a-f]{8}")
SETTINGS = settings(max_examples=600, deadline=None)


def old_normalize_mac(value):
    text = value.strip().lower()
    if MAC.fullmatch(text) or MAC_DOTTED.fullmatch(text):
        digits = re.sub(r"[^0-9a-f]", "", text)
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    return None


def old_check_ifname(value):
    return (bool(IFNAME.fullmatch(value)) and ".." not in value
            and value not in metadata.RESERVED_IFNAMES)


def old_leading_numbers(text):
    match = re.search(r"\d+(\.\d+)*", text)
    return tuple(int(p) for p in match.group(0).split(".")) if match else ()


def old_natural_key(name):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def old_tidy(text):
    text = re.sub(r"\n{3,}", "\n\n", text.lstrip("\n"))
    return text.rstrip("\n") + "\n" if text.strip() else ""


def _pieces(*pieces):
    """Strings glued from ``pieces`` and single characters that matter."""
    chars = st.sampled_from(list("0123456789abcdefABCDEFxyzXZ:-._ \t\n/é٣İ"))
    return st.lists(st.one_of(chars, st.sampled_from(pieces)), max_size=24).map("".join)


MACS = _pieces("aa:", "0c:", "aa-", "bb", "c4.", "7a", "aabb.", "ccdd", "AA:BB:CC:DD:EE:FF",
               "0c:c4:7a:aa:00:10", "0cc4.7aaa.0010", "0cc47aaa0010")


@SETTINGS
@given(MACS)
@example("0C-C4-7A-AA-00-10")
@example(" 0cc47aaa0010\n")
@example("0c:c4-7a:aa:00:10")
@example("0c:c4:7a:aa:00:1")
@example("0cc4.7aaa.00100")
@example("İ0c:c4:7a:aa:00:10")
def test_mac_normalization_matches_the_pattern(value):
    assert metadata.normalize_mac(value) == old_normalize_mac(value)


@SETTINGS
@given(_pieces("eth0", "bond0", "enp1s0f1", "..", "lo", "all", "default", "bonding_masters",
               "x" * 14))
@example("a" * 15)
@example("a" * 16)
@example("eth0\n")
@example("é")
def test_interface_name_check_matches_the_pattern(value):
    assert metadata.check_ifname(value) == old_check_ifname(value)


@SETTINGS
@given(_pieces("9.3", "22.04", "stream-", "..", "1.", ".2", "٣"))
@example("stream-9")
@example("22.04.3 lts")
@example("1..2")
def test_version_numbers_match_the_pattern(text):
    assert model._leading_numbers(text) == old_leading_numbers(text)


@SETTINGS
@given(_pieces("eth", "10", "9", "bond", "enp1s0f", "٣"))
@example("")
@example("10")
@example("eth10")
def test_natural_sort_key_matches_the_pattern(name):
    assert model._natural_key(name) == old_natural_key(name)


@SETTINGS
@given(_pieces(".hosts", ".ifcfg-bond0", ".pn-new-", ".pn-backup-", "1234", "-", "deadbeef",
               "DEADBEEF", ".pn-"))
@example(".hosts.pn-new-1234-deadbeef")
@example(".hosts.pn-backup-1-0123abcd")
@example("..pn-new-1-deadbeef")
@example(".a.pn-new-1-deadbeef.pn-new-2-deadbeef")
@example(".a\n.pn-new-1-deadbeef")
@example(".a.pn-new--deadbeef")
@example(".a.pn-old-1-deadbeef")
@example(".a.pn-new-٣-deadbeef")
def test_stale_temporary_names_match_the_pattern(name):
    assert writer._is_temporary(name) == bool(TEMPORARY.fullmatch(name))


@SETTINGS
@given(st.lists(st.sampled_from(["\n", "\n\n", "\n\n\n", "a", " ", "x = 1"]), max_size=30)
       .map("".join))
def test_tidy_matches_the_pattern(text):
    assert templating.tidy(text) == old_tidy(text)
