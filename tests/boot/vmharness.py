"""Boot-test harness: prove generated network configuration really works.

A Debian 12 (bookworm) root filesystem is bootstrapped once (and cached), copied
per test case, populated with the network configuration under test, packed into
an ext4 image without loop mounts, and booted under QEMU with one virtio NIC per
MAC address.  A oneshot unit in the guest (``pn-report.service``) waits for the
network to settle, writes ``/root/report.json`` and powers the VM off; the
harness then reads the report back out of the image with ``debugfs``.

This module has no pytest dependency.  Typical use::

    base = build_base_root(cache_dir)
    kernel, initrd = find_kernel(base)
    root = prepare_case(base, workdir)
    ...write /etc/network/interfaces etc. into root...
    enable_stack(root, "eni")
    make_image(root, workdir / "disk.img")
    result = boot(workdir / "disk.img", kernel, initrd, macs, wait_for=["147.75.1.3"])
    result["report"]["addr"]   # output of ``ip -j addr`` in the guest

NIC naming: NIC number ``i`` (0-based, in the order of ``macs``) is attached at
PCI slot ``0x10 + i`` of a q35 machine's bus 0, so systemd/udev predictable
naming calls it ``enp0s<16 + i>`` in the guest: see :func:`guest_nic_name`.

Several cases at once: describe each as a :class:`Case` and call
:func:`run_cases` (``PN_BOOT_PARALLEL`` VMs at a time, default 2).

Host requirements: root privileges (debootstrap, ``cp -a`` preserving owners,
``chroot``), ``qemu-system-x86_64``, ``debootstrap``, ``mke2fs`` and ``debugfs``
(e2fsprogs).  KVM is used when ``/dev/kvm`` works, TCG otherwise (or when
``PN_BOOT_NO_KVM=1``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import fcntl
import functools
import glob
import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

SUITE = "bookworm"
ARCH = "amd64"
VARIANT = "minbase"

# Packages added to the minbase system.  systemd-networkd is part of
# ``systemd``; systemd-resolved is deliberately absent (separate package on
# bookworm).  ``dbus`` and ``libpam-systemd`` must be listed explicitly or
# debootstrap fails on network-manager's virtual dependencies.  ``python3`` is
# needed by the guest report script (netplan.io pulls it in anyway); ``procps``
# because ifupdown runs ``sysctl`` for inet6 stanzas (real servers have it).
PACKAGES = (
    "linux-image-amd64",
    "systemd-sysv",
    "udev",
    "kmod",
    "procps",
    "ifupdown",
    "ifenslave",
    "iproute2",
    "netplan.io",
    "network-manager",
    "dbus",
    "libpam-systemd",
    "python3",
)

# Bump when the customisation of the base tree changes (invalidates the cache).
BASE_RECIPE_VERSION = 2

STACKS = ("eni", "netplan", "networkmanager", "networkd", "ifcfg-rh", "ifupdown-ng")

# Units enabled per stack (unit files that do not exist in the root are an error
# for the first unit, ignored for the others).
STACK_UNITS = {
    # ifupdown-wait-online is not enabled by default on Debian 12: networking
    # (ifup -a, synchronous) is itself ordered before network-online.target.
    "eni": ("networking.service",),
    "netplan": (
        "systemd-networkd.service",
        "systemd-networkd.socket",
        "systemd-networkd-wait-online.service",
    ),
    "networkd": (
        "systemd-networkd.service",
        "systemd-networkd.socket",
        "systemd-networkd-wait-online.service",
    ),
    "networkmanager": (
        "NetworkManager.service",
        "NetworkManager-wait-online.service",
        "NetworkManager-dispatcher.service",
    ),
}
# NetworkManager reading ifcfg files (the "ifcfg-rh" image variant); ifupdown-ng
# (the "ifupdown-ng" variant) brings its own networking.service.
STACK_UNITS["ifcfg-rh"] = STACK_UNITS["networkmanager"]
STACK_UNITS["ifupdown-ng"] = STACK_UNITS["eni"]

# Everything network related is disabled in the base; each case enables only
# the stack it tests.
_UNITS_DISABLED_IN_BASE = sorted(
    {u for units in STACK_UNITS.values() for u in units}
    | {"ifupdown-wait-online.service", "systemd-network-generator.service"}
)

# Units that only slow the boot down (missing ones are ignored).
_UNITS_MASKED_IN_BASE = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "apt-daily.service",
    "apt-daily-upgrade.service",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "logrotate.timer",
    "man-db.timer",
    "systemd-tmpfiles-clean.timer",
    "getty@tty1.service",
    "ModemManager.service",
    "wpa_supplicant.service",
    "systemd-timesyncd.service",
)

REPORT_PATH = "/root/report.json"
REPORT_SETTLE_MAX_S = 60

# --------------------------------------------------------------------------
# Guest side: report script and unit (installed into the base root).
# --------------------------------------------------------------------------

GUEST_REPORT_SCRIPT = r'''#!/usr/bin/python3
# Installed by packet-networking tests/boot/vmharness.py.
# Waits (bounded) for the network to settle, writes /root/report.json.
# The unit powers the machine off afterwards, whether this succeeds or not.
import glob
import json
import lzma
import os
import subprocess
import time
import traceback

REPORT = "/root/report.json"
MAX_WAIT = float(__MAX_WAIT__)
VOLATILE = ("valid_life_time", "preferred_life_time", "expires", "used")


def run(*argv, timeout=20):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return p.stdout
    except Exception as exc:  # noqa: BLE001 - report everything
        return "ERROR running %s: %s" % (" ".join(argv), exc)


def run_json(*argv):
    out = run(*argv)
    try:
        return json.loads(out) if out.strip() else []
    except ValueError:
        return {"unparsed": out}


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def cmdline_values(key):
    values = []
    for word in (read("/proc/cmdline") or "").split():
        if word.startswith(key + "="):
            values.extend(v for v in word[len(key) + 1:].split(",") if v)
    return values


def strip_volatile(obj):
    if isinstance(obj, dict):
        return {k: strip_volatile(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [strip_volatile(v) for v in obj]
    return obj


def snapshot():
    return {
        "addr": run_json("ip", "-j", "addr"),
        "route": run_json("ip", "-j", "route"),
        "route6": run_json("ip", "-j", "-6", "route"),
    }


def addresses(addr):
    if not isinstance(addr, list):
        return
    for link in addr:
        for a in link.get("addr_info", []):
            yield link.get("ifname"), a


def settle(wanted):
    start = time.monotonic()
    previous = None
    while True:
        snap = snapshot()
        present = {a.get("local") for _, a in addresses(snap["addr"])}
        tentative = sorted(
            "%s:%s" % (ifname, a.get("local"))
            for ifname, a in addresses(snap["addr"])
            if a.get("tentative") and not a.get("dadfailed")
        )
        missing = [w for w in wanted if w.split("/")[0] not in present]
        key = json.dumps(strip_volatile(snap), sort_keys=True)
        waited = time.monotonic() - start
        if not tentative and not missing and key == previous:
            return snap, {"settled": True, "waited_s": round(waited, 1),
                          "tentative": [], "missing": []}
        if waited > MAX_WAIT:
            return snap, {"settled": False, "waited_s": round(waited, 1),
                          "tentative": tentative, "missing": missing}
        previous = key
        time.sleep(1)


def main():
    report = {"version": 1, "cmdline": (read("/proc/cmdline") or "").strip()}
    try:
        report["nonce"] = (cmdline_values("pn.nonce") or [None])[0]
        wanted = cmdline_values("pn.wait")
        report["wait_for"] = wanted
        snap, status = settle(wanted)
        report.update(snap)
        report["settle"] = status
        report["link"] = run_json("ip", "-j", "-d", "link")
        report["rule"] = run_json("ip", "-j", "rule")
        report["rule6"] = run_json("ip", "-j", "-6", "rule")
        report["bonding"] = {
            os.path.basename(p): read(p)
            for p in sorted(glob.glob("/proc/net/bonding/*"))
        }
        report["hostname"] = run("hostname").strip()
        report["etc_hostname"] = read("/etc/hostname")
        report["etc_hosts"] = read("/etc/hosts")
        report["resolv_conf"] = read("/etc/resolv.conf")
        for knob in ("accept_ra", "disable_ipv6"):
            report[knob] = {
                os.path.basename(os.path.dirname(p)): (read(p) or "").strip()
                for p in sorted(glob.glob("/proc/sys/net/ipv6/conf/*/" + knob))
            }
        # NetworkManager: which settings plugins it loaded, and where each
        # connection it knows comes from (FILENAME) and where it is active (DEVICE).
        report["nm_connections"] = run(
            "nmcli", "-t", "-f", "NAME,DEVICE,FILENAME", "connection", "show")
        report["nm_plugin_lines"] = [
            line for line in run("journalctl", "-b", "-u", "NetworkManager", "-o", "cat",
                                 "--no-pager").splitlines() if "plugin" in line]
        report["units"] = {
            unit: run("systemctl", "is-active", unit).strip()
            for unit in ("networking.service", "systemd-networkd.service",
                         "NetworkManager.service", "systemd-resolved.service")
        }
        report["failed_units"] = run(
            "systemctl", "--failed", "--plain", "--no-legend", "--no-pager").splitlines()
        report["journal"] = run(
            "journalctl", "-b", "--no-pager", "-o", "short-monotonic", "-n", "1500")
        report["uptime_s"] = float((read("/proc/uptime") or "0").split()[0])
    except Exception:  # noqa: BLE001 - always write what we have
        report["error"] = traceback.format_exc()
    tmp = REPORT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, REPORT)
    os.sync()
    print("pn-report: wrote %s (settle=%s)" % (REPORT, report.get("settle")), flush=True)


main()
'''.replace("__MAX_WAIT__", str(REPORT_SETTLE_MAX_S))

GUEST_REPORT_UNIT = """\
# Installed by packet-networking tests/boot/vmharness.py.
[Unit]
Description=packet-networking boot test report
Wants=network-online.target
# networking.service: ifupdown-ng's unit is not ordered before network-online.target
After=network-online.target network.target networking.service
ConditionKernelCommandLine=!pn.noreport
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/pn-report
TimeoutStartSec=180
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
"""

# Bound the wait-online helpers so that a link that never comes up costs at
# most 30 s instead of 2 min; pn-report polls on its own anyway.
_GUEST_DROPINS = {
    "etc/systemd/system/systemd-networkd-wait-online.service.d/pn-timeout.conf": (
        "[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --timeout=30\n"
    ),
    "etc/systemd/system/NetworkManager-wait-online.service.d/pn-timeout.conf": (
        "[Service]\nEnvironment=NM_ONLINE_TIMEOUT=30\n"
    ),
    "etc/systemd/journald.conf.d/pn-volatile.conf": (
        "[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n"
    ),
    # A small initrd (only what is needed to mount /dev/vda) boots noticeably
    # faster under TCG than Debian's MODULES=most one.
    "etc/initramfs-tools/conf.d/pn-boot.conf": "MODULES=list\n",
    "etc/fstab": "# root is mounted read-write by the kernel (root=/dev/vda rw)\n",
    "etc/hostname": "pn-base\n",
    "etc/hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
}


class HarnessError(Exception):
    """A step of the harness (not the guest) failed."""


class BootError(Exception):
    """The VM did not produce a usable report; message carries console context."""

    def __init__(self, message: str, console_log: Path | None = None):
        super().__init__(message)
        self.console_log = console_log


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def guest_nic_name(index: int) -> str:
    """Name the guest gives NIC number ``index`` (0-based order of ``macs``).

    :func:`boot` attaches NIC ``index`` as ``virtio-net-pci`` at PCI address
    ``00:(0x10 + index).0`` of a q35 machine's root complex (no ACPI slot
    number there, so no ``ens<N>`` name: on the ``pc`` machine the same NIC
    would be ``ens16``); with predictable interface names (``net.ifnames=1``)
    udev names it by path, ``enp0s<slot>`` with the slot in decimal:
    0 -> ``enp0s16``, 1 -> ``enp0s17``, ... 15 -> ``enp0s31``.
    """
    if not 0 <= index <= 15:
        raise ValueError("NIC index must be within 0..15 (PCI slots 0x10..0x1f)")
    return "enp0s%d" % (0x10 + index)


def _run(argv: Sequence[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise HarnessError(
            "%s failed (exit %d): %s\n%s" % (what, proc.returncode, " ".join(argv), tail)
        )
    return proc


def missing_host_tools() -> list[str]:
    """Host programs the harness needs that are not on PATH (empty when all there)."""
    needed = ("qemu-system-x86_64", "debootstrap", "mke2fs", "debugfs", "chroot")
    extra_path = os.pathsep.join(("/usr/sbin", "/sbin"))
    path = os.environ.get("PATH", "") + os.pathsep + extra_path
    return [tool for tool in needed if shutil.which(tool, path=path) is None]


def _tool(name: str) -> str:
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    found = shutil.which(name, path=path)
    if not found:
        raise HarnessError("%s not found on PATH" % name)
    return found


def host_debian_mirror() -> str:
    """The Debian archive mirror this host's apt uses (or ``PN_BOOT_MIRROR``).

    Reads ``/etc/apt/sources.list`` and ``/etc/apt/sources.list.d/*.list`` /
    ``*.sources`` and returns the first ``deb`` URI that serves a plain Debian
    release suite (not ``-security``/``-updates``/``-backports``).
    """
    env = os.environ.get("PN_BOOT_MIRROR")
    if env:
        return env
    debian_suites = {
        "buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid",
        "oldstable", "stable", "testing", "unstable",
    }
    candidates: list[tuple[str, list[str]]] = []
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*"))
    for name in files:
        try:
            text = Path(name).read_text(errors="replace")
        except OSError:
            continue
        if name.endswith(".sources"):
            for para in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in para.splitlines():
                    if line.startswith("#") or ":" not in line or line[:1].isspace():
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                if "deb" not in fields.get("types", "").split():
                    continue
                for uri in fields.get("uris", "").split():
                    candidates.append((uri, fields.get("suites", "").split()))
        elif name.endswith(".list") or name == "/etc/apt/sources.list":
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                words = re.sub(r"\[[^\]]*\]", " ", line).split()
                if len(words) >= 3 and words[0] == "deb":
                    candidates.append((words[1], [words[2]]))
    for uri, suites in candidates:
        if not uri.startswith(("http://", "https://")) or "security" in uri:
            continue
        if any(s.rstrip("/") in debian_suites for s in suites):
            return uri.rstrip("/")
    raise HarnessError(
        "no Debian mirror found in /etc/apt/sources.list*; set PN_BOOT_MIRROR"
    )


def debootstrap_key(packages: Iterable[str] = PACKAGES) -> str:
    """Cache key of the plain debootstrap tree: hash of suite and package list."""
    blob = json.dumps(
        {"suite": SUITE, "arch": ARCH, "variant": VARIANT, "packages": sorted(packages)},
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def base_key(packages: Iterable[str] = PACKAGES) -> str:
    """Cache key of the customised base root: package list plus the recipe."""
    recipe = {
        "debootstrap": debootstrap_key(packages),
        "recipe": BASE_RECIPE_VERSION,
        "script": GUEST_REPORT_SCRIPT,
        "unit": GUEST_REPORT_UNIT,
        "dropins": _GUEST_DROPINS,
        "masked": _UNITS_MASKED_IN_BASE,
        "disabled": _UNITS_DISABLED_IN_BASE,
        "pruned": _PRUNED_MODULE_DIRS,
    }
    blob = json.dumps(recipe, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _write(root: Path, rel: str, content: str | bytes, mode: int = 0o644) -> Path:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def _systemctl(root: Path, verb: str, unit: str) -> subprocess.CompletedProcess:
    """``systemctl VERB UNIT`` inside ``root`` (offline, via chroot)."""
    return subprocess.run(
        [_tool("chroot"), str(root), "systemctl", "--no-reload", verb, unit],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _unit_exists(root: Path, unit: str) -> bool:
    for d in ("etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"):
        if os.path.lexists(root / d / unit):
            return True
    return False


# --------------------------------------------------------------------------
# Base root
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(lock_path: Path):
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _debootstrap(
    cache: Path, packages: Sequence[str], mirror: str | None, log: Callable[[str], None] | None
) -> Path:
    """Plain debootstrap tree, cached as ``cache/debootstrap-<suite>-<key>/root``."""
    key = debootstrap_key(packages)
    dest = cache / ("debootstrap-%s-%s" % (SUITE, key))
    with _locked(cache / (".debootstrap-%s.lock" % key)):
        if (dest / "complete.json").exists():
            return dest
        if os.geteuid() != 0:
            raise HarnessError("building the base root needs root (debootstrap)")
        work = cache / (".build-debootstrap-%s" % key)
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
        mirror = mirror or host_debian_mirror()
        if log:
            log("debootstrap %s from %s into %s" % (SUITE, mirror, work))
        started = time.monotonic()
        argv = [
            _tool("debootstrap"),
            "--arch=" + ARCH,
            "--variant=" + VARIANT,
            "--include=" + ",".join(packages),
            SUITE,
            str(work / "root"),
            mirror,
        ]
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        (work / "debootstrap.log").write_text(proc.stdout)
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.splitlines()[-40:])
            inner = work / "root" / "debootstrap" / "debootstrap.log"
            if inner.exists():
                tail += "\n" + "\n".join(inner.read_text(errors="replace").splitlines()[-40:])
            raise HarnessError("debootstrap failed (exit %d)\n%s" % (proc.returncode, tail))
        info = {
            "key": key,
            "mirror": mirror,
            "packages": sorted(packages),
            "debootstrap_seconds": round(time.monotonic() - started, 1),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (work / "complete.json").write_text(json.dumps(info, indent=1) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
        if log:
            log("debootstrap took %.0f s" % info["debootstrap_seconds"])
        return dest


def build_base_root(
    cache_dir: str | os.PathLike,
    packages: Sequence[str] = PACKAGES,
    mirror: str | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Return the path of a cached, customised Debian 12 root tree.

    Two cache levels under ``cache_dir``: ``debootstrap-bookworm-<k1>`` (the
    plain debootstrap result, ``k1`` = hash of the package list) and
    ``base-bookworm-<k2>`` (customised copy, ``k2`` also hashes this module's
    recipe: report script, units, pruning), so changing the recipe does not
    download again.  File locks serialise concurrent builders.  Needs root.
    ``mirror`` defaults to :func:`host_debian_mirror`.
    """
    cache = Path(cache_dir).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    key = base_key(packages)
    dest = cache / ("base-%s-%s" % (SUITE, key))
    with _locked(cache / (".base-%s.lock" % key)):
        if (dest / "complete.json").exists():
            return dest / "root"
        raw = _debootstrap(cache, packages, mirror, log)
        started = time.monotonic()
        work = cache / (".build-base-%s" % key)
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
        _run(["cp", "-a", "--reflink=auto", str(raw / "root"), str(work / "root")],
             "copying the debootstrap tree")
        _customize_base(work / "root")
        _extract_vmlinux(work)
        info = json.loads((raw / "complete.json").read_text())
        info.update(
            key=key,
            suite=SUITE,
            customize_seconds=round(time.monotonic() - started, 1),
            built=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        (work / "complete.json").write_text(json.dumps(info, indent=1) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
        if log:
            log("base root ready: %s" % dest)
        return dest / "root"


def base_info(base: str | os.PathLike) -> dict:
    """Build information stored next to a base root (timings, mirror, keys)."""
    path = Path(base).parent / "complete.json"
    return json.loads(path.read_text()) if path.exists() else {}


# Kernel module directories that a virtio guest testing network configuration
# never loads; dropping them halves the tree, so copying and imaging are
# faster.  Everything under kernel/net and the rest of drivers/net (bonding,
# virtio_net, vlan, bridge, ...) stays.
_PRUNED_MODULE_DIRS = (
    "sound",
    "drivers/gpu",
    "drivers/media",
    "drivers/scsi",
    "drivers/usb",
    "drivers/infiniband",
    "drivers/iio",
    "drivers/hwmon",
    "drivers/staging",
    "drivers/hid",
    "drivers/input",
    "drivers/platform",
    "drivers/comedi",
    "drivers/mtd",
    "drivers/video",
    "drivers/target",
    "drivers/mmc",
    "drivers/isdn",
    "drivers/bluetooth",
    "drivers/net/wireless",
    "drivers/net/ethernet",
    "drivers/net/can",
    "drivers/net/usb",
    "drivers/net/wwan",
    "drivers/net/ieee802154",
    "net/wireless",
    "net/mac80211",
    "net/bluetooth",
    "fs/btrfs",
    "fs/xfs",
    "fs/ocfs2",
    "fs/nfs",
    "fs/nfsd",
    "fs/ceph",
    "fs/smb",
    "fs/cifs",
    "fs/gfs2",
    "fs/f2fs",
    "fs/reiserfs",
    "fs/jfs",
    "fs/ubifs",
    "fs/nilfs2",
    "fs/ntfs3",
    "fs/udf",
    "fs/afs",
    "fs/dlm",
    "fs/orangefs",
)


def _customize_base(root: Path) -> None:
    # Space: package cache, lists and documentation are not needed to boot.
    for pattern in (
        "var/cache/apt/archives/*.deb",
        "var/cache/apt/*.bin",
        "var/lib/apt/lists/*_*",
        "usr/share/doc/*",
        "usr/share/man/*",
        "usr/share/info/*",
        "usr/share/locale/*",
    ):
        for p in glob.glob(str(root / pattern)):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
    for moddir in sorted((root / "lib/modules").iterdir()):
        for rel in _PRUNED_MODULE_DIRS:
            if (moddir / "kernel" / rel).is_dir():
                shutil.rmtree(moddir / "kernel" / rel)
        _run([_tool("chroot"), str(root), "depmod", "-a", moddir.name], "depmod")
    for rel, content in _GUEST_DROPINS.items():
        _write(root, rel, content)
    _write(root, "usr/local/sbin/pn-report", GUEST_REPORT_SCRIPT, 0o755)
    _write(root, "etc/systemd/system/pn-report.service", GUEST_REPORT_UNIT)
    machine_id = root / "etc/machine-id"
    if not machine_id.exists() or not machine_id.read_text().strip():
        # An empty machine-id means "first boot", which runs preset-all and
        # would re-enable every network stack.
        _write(root, "etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    for unit in _UNITS_DISABLED_IN_BASE:
        if _unit_exists(root, unit):
            proc = _systemctl(root, "disable", unit)
            if proc.returncode != 0:
                raise HarnessError("disable %s: %s" % (unit, proc.stdout))
    for unit in _UNITS_MASKED_IN_BASE:
        if _unit_exists(root, unit):
            _systemctl(root, "mask", unit)
    proc = _systemctl(root, "enable", "pn-report.service")
    if proc.returncode != 0:
        raise HarnessError("enable pn-report.service: %s" % proc.stdout)
    proc = _systemctl(root, "set-default", "multi-user.target")
    if proc.returncode != 0:
        raise HarnessError("set-default: %s" % proc.stdout)
    with open(root / "etc/initramfs-tools/modules", "a") as f:
        f.write("# added by tests/boot/vmharness.py\nvirtio_pci\nvirtio_blk\next4\n")
    _run([_tool("chroot"), str(root), "update-initramfs", "-u", "-k", "all"],
         "update-initramfs in the base root")


def _extract_vmlinux(base_dir: Path) -> None:
    """Store the uncompressed kernel (ELF) next to the root as ``vmlinux-VER``.

    QEMU boots an ELF vmlinux through its PVH entry point, which skips the
    in-guest decompression (about 7 s under TCG).  Only XZ (Debian's choice)
    is handled; without it :func:`find_kernel` falls back to the bzImage.
    """
    kernel, _ = _find_bzimage(base_dir / "root")
    data = kernel.read_bytes()
    start = data.find(b"\xfd7zXZ\x00")
    if start < 0:
        return
    try:
        elf = lzma.LZMADecompressor().decompress(data[start:])
    except lzma.LZMAError:
        return
    if elf[:4] != b"\x7fELF":
        return
    config = base_dir / "root" / "boot" / ("config-" + kernel.name[len("vmlinuz-"):])
    if config.exists() and "CONFIG_PVH=y" not in config.read_text(errors="replace"):
        return
    (base_dir / ("vmlinux-" + kernel.name[len("vmlinuz-"):])).write_bytes(elf)


def _find_bzimage(root: Path) -> tuple[Path, Path]:
    boot_dir = root / "boot"
    kernels = sorted(boot_dir.glob("vmlinuz-*"))
    if not kernels:
        raise HarnessError("no kernel in %s" % boot_dir)
    kernel = kernels[-1]
    initrd = boot_dir / ("initrd.img-" + kernel.name[len("vmlinuz-"):])
    if not initrd.exists():
        raise HarnessError("no initrd %s for %s" % (initrd, kernel))
    return kernel, initrd


def find_kernel(root: str | os.PathLike) -> tuple[Path, Path]:
    """``(kernel, initrd)`` to boot a copy of the base root ``root``.

    The kernel is the uncompressed ``vmlinux-VER`` stored beside a base root
    by :func:`build_base_root` when there is one, else ``root/boot/vmlinuz-VER``
    (newest version); the initrd is ``root/boot/initrd.img-VER``.
    """
    root = Path(root)
    kernel, initrd = _find_bzimage(root)
    elf = root.parent / ("vmlinux-" + kernel.name[len("vmlinuz-"):])
    return (elf if elf.exists() else kernel), initrd


# --------------------------------------------------------------------------
# Image variants: the base with another family's reader
# --------------------------------------------------------------------------

#: Variants of the base image, by name; the stack each is meant for in parentheses.
#: ``ifcfg-rh`` (ifcfg-rh): Debian's NetworkManager replaced by the same version rebuilt
#: with the ifcfg-rh settings plugin (nm_ifcfg_rh.py), the plugin's D-Bus policy, and
#: ``plugins=ifcfg-rh,keyfile``: NetworkManager reads /etc/sysconfig/network-scripts as
#: RHEL 8 and 9 do. ``ifupdown-ng`` (ifupdown-ng): Debian's ifupdown and ifenslave (whose
#: if-pre-up.d hook would still run) purged, ifupdown-ng installed: Alpine's reader of
#: /etc/network/interfaces; boot it with ``ifnames=False`` (eth0, eth1... as on Alpine).
VARIANTS = ("ifcfg-rh", "ifupdown-ng")
VARIANT_RECIPE_VERSION = 1

NM_IFCFG_RH_CONF = """\
# Installed by packet-networking tests/boot/vmharness.py: read ifcfg files as RHEL does.
[main]
plugins=ifcfg-rh,keyfile
"""


def _variant_inputs(base: Path, cache: Path, variant: str,
                    log: Callable[[str], None] | None) -> dict:
    """What a variant is made from, built or fetched when missing; ``stamp`` identifies
    it in the variant's cache key."""
    if variant == "ifcfg-rh":
        import nm_ifcfg_rh

        try:
            version = nm_ifcfg_rh.guest_version(base)
            built = nm_ifcfg_rh.ensure_built(cache, version, log=log)
        except nm_ifcfg_rh.BuildError as exc:
            raise HarnessError("building NetworkManager with ifcfg-rh failed: %s" % exc) from None
        return {"version": version, "dir": built,
                "stamp": (built / "complete.json").read_text()}
    if variant == "ifupdown-ng":
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        found = sorted(debs.glob("ifupdown-ng_*.deb"))
        if not found:
            proc = subprocess.run(["apt-get", "download", "ifupdown-ng"], cwd=debs,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            found = sorted(debs.glob("ifupdown-ng_*.deb"))
            if proc.returncode != 0 or not found:
                raise HarnessError("apt-get download ifupdown-ng failed (the host needs "
                                   "Debian 12's apt sources): %s" % proc.stdout[-500:])
        return {"deb": found[-1], "stamp": found[-1].name}
    raise ValueError("unknown image variant %r (expected one of %s)"
                     % (variant, ", ".join(VARIANTS)))


def _make_variant(root: Path, variant: str, inputs: dict) -> None:
    if variant == "ifcfg-rh":
        import nm_ifcfg_rh

        built = inputs["dir"]
        _write(root, "usr/sbin/NetworkManager", (built / "NetworkManager").read_bytes(), 0o755)
        try:
            plugin_dir = nm_ifcfg_rh.plugin_dir(root, inputs["version"])
        except nm_ifcfg_rh.BuildError as exc:
            raise HarnessError(str(exc)) from None
        _write(root, "%s/%s" % (plugin_dir, nm_ifcfg_rh.PLUGIN),
               (built / nm_ifcfg_rh.PLUGIN).read_bytes(), 0o644)
        _write(root, "usr/share/dbus-1/system.d/" + nm_ifcfg_rh.DBUS_POLICY,
               (built / nm_ifcfg_rh.DBUS_POLICY).read_bytes(), 0o644)
        _write(root, "etc/NetworkManager/conf.d/90-pn-ifcfg-rh.conf", NM_IFCFG_RH_CONF)
        (root / "etc/sysconfig/network-scripts").mkdir(parents=True, exist_ok=True)
    elif variant == "ifupdown-ng":
        shutil.copyfile(inputs["deb"], root / "tmp/ifupdown-ng.deb")
        chroot = _tool("chroot")
        _run([chroot, str(root), "dpkg", "--purge", "ifenslave", "ifupdown"],
             "purging ifupdown from the ifupdown-ng variant")
        _run([chroot, str(root), "dpkg", "-i", "/tmp/ifupdown-ng.deb"],
             "installing ifupdown-ng")
        os.unlink(root / "tmp/ifupdown-ng.deb")
        # its package enables networking.service: the cases enable what they test
        _systemctl(root, "disable", "networking.service")


def variant_key(base: str | os.PathLike, variant: str, stamp: str) -> str:
    """Cache key of a variant: its base, the recipe and what it is made from."""
    blob = json.dumps({"base": str(Path(base).resolve()), "variant": variant,
                       "recipe": VARIANT_RECIPE_VERSION, "inputs": stamp}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_variant(
    base: str | os.PathLike,
    cache_dir: str | os.PathLike,
    variant: str,
    log: Callable[[str], None] | None = None,
) -> Path:
    """The root of image variant ``variant`` (see VARIANTS) of the base root ``base``,
    built once and cached as ``cache_dir/variant-<name>-<key>/root`` with the base's
    kernel beside it. Raises HarnessError with the reason when it cannot be built."""
    base = Path(base)
    cache = Path(cache_dir).expanduser()
    inputs = _variant_inputs(base, cache, variant, log)
    key = variant_key(base, variant, inputs["stamp"])
    dest = cache / ("variant-%s-%s" % (variant, key))
    with _locked(cache / (".variant-%s-%s.lock" % (variant, key))):
        if (dest / "complete.json").exists():
            return dest / "root"
        started = time.monotonic()
        work = cache / (".build-variant-%s-%s" % (variant, key))
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
        _run(["cp", "-a", "--reflink=auto", str(base), str(work / "root")],
             "copying the base root for the %s variant" % variant)
        _make_variant(work / "root", variant, inputs)
        for vmlinux in base.parent.glob("vmlinux-*"):
            shutil.copyfile(vmlinux, work / vmlinux.name)
        info = {"variant": variant, "base": str(base), "inputs": inputs["stamp"],
                "seconds": round(time.monotonic() - started, 1),
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (work / "complete.json").write_text(json.dumps(info, indent=1) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
        if log:
            log("image variant %s ready: %s" % (variant, dest))
        return dest / "root"


# --------------------------------------------------------------------------
# Per case
# --------------------------------------------------------------------------


def prepare_case(base: str | os.PathLike, workdir: str | os.PathLike) -> Path:
    """Copy the base root to ``workdir/root`` (``cp -a``, reflinks when possible)."""
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    root = work / "root"
    if root.exists():
        shutil.rmtree(root)
    _run(
        ["cp", "-a", "--reflink=auto", str(Path(base)), str(root)],
        "copying the base root",
    )
    return root


def enable_stack(root: str | os.PathLike, stack: str) -> None:
    """Enable the services of one network stack in ``root`` (offline).

    ``eni`` -> networking.service (ifupdown); ``netplan`` and ``networkd`` ->
    systemd-networkd (netplan's generator renders for networkd at boot);
    ``networkmanager`` -> NetworkManager.  The matching wait-online service is
    enabled too (their timeouts are bounded in the base).
    """
    if stack not in STACK_UNITS:
        raise ValueError("unknown stack %r (expected one of %s)" % (stack, ", ".join(STACKS)))
    root = Path(root)
    for i, unit in enumerate(STACK_UNITS[stack]):
        if not _unit_exists(root, unit):
            if i == 0:
                raise HarnessError("%s is not installed in %s" % (unit, root))
            continue
        proc = _systemctl(root, "enable", unit)
        if proc.returncode != 0:
            raise HarnessError("enable %s in %s: %s" % (unit, root, proc.stdout))


def write_files(root: str | os.PathLike, files: Mapping[str, object]) -> None:
    """Write ``{"/etc/x": "text" | b"bytes" | ("text", 0o600)}`` into ``root``."""
    for rel, spec in files.items():
        mode = 0o644
        if isinstance(spec, tuple):
            spec, mode = spec
        _write(Path(root), rel, spec, mode)  # type: ignore[arg-type]


def _tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


def make_image(
    root: str | os.PathLike, image_path: str | os.PathLike, size_mb: int | None = None
) -> Path:
    """Create a sparse ext4 image populated from ``root`` (``mke2fs -d``).

    No journal: the image is only ever used once, and without a journal the
    report written by the guest is readable by ``debugfs`` even if the guest
    did not unmount cleanly.
    """
    root = Path(root)
    image = Path(image_path)
    if size_mb is None:
        used_mb = _tree_bytes(root) // (1024 * 1024)
        size_mb = max(2048, used_mb * 2 + 512)
    if image.exists():
        image.unlink()
    _run(
        [
            _tool("mke2fs"),
            "-q",
            "-F",
            "-t", "ext4",
            "-O", "^has_journal",
            "-L", "pnroot",
            "-i", "8192",
            "-d", str(root),
            str(image),
            "%dM" % size_mb,
        ],
        "mke2fs",
    )
    return image


# --------------------------------------------------------------------------
# Booting
# --------------------------------------------------------------------------


def _kvm_device_ok() -> bool:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, 0xAE00) != 12:  # KVM_GET_API_VERSION
            return False
        vm = fcntl.ioctl(fd, 0xAE01, 0)  # KVM_CREATE_VM
        os.close(vm)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


# CPU models tried under KVM, best first.  Nested hosts may refuse ``host``
# (e.g. "failed to set MSR 0x10a": IA32_ARCH_CAPABILITIES), hence the others.
_KVM_CPU_CANDIDATES = ("host", "host,-arch-capabilities", "qemu64")
_KVM_PROBE_TIMEOUT_S = 12


@functools.lru_cache(maxsize=None)
def _probe_kvm_cpu(kernel: str) -> str | None:
    """Boot ``kernel`` without a root device under KVM until it panics.

    Some hosts (nested virtualisation) offer a working ``/dev/kvm`` on which a
    guest hangs as soon as it leaves real mode; only running a kernel tells.
    Reaching the "Unable to mount root fs" panic (then ``-no-reboot`` exits)
    proves KVM works; a hang means it does not, and no other model is tried.
    """
    if not _kvm_device_ok():
        return None
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        return None
    for cpu in _KVM_CPU_CANDIDATES:
        argv = [
            qemu, "-accel", "kvm", "-cpu", cpu, "-machine", "pc", "-nodefaults",
            "-display", "none", "-no-reboot", "-m", "256", "-serial", "stdio",
            "-kernel", kernel,
            "-append", "console=ttyS0 panic=-1 root=/dev/pn-probe-none",
        ]
        try:
            proc = subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=_KVM_PROBE_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return None  # the guest hangs: KVM is not usable at all
        except OSError:
            return None
        if proc.returncode == 0 and b"Kernel panic" in proc.stdout:
            return cpu
    return None


def kvm_cpu_model(kernel: str | os.PathLike) -> str | None:
    """The ``-cpu`` model to use with KVM for ``kernel``, or None for TCG.

    Checks ``/dev/kvm`` (access, API version, creating a VM), then boots the
    kernel briefly with each candidate model (cached per process);
    ``PN_BOOT_NO_KVM=1`` forces None.
    """
    if os.environ.get("PN_BOOT_NO_KVM", "") not in ("", "0"):
        return None
    return _probe_kvm_cpu(str(kernel))


def default_timeout(accel: str) -> float:
    """Seconds allowed for one boot (``PN_BOOT_TIMEOUT`` overrides)."""
    env = os.environ.get("PN_BOOT_TIMEOUT")
    if env:
        return float(env)
    return 150.0 if accel == "kvm" else 300.0


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[A-Za-z]")
# systemd's progress spinner: "[ ***  ] (2 of 2) Job x.service/start running (22s / 1min)"
_SPINNER = re.compile(r"^\s*\[[ *]{6}\] \(\d+ of \d+\) (Job|A start job|A stop job)")
_NOTABLE = re.compile(
    r"FAILED|Failed|failed|error|Error|panic|Timed out|timed out|pn-report|"
    r"networking|NetworkManager|networkd|netplan|bond|ifup|Dependency"
)


def console_excerpt(console_log: str | os.PathLike, tail: int = 60) -> str:
    """The relevant part of a serial console log: notable lines, then the tail."""
    try:
        raw = Path(console_log).read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        return "(no console log: %s)" % exc
    lines = []
    for line in raw.replace("\r", "\n").split("\n"):
        line = _ANSI.sub("", line).rstrip()
        if line.strip() and not _SPINNER.match(line):
            lines.append(line)
    last = lines[-tail:]
    earlier = [l for l in lines[: max(0, len(lines) - tail)] if _NOTABLE.search(l)][-25:]
    parts = []
    if earlier:
        parts.append("--- notable earlier console lines ---")
        parts.extend(earlier)
    parts.append("--- last %d console lines (%s) ---" % (len(last), console_log))
    parts.extend(last)
    return "\n".join(parts)


def _read_from_image(image: Path, path: str) -> str | None:
    proc = subprocess.run(
        [_tool("debugfs"), "-R", "cat %s" % path, str(image)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if proc.returncode != 0 or not proc.stdout:
        return None
    return proc.stdout.decode("utf-8", "replace")


def boot(
    image: str | os.PathLike,
    kernel: str | os.PathLike,
    initrd: str | os.PathLike,
    macs: Sequence[str],
    timeout: float | None = None,
    *,
    wait_for: Iterable[str] = (),
    expected: str = "",
    memory_mb: int = 1024,
    extra_cmdline: str = "",
    accel: str | None = None,
    isolated: bool = True,
    ifnames: bool = True,
) -> dict:
    """Boot ``image`` and return the guest's report.

    ``macs``: one virtio NIC per MAC, NIC ``i`` named :func:`guest_nic_name`
    ``(i)`` in the guest, each on its own QEMU user-mode network: QEMU answers
    DHCP with 10.0.2.15/24.  ``isolated`` (default) adds ``restrict=on``:
    nothing the guest sends leaves the VM, and QEMU's DHCP then offers no
    router and no DNS server; ``isolated=False`` gives the full answer
    (gateway 10.0.2.2, DNS 10.0.2.3) and NAT to the outside.  ``wait_for``: addresses (``"147.75.1.3"``; a ``/len`` suffix is
    ignored) the guest waits for (at most ~60 s) before reporting.
    ``expected``: free text put into error messages.  ``accel``: ``"kvm"``,
    ``"tcg"`` or None (KVM when usable).  ``ifnames=False`` boots with
    ``net.ifnames=0``: the kernel's names ``eth0``, ``eth1``... in PCI slot
    order, as Alpine (no udev naming) calls its NICs.

    Returns ``{"report": dict, "console_log": Path, "seconds": float,
    "accel": str}``; ``report`` holds ``addr``/``route``/``route6``/``link``
    (``ip -j`` output), ``bonding`` (``/proc/net/bonding/*`` texts),
    ``hostname``, ``etc_hostname``, ``resolv_conf``, ``units``, ``settle``...
    Raises :class:`BootError` (with the relevant console lines) when QEMU times
    out or no report is found.
    """
    image = Path(image)
    console = image.with_name(image.stem + ".console.log")
    qemu_log = image.with_name(image.stem + ".qemu.log")
    cpu = kvm_cpu_model(kernel) if accel in (None, "kvm") else None
    if accel is None:
        accel = "kvm" if cpu else "tcg"
    elif accel == "kvm" and not cpu:
        raise HarnessError("KVM requested but not usable here")
    if timeout is None:
        timeout = default_timeout(accel)
    if len(macs) > 16:
        raise ValueError("at most 16 NICs")
    nonce = uuid.uuid4().hex[:12]
    wait_list = [w.split("/")[0] for w in wait_for]
    cmdline = [
        "root=/dev/vda",
        "rw",
        "console=ttyS0,115200",
        "net.ifnames=%d" % (1 if ifnames else 0),
        "panic=-1",
        "loglevel=5",  # kernel notices and worse on the console; all in the journal
        "mitigations=off",
        "systemd.show_status=1",
        "pn.nonce=" + nonce,
    ]
    if wait_list:
        cmdline.append("pn.wait=" + ",".join(wait_list))
    if extra_cmdline:
        cmdline.append(extra_cmdline)
    argv = [
        _tool("qemu-system-x86_64"),
        "-machine", "q35",
        "-nodefaults",
        "-display", "none",
        "-no-reboot",
        "-m", str(memory_mb),
        "-smp", "1",
    ]
    if accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", cpu]
    else:
        argv += ["-accel", "tcg"]
    argv += [
        "-kernel", str(kernel),
        "-initrd", str(initrd),
        "-append", " ".join(cmdline),
        "-drive", "file=%s,format=raw,if=virtio,cache=unsafe" % image,
        "-serial", "file:%s" % console,
    ]
    for i, mac in enumerate(macs):
        argv += [
            "-netdev", "user,id=n%d%s" % (i, ",restrict=on" if isolated else ""),
            # speed/duplex: bonding (802.3ad) needs them to use a port, and
            # logs "failed to get link speed/duplex" ten times a second without.
            "-device",
            "virtio-net-pci,netdev=n%d,mac=%s,addr=0x%x,speed=10000,duplex=full"
            % (i, mac, 0x10 + i),
        ]
    what = "expected: %s" % expected if expected else ""
    if wait_list:
        what += ("; " if what else "") + "waiting for addresses %s" % ", ".join(wait_list)
    started = time.monotonic()
    with open(qemu_log, "w") as qlog:
        proc = subprocess.Popen(argv, stdout=qlog, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise BootError(
                "VM (%s) did not power off within %.0f s; %s\n%s"
                % (accel, timeout, what, console_excerpt(console)),
                console,
            ) from None
    seconds = time.monotonic() - started
    if rc != 0:
        raise BootError(
            "qemu exited with %d: %s\n%s\n%s"
            % (rc, qemu_log.read_text(errors="replace")[-2000:], what,
               console_excerpt(console)),
            console,
        )
    text = _read_from_image(image, REPORT_PATH)
    if text is None:
        raise BootError(
            "VM (%s, %.0f s) powered off without writing %s; %s\n%s"
            % (accel, seconds, REPORT_PATH, what, console_excerpt(console)),
            console,
        )
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise BootError("unreadable report (%s): %r" % (exc, text[:500]), console) from None
    if report.get("nonce") != nonce:
        raise BootError("stale report in %s (nonce mismatch)" % image, console)
    if "error" in report:
        raise BootError(
            "report script failed in the guest:\n%s\n%s"
            % (report["error"], console_excerpt(console)),
            console,
        )
    return {"report": report, "console_log": console, "seconds": seconds, "accel": accel}


# --------------------------------------------------------------------------
# Cases: prepare + populate + image + boot, optionally in parallel
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """One boot: a stack, files (or a callback) to put in the root, NICs.

    ``files`` maps absolute guest paths to text, bytes or ``(content, mode)``;
    ``populate(root)`` is called after writing them (e.g. to run the tool
    against the copied root).  ``wait_for`` lists addresses the guest waits for;
    ``isolated`` and ``ifnames`` are passed to :func:`boot`.  ``base``: the
    root to copy (an image variant from :func:`build_variant`), default the
    base that :func:`run_cases` is given.
    """

    name: str
    stack: str
    macs: Sequence[str]
    files: Mapping[str, object] = dataclasses.field(default_factory=dict)
    populate: Callable[[Path], None] | None = None
    wait_for: Sequence[str] = ()
    expected: str = ""
    isolated: bool = True
    ifnames: bool = True
    base: Path | None = None


def run_case(
    base: str | os.PathLike,
    kernel: str | os.PathLike,
    initrd: str | os.PathLike,
    workdir: str | os.PathLike,
    case: Case,
    keep: bool | None = None,
) -> dict:
    """Prepare, populate, image and boot one :class:`Case`; return :func:`boot`'s dict.

    The copied root is removed once the image is built, and the image after a
    successful boot, unless ``keep`` (default: env ``PN_BOOT_KEEP=1``).
    """
    if keep is None:
        keep = os.environ.get("PN_BOOT_KEEP", "") not in ("", "0")
    work = Path(workdir) / case.name
    timings: dict[str, float] = {}
    if case.base is not None and Path(case.base) != Path(base):
        base = case.base
        kernel, initrd = find_kernel(base)
    t = time.monotonic()
    root = prepare_case(base, work)
    timings["copy"] = time.monotonic() - t
    write_files(root, case.files)
    if case.populate is not None:
        case.populate(root)
    enable_stack(root, case.stack)
    t = time.monotonic()
    image = make_image(root, work / "disk.img")
    timings["image"] = time.monotonic() - t
    if not keep:
        shutil.rmtree(root)
    result = boot(
        image,
        kernel,
        initrd,
        case.macs,
        wait_for=case.wait_for,
        expected=case.expected,
        isolated=case.isolated,
        ifnames=case.ifnames,
    )
    timings["boot"] = result["seconds"]
    result["timings"] = timings
    (work / "report.json").write_text(json.dumps(result["report"], indent=1, sort_keys=True))
    if not keep:
        image.unlink()
    return result


def boot_parallelism() -> int:
    """How many VMs to run at once (``PN_BOOT_PARALLEL``, default 2)."""
    try:
        return max(1, int(os.environ.get("PN_BOOT_PARALLEL", "2")))
    except ValueError:
        return 2


def run_cases(
    base: str | os.PathLike,
    workdir: str | os.PathLike,
    cases: Sequence[Case],
    parallel: int | None = None,
) -> dict[str, dict | BaseException]:
    """Run several cases, ``parallel`` at a time; map case name -> result or exception."""
    kernel, initrd = find_kernel(base)
    parallel = parallel or boot_parallelism()
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError("case names must be unique")
    results: dict[str, dict | BaseException] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {
            pool.submit(run_case, base, kernel, initrd, workdir, c): c.name for c in cases
        }
        for fut in concurrent.futures.as_completed(futures):
            try:
                results[futures[fut]] = fut.result()
            except BaseException as exc:  # noqa: BLE001 - reported per case
                results[futures[fut]] = exc
    return results


# --------------------------------------------------------------------------
# Reading reports
# --------------------------------------------------------------------------


def addresses(report: Mapping, ifname: str | None = None) -> set[str]:
    """``{"147.75.1.3/31", ...}`` (global scope) on ``ifname`` or on any link."""
    found = set()
    for link in report.get("addr", []):
        if ifname is not None and link.get("ifname") != ifname:
            continue
        for a in link.get("addr_info", []):
            if a.get("scope") == "global":
                found.add("%s/%s" % (a["local"], a["prefixlen"]))
    return found


def address_owner(report: Mapping, address: str) -> str | None:
    """The interface (``ip -j addr`` ``ifname``) carrying ``address`` (no prefix)."""
    for link in report.get("addr", []):
        for a in link.get("addr_info", []):
            if a.get("local") == address.split("/")[0]:
                return link.get("ifname")
    return None


def find_route(report: Mapping, dst: str, family: int = 4) -> dict | None:
    """The route whose ``dst`` is ``dst`` ("default", "10.0.0.0/8"), or None."""
    for route in report.get("route" if family == 4 else "route6", []):
        if route.get("dst") == dst:
            return route
    return None


def link(report: Mapping, ifname: str) -> dict | None:
    """``ip -j -d link`` entry of ``ifname``."""
    for entry in report.get("link", []):
        if entry.get("ifname") == ifname:
            return entry
    return None


def parse_bonding(text: str) -> dict:
    """Parse ``/proc/net/bonding/BOND``: ``{"mode": ..., "slaves": [...], ...}``."""
    info: dict = {"slaves": [], "slave_macs": {}}
    current = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "Bonding Mode":
            info["mode"] = value
        elif key == "Slave Interface":
            current = value
            info["slaves"].append(value)
        elif key == "Permanent HW addr" and current:
            info["slave_macs"][current] = value
        elif key == "MII Status" and current is None:
            info["mii_status"] = value
        elif key == "MII Polling Interval (ms)":
            info["miimon"] = value
        elif key == "Transmit Hash Policy":
            info["xmit_hash_policy"] = value
        elif key == "LACP rate":
            info["lacp_rate"] = value
    return info


_NETWORK_JOURNAL = re.compile(
    r"ifup|ifdown|networking|NetworkManager|networkd|netplan|bond|dhclient|DHCP|dhcp|"
    r"ADDRCONF|wait-online|pn-report|renamed from|Failed|failed|error|Error|warn"
)


def network_journal(report: Mapping, lines: int = 60) -> str:
    """The guest journal's last ``lines`` lines about networking (from the report)."""
    journal = (report.get("journal") or "").splitlines()
    picked = [line for line in journal if _NETWORK_JOURNAL.search(line)]
    return "\n".join(picked[-lines:])


def describe(result: Mapping) -> str:
    """Context for assertion messages: settle status, failed units, network journal."""
    report = result.get("report", {})
    parts = [
        "accel=%s boot=%.0f s settle=%s"
        % (result.get("accel"), result.get("seconds", 0), report.get("settle")),
        "units=%s failed=%s" % (report.get("units"), report.get("failed_units")),
        "--- guest journal, network lines ---",
        network_journal(report),
    ]
    if result.get("console_log"):
        parts.append("--- console log: %s" % result["console_log"])
    return "\n".join(parts)


# --------------------------------------------------------------------------
# Command line: build what the boot suite needs before running it (CI)
# --------------------------------------------------------------------------


def prepare(cache_dir: str | os.PathLike | None = None,
            variants: Sequence[str] = VARIANTS) -> dict[str, Path]:
    """Build (or find in the cache) the base root and every image variant."""
    cache = Path(cache_dir or os.environ.get("PN_BOOT_CACHE")
                 or "~/.cache/packet-networking/boot").expanduser()

    def log(message):
        print("vmharness: %s" % message, flush=True)

    roots = {"base": build_base_root(cache, log=log)}
    for variant in variants:
        started = time.monotonic()
        roots[variant] = build_variant(roots["base"], cache, variant, log=log)
        log("%s: %s (%.0f s)" % (variant, roots[variant], time.monotonic() - started))
    return roots


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["prepare"]:
        sys.exit("usage: vmharness.py prepare   (PN_BOOT_CACHE: the cache directory)")
    try:
        prepare()
    except HarnessError as error:
        sys.exit("vmharness: preparing the boot images failed: %s" % error)
