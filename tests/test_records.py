"""Records (packetnetworking.records): what the model classes get from the base that
replaced dataclasses, tested through the real classes and a small record of our own."""
import ipaddress

import pytest

from helpers import make_metadata
from packetnetworking import metadata
from packetnetworking.builder import Rendered, Task
from packetnetworking.model import Bond, Interface, NetworkModel, OperatingSystem, PrivateRoute
from packetnetworking.nics import NIC
from packetnetworking.records import FrozenRecord, FrozenRecordError, Record
from packetnetworking.writer import Change


class Point(FrozenRecord):
    _not_in_repr = ("note",)
    _not_compared = ("note",)

    def __init__(self, x, y=0, note=""):
        self.__dict__.update(x=x, y=y, note=note)


class Box(Record):
    def __init__(self, label, items=None):
        self.label = label
        self.items = [] if items is None else items


def address(ip="192.0.2.5/31", gateway="192.0.2.4", public=True):
    return metadata.Address(ipaddress.ip_interface(ip), ipaddress.ip_address(gateway), public,
                            True, True)


def model(**changes):
    values = dict(hostname="node-01", plan="c3.small.x86", os=OperatingSystem("centos", "7"),
                  link_aggregation="bonded", bonding_mode=4, bond_mac=None, interfaces=[],
                  addresses=[], private_subnets=[], resolvers=[])
    values.update(changes)
    return NetworkModel(**values)


# --- fields ----------------------------------------------------------------------------
def test_fields_are_the_init_parameters_in_order():
    assert Point._fields == ("x", "y", "note")
    assert NIC._fields == ("name", "mac", "driver", "logical_name", "businfo")
    assert Task._fields == ("template", "mode", "append", "content", "delete", "context")
    assert NetworkModel._fields[-1] == "nics"


def test_an_opt_out_must_name_a_field():
    with pytest.raises(TypeError, match="colour"):
        class Bad(FrozenRecord):
            _not_compared = ("colour",)

            def __init__(self, x):
                self.__dict__.update(x=x)


# --- equality ----------------------------------------------------------------------------
def test_equal_when_every_compared_field_is_equal():
    assert address() == address()
    assert address() != address(public=False)
    assert address() != address("192.0.2.7/31", "192.0.2.6")
    assert Interface("eth0", "eth0", "aa:bb:cc:dd:ee:ff", None) == \
        Interface("eth0", "eth0", "aa:bb:cc:dd:ee:ff", None)
    assert Interface("eth0", "eth0", "aa:bb:cc:dd:ee:ff", None) != \
        Interface("eth0", "eth0", "aa:bb:cc:dd:ee:ff", "bond0")
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)


def test_records_of_another_class_are_never_equal():
    class OtherPoint(Point):
        pass

    assert Point(1, 2) != OtherPoint(1, 2)
    assert Point(1, 2).__eq__(OtherPoint(1, 2)) is NotImplemented
    assert Point(1, 2).__eq__((1, 2, "")) is NotImplemented
    assert Point(1, 2) != (1, 2, "")
    assert Rendered("write") != Task()


# --- hashing -----------------------------------------------------------------------------
def test_equal_frozen_records_hash_equal_and_work_in_sets_and_as_keys():
    assert hash(address()) == hash(address())
    assert len({address(), address(), address(public=False)}) == 2
    routes = {PrivateRoute("10.0.0.0/8", 8, "10.0.0.0", "255.0.0.0", "10.1.1.1"): "private"}
    assert routes[PrivateRoute("10.0.0.0/8", 8, "10.0.0.0", "255.0.0.0", "10.1.1.1")] == "private"
    assert {NIC("eth0", "aa:bb:cc:dd:ee:ff"), NIC("eth0", "aa:bb:cc:dd:ee:ff")} == {
        NIC("eth0", "aa:bb:cc:dd:ee:ff")}
    assert hash(Point(1, 2)) == hash(Point(1, 2))


@pytest.mark.parametrize("record", [
    Interface("eth0", "eth0", "aa:bb:cc:dd:ee:ff", None),
    Bond("bond0", 4, "aa:bb:cc:dd:ee:ff", []),
    model(),
    Change("etc/hosts", "write"),
    Box("a"),
], ids=lambda r: type(r).__name__)
def test_mutable_records_are_unhashable(record):
    with pytest.raises(TypeError, match="unhashable"):
        hash(record)
    with pytest.raises(TypeError):
        {record}


# --- immutability ------------------------------------------------------------------------
@pytest.mark.parametrize("record", [
    address(), NIC("eth0", "aa:bb:cc:dd:ee:ff"), Task("x.j2"), OperatingSystem("centos", "7"),
    Point(1),
], ids=lambda r: type(r).__name__)
def test_frozen_records_refuse_assignment_and_deletion(record):
    name = record._fields[0]
    before = getattr(record, name)
    with pytest.raises(FrozenRecordError, match=f"cannot assign to '{name}'.*frozen"):
        setattr(record, name, "changed")
    with pytest.raises(AttributeError, match=f"cannot delete '{name}'"):
        delattr(record, name)
    with pytest.raises(FrozenRecordError):
        record.not_a_field = 1
    assert getattr(record, name) == before
    assert issubclass(FrozenRecordError, AttributeError)


def test_mutable_records_can_be_edited_by_hooks():
    iface = Interface("enp1s0f0", "eth0", "aa:bb:cc:dd:ee:ff", "bond0")
    iface.name = "lan0"
    assert iface.name == "lan0"
    net = model(interfaces=[iface])
    net.hostname = "renamed"
    assert net.hostname == "renamed" and net.interfaces[0].name == "lan0"


