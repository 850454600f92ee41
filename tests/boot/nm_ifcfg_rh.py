"""NetworkManager with its ifcfg-rh settings plugin, rebuilt from Debian's source package.

RHEL, CentOS Stream, Rocky and Alma 8 and 9 read ``/etc/sysconfig/network-scripts``
through NetworkManager's ifcfg-rh settings plugin. Debian builds NetworkManager
without it, and a plugin built alone does not load into Debian's daemon: the daemon
exports only the symbols of the plugins it was built with (a linker version script),
NetworkManager logs a mere ``could not load plugin 'ifcfg-rh' ... undefined symbol``
and falls back to DHCP "Wired connection" profiles. So the daemon and the plugin are
rebuilt together from Debian's own source package, of exactly the version installed
in the guest, with ``--enable-ifcfg-rh``; the guest image variant "ifcfg-rh" carries
them (see vmharness.build_variant).

The result is cached per version as ``CACHE/nm-ifcfg-rh-<version>/``: ``NetworkManager``,
``libnm-settings-plugin-ifcfg-rh.so``, ``nm-ifcfg-rh.conf`` (the plugin's D-Bus policy)
and ``complete.json``; the build log is ``build.log`` beside them. Building needs root,
apt and Debian's mirror: when apt knows no ``deb-src`` entry for the package it writes
``/etc/apt/sources.list.d/pn-boot-deb-src.sources`` (the host's Debian mirror, the
guest's suite and its -updates) and runs ``apt-get update``; then ``apt-get build-dep``
installs the build dependencies, ``apt-get source`` fetches the source and the two
targets are built (about 4 minutes on 2 cores).

    python3 tests/boot/nm_ifcfg_rh.py VERSION [CACHE]    # build (or find) it
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

PACKAGE = "network-manager"
SOURCE = "network-manager"
DEB_SRC_FILE = Path("/etc/apt/sources.list.d/pn-boot-deb-src.sources")
PLUGIN = "libnm-settings-plugin-ifcfg-rh.so"
DBUS_POLICY = "nm-ifcfg-rh.conf"
ARTEFACTS = ("NetworkManager", PLUGIN, DBUS_POLICY)

# debian/rules' dh_auto_configure arguments for 1.42 (Debian 12), plus --enable-ifcfg-rh;
# documentation, introspection and Vala bindings are off: they are not part of the daemon
# and take most of the build dependencies' time.
CONFIGURE_FLAGS = (
    "--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var", "--runstatedir=/run",
    "--libdir=/usr/lib/{multiarch}", "--libexecdir=/usr/lib/NetworkManager",
    "--disable-maintainer-mode", "--disable-dependency-tracking", "--disable-silent-rules",
    "--with-pppd-plugin-dir={pppd_plugin_dir}", "--with-pppd=/usr/sbin/pppd",
    "--with-nft=/usr/sbin/nft", "--with-iptables=/usr/sbin/iptables",
    "--with-resolvconf=/sbin/resolvconf", "--with-dhclient=/sbin/dhclient",
    "--with-dnsmasq=/usr/sbin/dnsmasq",
    "--with-polkit-agent-helper-1=/usr/lib/policykit-1/polkit-agent-helper-1",
    "--with-systemdsystemunitdir=/lib/systemd/system", "--with-udev-dir=/lib/udev",
    "--with-dbus-sys-dir=/usr/share/dbus-1/system.d", "--with-crypto=gnutls",
    "--with-session-tracking=systemd", "--with-suspend-resume=systemd",
    "--with-modem-manager-1", "--with-nmtui", "--with-nmcli", "--with-selinux",
    "--with-libaudit", "--with-iwd", "--without-dhcpcanon", "--without-nm-cloud-setup",
    "--enable-polkit", "--enable-polkit-agent", "--enable-ppp", "--enable-ifupdown",
    "--enable-concheck", "--enable-teamdctl", "--enable-json-validation",
    "--enable-bluez5-dun", "--disable-more-warnings", "--disable-modify-system",
    "--disable-ovs",
    "--disable-introspection", "--disable-gtk-doc", "--disable-vala",
    "--enable-ifcfg-rh",
)
MAKE_TARGETS = ("src/core/NetworkManager",
                "src/core/settings/plugins/ifcfg-rh/libnm-settings-plugin-ifcfg-rh.la")


class BuildError(Exception):
    """Building NetworkManager with ifcfg-rh failed; the message says where and why."""


def guest_version(root: str | os.PathLike) -> str:
    """The version of network-manager installed in the root tree ``root``."""
    proc = subprocess.run(
        ["dpkg-query", "--admindir=%s" % (Path(root) / "var/lib/dpkg"), "-W",
         "-f=${Version}", PACKAGE], capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise BuildError("%s is not installed in %s: %s" % (PACKAGE, root, proc.stderr.strip()))
    return proc.stdout.strip()


def artefacts_dir(cache: str | os.PathLike, version: str) -> Path:
    return Path(cache).expanduser() / ("nm-ifcfg-rh-%s" % version.replace(":", "_"))


def built(cache: str | os.PathLike, version: str) -> Path | None:
    """The cached build for ``version``, or None."""
    dest = artefacts_dir(cache, version)
    return dest if (dest / "complete.json").exists() else None


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_built(cache: str | os.PathLike, version: str,
                 log: Callable[[str], None] | None = None) -> Path:
    """The directory holding the daemon, the plugin and its D-Bus policy for ``version``
    (built once, then cached; concurrent callers wait for one build)."""
    cache = Path(cache).expanduser()
    dest = artefacts_dir(cache, version)
    with _locked(cache / (".nm-ifcfg-rh-%s.lock" % version.replace(":", "_"))):
        if (dest / "complete.json").exists():
            return dest
        if os.geteuid() != 0:
            raise BuildError("building NetworkManager with ifcfg-rh needs root (apt-get "
                             "build-dep)")
        work = cache / (".build-nm-ifcfg-rh-%s" % version.replace(":", "_"))
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        build_log = work / "build.log"
        started = time.monotonic()
        try:
            _build(work, version, build_log, log)
        except BuildError as exc:
            kept = cache / ("nm-ifcfg-rh-%s.build.log" % version.replace(":", "_"))
            if build_log.exists():
                shutil.copyfile(build_log, kept)
            raise BuildError("%s (log: %s)" % (exc, kept)) from None
        info = {"version": version, "build_seconds": round(time.monotonic() - started, 1),
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "configure": list(CONFIGURE_FLAGS)}
        out = work / "out"
        (out / "complete.json").write_text(json.dumps(info, indent=1) + "\n")
        shutil.copyfile(build_log, out / "build.log")
        if dest.exists():
            shutil.rmtree(dest)
        out.rename(dest)
        shutil.rmtree(work)
        if log:
            log("NetworkManager %s with ifcfg-rh built in %.0f s: %s"
                % (version, info["build_seconds"], dest))
        return dest


def _step(argv, what: str, build_log: Path, cwd: Path | None = None, env=None,
          log: Callable[[str], None] | None = None) -> str:
    if log:
        log(what)
    with open(build_log, "a") as out:
        out.write("\n### %s\n$ %s\n" % (what, " ".join(map(str, argv))))
        out.flush()
        proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        out.write(proc.stdout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise BuildError("%s failed (exit %d):\n%s" % (what, proc.returncode, tail))
    return proc.stdout


def _source_known(version: str) -> bool:
    proc = subprocess.run(["apt-cache", "showsrc", SOURCE], capture_output=True, text=True)
    return proc.returncode == 0 and ("\nVersion: %s\n" % version) in "\n" + proc.stdout + "\n"


def _ensure_deb_src(version: str, build_log: Path, log) -> None:
    """Make apt know the source package of ``version``: a deb-src entry for the host's
    Debian mirror, in a file of its own, then apt-get update."""
    if _source_known(version):
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import vmharness

    mirror = vmharness.host_debian_mirror()
    suite = vmharness.SUITE
    DEB_SRC_FILE.write_text(
        "# Written by packet-networking's tests/boot/nm_ifcfg_rh.py: the source of\n"
        "# network-manager, rebuilt with the ifcfg-rh plugin for the boot tests.\n"
        "Types: deb-src\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" % (mirror, suite, suite))
    _step(["apt-get", "update", "-q"], "apt-get update (deb-src in %s)" % DEB_SRC_FILE,
          build_log, log=log)
    if not _source_known(version):
        raise BuildError("apt knows no source package %s %s after adding %s (is it still on "
                         "the mirror?)" % (SOURCE, version, DEB_SRC_FILE))


def _build(work: Path, version: str, build_log: Path, log) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")
    _ensure_deb_src(version, build_log, log)
    _step(["apt-get", "build-dep", "-y", "-q", "--no-install-recommends",
           "%s=%s" % (SOURCE, version)], "apt-get build-dep %s=%s" % (SOURCE, version),
          build_log, env=env, log=log)
    _step(["apt-get", "source", "-q", "%s=%s" % (SOURCE, version)],
          "apt-get source %s=%s" % (SOURCE, version), build_log, cwd=work, env=env, log=log)
    upstream = version.split(":")[-1].rsplit("-", 1)[0]
    tree = work / ("%s-%s" % (SOURCE, upstream))
    if not (tree / "configure").exists():
        raise BuildError("no %s/configure after apt-get source" % tree)
    multiarch = _output(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"])
    pppd = sorted(Path("/usr/lib/pppd").glob("*"))
    flags = [f.format(multiarch=multiarch, pppd_plugin_dir=pppd[-1] if pppd else "/usr/lib/pppd")
             for f in CONFIGURE_FLAGS]
    build_env = dict(env, PYTHON="/usr/bin/python3")
    for name in ("CFLAGS", "CPPFLAGS", "LDFLAGS"):
        build_env[name] = _output(["dpkg-buildflags", "--get", name])
    _step(["./configure", "--build=%s" % multiarch] + flags, "configure --enable-ifcfg-rh",
          build_log, cwd=tree, env=build_env, log=log)
    jobs = str(max(1, os.cpu_count() or 1))
    _step(["make", "-j" + jobs] + list(MAKE_TARGETS), "make NetworkManager and the ifcfg-rh plugin",
          build_log, cwd=tree, env=build_env, log=log)
    out = work / "out"
    out.mkdir()
    sources = {
        "NetworkManager": tree / "src/core/NetworkManager",
        PLUGIN: tree / "src/core/settings/plugins/ifcfg-rh/.libs" / PLUGIN,
        DBUS_POLICY: tree / "src/core/settings/plugins/ifcfg-rh" / DBUS_POLICY,
    }
    for name, path in sources.items():
        if not path.exists():
            raise BuildError("the build made no %s" % path)
        shutil.copyfile(path, out / name)
    for name in ("NetworkManager", PLUGIN):
        _step(["strip", "--strip-debug", out / name], "strip %s" % name, build_log)
    os.chmod(out / "NetworkManager", 0o755)
    os.chmod(out / PLUGIN, 0o644)
    os.chmod(out / DBUS_POLICY, 0o644)


def _output(argv) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def plugin_dir(root: str | os.PathLike, version: str) -> str:
    """Where NetworkManager ``version`` looks for its plugins in ``root`` (relative to it):
    the directory that holds Debian's own plugins, ``usr/lib/<multiarch>/NetworkManager/
    <upstream version>``."""
    upstream = version.split(":")[-1].rsplit("-", 1)[0]
    found = sorted(Path(root).glob("usr/lib/*/NetworkManager/%s" % upstream))
    if not found:
        raise BuildError("no NetworkManager plugin directory for %s in %s" % (upstream, root))
    return str(found[0].relative_to(root))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: nm_ifcfg_rh.py VERSION [CACHE]")
    cache_dir = sys.argv[2] if len(sys.argv) == 3 else (
        os.environ.get("PN_BOOT_CACHE") or "~/.cache/packet-networking/boot")
    try:
        print(ensure_built(cache_dir, sys.argv[1], log=print))
    except BuildError as error:
        sys.exit("building NetworkManager with ifcfg-rh failed: %s" % error)
