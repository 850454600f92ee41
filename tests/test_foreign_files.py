"""The readers of other stacks' files: netplan's YAML subset, SUSE ifcfg, what they select.

The netplan reader has no YAML library behind it (pyyaml is a test dependency only):
PyYAML writes documents in every style it has, and the reader must read back exactly
what it wrote, or refuse (then a file that may define devices is moved aside in doubt).
"""
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from support.ownership_roots import put
from packetnetworking.renderers.wicked.foreign import SUSE_IFCFG
from packetnetworking.ownership import Devices, step_aside
from packetnetworking.renderers.netplan.yaml_subset import Unreadable, read_yaml
from packetnetworking.target import TargetRoot
from support.stack_cases import MACS, NAMES, build_model, document

# Plain words, netplan-looking values (MACs, globs, CIDRs) and words YAML reads as
# something else unless quoted (PyYAML quotes those).
WORDS = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True),
    st.sampled_from([MACS[0], "en*", "10.0.0.0/8", "2001:db8::1/64", "802.3ad", "yes", "on",
                     "0x1f", "100ms", "~", "null", "true", "a b", "it's", "#x", "- x",
                     "x: y", "[x]", "{x}", "", "*", "&a", "!t", "%p", "@x", "`x"]))
DOCS = st.recursive(
    WORDS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(WORDS.filter(bool), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(doc=st.dictionaries(WORDS.filter(bool), DOCS, min_size=1, max_size=4),
       flow=st.sampled_from([False, True, None]), indent=st.sampled_from([2, 4]))
def test_reads_back_what_pyyaml_writes(doc, flow, indent):
    text = yaml.safe_dump(doc, default_flow_style=flow, indent=indent, width=10 ** 6)
    assert yaml.safe_load(text) == doc  # the document is what it says
    try:
        assert read_yaml(text) == doc, text
    except Unreadable:
        pytest.fail(f"refused a document PyYAML wrote:\n{text}")


@pytest.mark.parametrize("text", [
    "network:\n  ethernets:\n    eth0: &base\n      dhcp4: true\n",
    "network:\n  ethernets:\n    eth0: *base\n",
    "network: !!map\n  version: 2\n",
    "network:\n  ethernets:\n    eth0:\n      dhcp4: |\n        true\n",
    "network:\n\tversion: 2\n",
    "network:\n  ethernets: [eth0,\n",
    "network:\n  ethernets:\n      eth0: {}\n    eth1: {}\n",
])
def test_refuses_what_it_does_not_read(text):
    with pytest.raises(Unreadable):
        read_yaml(text)


def test_comments_quotes_and_multi_line_flow():
    text = (f"# cloud-init\nnetwork:   # the key\n  ethernets:\n    'eth0':\n"
            f"      match: {{macaddress: \"{MACS[0]}\",\n               name: 'en*'}}\n"
            "      nameservers:\n        addresses:\n        - 1.1.1.1  # first\n"
            "        - '8.8.8.8'\n      set-name: \"it's\"\n")
    assert read_yaml(text) == yaml.safe_load(text)


def test_suse_ifcfg_files(tmp_path):
    root = tmp_path / "root"
    net = "etc/sysconfig/network"
    put(root, f"{net}/ifcfg-eth0", "BOOTPROTO='dhcp'\nSTARTMODE='auto'\n")
    put(root, f"{net}/ifcfg-bond3", "BONDING_MASTER='yes'\nBONDING_SLAVE_0='enp1s0f1'\n")
    put(root, f"{net}/ifcfg-eth-id-{MACS[0]}", "BOOTPROTO='dhcp'\n")
    put(root, f"{net}/ifroute-{NAMES[0]}", "default 192.0.2.1 - -\n")
    put(root, f"{net}/ifcfg-eth5", "BOOTPROTO='dhcp'\n")
    put(root, f"{net}/ifcfg-lo", "STARTMODE=nfsroot\n")
    put(root, f"{net}/ifcfg-eth1.bak", "BOOTPROTO='dhcp'\n")
    devices = Devices.of(build_model(document(), 2).network)
    tasks = step_aside([SUSE_IFCFG], "networkmanager", devices, TargetRoot(str(root)))
    assert sorted(tasks) == sorted([f"{net}/ifcfg-eth0", f"{net}/ifcfg-bond3",
                                    f"{net}/ifcfg-eth-id-{MACS[0]}", f"{net}/ifroute-{NAMES[0]}"])
    assert all(t.move_aside for t in tasks.values())