# --- repr --------------------------------------------------------------------------------
def test_repr_is_like_a_dataclass():
    assert repr(Point(1, "x")) == "Point(x=1, y='x')"
    assert repr(OperatingSystem("centos", "7", "CentOS", "7")) == (
        "OperatingSystem(distro='centos', version='7', orig_distro='CentOS', orig_version='7')")
    assert repr(Interface("eth0", "eth0", "aa:bb:cc:dd:ee:ff", None)) == (
        "Interface(name='eth0', meta_name='eth0', mac='aa:bb:cc:dd:ee:ff', bond=None, "
        "dhcp=False, driver='', logical_name='')")
    assert repr(Box("a")) == "Box(label='a', items=[])"
    assert repr(Task("x.j2", context={"k": 1})).endswith("delete=False, context={'k': 1})")


def test_metadata_raw_is_neither_shown_nor_compared():
    doc = make_metadata()
    meta = metadata.parse(doc)
    assert meta.raw is doc
    assert "raw" not in repr(meta)
    assert repr(meta).startswith("Metadata(hostname='node-01.example.net', plan=")
    other = meta.replace(raw={"something": "else"})
    assert other.raw == {"something": "else"}
    assert other == meta and hash(other) == hash(meta)
    assert meta.replace(plan="other") != meta


def test_metadata_raw_defaults_to_a_fresh_dict():
    meta = metadata.parse(make_metadata())
    fields = {name: getattr(meta, name) for name in meta._fields if name != "raw"}
    first, second = metadata.Metadata(**fields), metadata.Metadata(**fields)
    assert first.raw == {} and first.raw is not second.raw


# --- Task.context ------------------------------------------------------------------------
def test_task_context_is_ignored_by_eq_and_hash():
    with_context = Task("x.j2", context={"colour": "blue"})
    assert with_context == Task("x.j2") == Task("x.j2", context={"colour": "red"})
    assert hash(with_context) == hash(Task("x.j2"))  # a dict in the context is not hashed
    assert Task("x.j2") != Task("y.j2")
    assert Task("x.j2", mode=0o600) != Task("x.j2")


# --- replace -----------------------------------------------------------------------------
def test_replace_returns_a_changed_copy_and_leaves_the_original():
    task = Task("x.j2", mode=0o600, context={"k": 1})
    moved = task.replace(template="pkg:x.j2")
    assert moved.template == "pkg:x.j2" and type(moved) is Task
    assert (moved.mode, moved.context) == (0o600, {"k": 1})
    assert task.template == "x.j2"
    assert task.replace() == task and task.replace() is not task

    iface = Interface("eth0", "eth0", "aa:bb:cc:dd:ee:ff", None)
    renamed = iface.replace(name="lan0")
    assert (renamed.name, iface.name) == ("lan0", "eth0")
    moved_point = Point(1, 2, "n").replace(y=3)
    assert moved_point == Point(1, 3) and moved_point.note == "n"


def test_replace_refuses_unknown_fields():
    with pytest.raises(TypeError, match="Task has no field colour"):
        Task("x.j2").replace(colour="blue")
    with pytest.raises(TypeError, match="no field family"):
        address().replace(family=6)   # a property, not a field
    with pytest.raises(TypeError):
        Box("a").replace(label="b", size=2)


def test_replace_goes_through_init():
    nic = NIC("enp1s0f0", "aa:bb:cc:dd:ee:ff")
    assert nic.logical_name == "enp1s0f0"
    renamed = nic.replace(name="lan0")  # as dataclasses.replace: logical_name is kept
    assert (renamed.name, renamed.logical_name) == ("lan0", "enp1s0f0")
    unnamed = NIC("a", "aa:bb:cc:dd:ee:ff").replace(logical_name="")
    assert unnamed.logical_name == "a"  # the default applies again


# --- defaults ------------------------------------------------------------------------------
def test_default_lists_are_fresh_per_instance():
    first, second = model(), model()
    assert first.nics == [] and first.nics is not second.nics
    first.nics.append("nic")
    assert second.nics == []
    assert Box("a").items is not Box("a").items
    assert Change("a", "write").missing_dirs is not Change("a", "write").missing_dirs


def test_nic_logical_name_defaults_to_its_name():
    assert NIC("enp1s0f0", "aa:bb:cc:dd:ee:ff").logical_name == "enp1s0f0"
    assert NIC("enp1s0f0", "aa:bb:cc:dd:ee:ff", logical_name="eth0").logical_name == "eth0"
    assert NIC("enp1s0f0", "aa:bb:cc:dd:ee:ff", "ixgbe", "", "pci@0000:01:00.0") == NIC(
        name="enp1s0f0", mac="aa:bb:cc:dd:ee:ff", driver="ixgbe", logical_name="enp1s0f0",
        businfo="pci@0000:01:00.0")


def test_positional_arguments_keep_the_dataclass_order():
    os_info = OperatingSystem("centos", "7", "CentOS", "7")
    assert (os_info.orig_distro, os_info.orig_version) == ("CentOS", "7")
    assert Task("x.j2", 0o600, True).append is True
    assert Rendered("write", "text", 0o600).mode == 0o600
    assert Bond("bond0", 4, "aa:bb:cc:dd:ee:ff", []).mode_name == "802.3ad"
