#!/usr/bin/python3
"""Read NetworkManager keyfiles with libnm and print what it understood, as JSON.

Run with a Python that has PyGObject and the NM typelib (Debian: ``python3-gi``
and ``gir1.2-nm-1.0``, i.e. ``/usr/bin/python3``); the test suite itself may run
in a virtualenv without them, so it calls this script as a subprocess.

    /usr/bin/python3 tests/support/nm_validate.py FILE_OR_DIR...
    /usr/bin/python3 tests/support/nm_validate.py --probe      # prints the libnm version

For each ``*.nmconnection`` it does what NetworkManager's keyfile plugin does:
``GLib.KeyFile`` -> ``NM.keyfile_read`` (collecting the reader's warnings) ->
``verify()`` -> ``normalize()``, and reports the resulting profile: id, uuid,
type, interface name, autoconnect, controller (``master``/``slave-type``), MACs,
bond options, and per IP family method, addresses, gateway, routes and DNS.
Keys libnm does not know (e.g. ``controller=`` on libnm < 1.46) are listed in
``unknown_keys``: the reader skips them without a warning.

Exit status: 0 every file valid (no error, no warning, no unknown key),
1 some file invalid, 2 usage, 3 libnm unavailable.
"""
import json
import os
import re
import sys

EXIT_INVALID, EXIT_USAGE, EXIT_NO_LIBNM = 1, 2, 3

# keyfile group names that are aliases of setting names
GROUP_ALIASES = {"ethernet": "802-3-ethernet", "wifi": "802-11-wireless",
                 "wifi-security": "802-11-wireless-security"}
# keys the keyfile format adds to the IP settings (not GObject properties)
IP_KEYFILE_KEYS = re.compile(r"^(address|addresses|route|routes)\d*(_options)?$")


def load_nm():
    try:
        import gi
        gi.require_version("NM", "1.0")
        from gi.repository import GLib, GObject, NM
    except (ImportError, ValueError) as err:
        print(f"libnm unavailable in {sys.executable}: {err} "
              "(Debian packages python3-gi and gir1.2-nm-1.0)", file=sys.stderr)
        sys.exit(EXIT_NO_LIBNM)
    return GLib, GObject, NM


def unknown_keys(GObject, NM, keyfile):
    found = []
    for group in keyfile.get_groups()[0]:
        gtype = NM.Setting.lookup_type(GROUP_ALIASES.get(group, group))
        if gtype == GObject.TYPE_INVALID:
            found.append(f"[{group}]")
            continue
        properties = {spec.name for spec in GObject.list_properties(gtype)}
        for key in keyfile.get_keys(group)[0]:
            if key in properties:
                continue
            if group == "bond" and NM.SettingBond.validate_option(key, None):
                continue
            if group in ("ipv4", "ipv6") and IP_KEYFILE_KEYS.match(key):
                continue
            found.append(f"{group}.{key}")
    return found


def ip_summary(setting):
    if setting is None:
        return None
    addresses = [f"{a.get_address()}/{a.get_prefix()}"
                 for a in (setting.get_address(i) for i in range(setting.get_num_addresses()))]
    routes = [{"dest": f"{r.get_dest()}/{r.get_prefix()}", "next_hop": r.get_next_hop(),
               "metric": r.get_metric(),
               "attributes": {name: r.get_attribute(name).unpack()
                              for name in r.get_attribute_names()}}
              for r in (setting.get_route(i) for i in range(setting.get_num_routes()))]
    return {"method": setting.get_method(), "addresses": addresses,
            "gateway": setting.get_gateway(), "routes": routes,
            "dns": [setting.get_dns(i) for i in range(setting.get_num_dns())],
            "may_fail": setting.get_may_fail()}


def summary(NM, connection):
    con = connection.get_setting_connection()
    wired = connection.get_setting_wired()
    bond = connection.get_setting_bond()
    options = {}
    if bond is not None:
        for i in range(bond.get_num_options()):
            ok, name, value = bond.get_option(i)
            if ok:
                options[name] = value
    return {
        "id": con.get_id(), "uuid": con.get_uuid(), "type": con.get_connection_type(),
        "interface_name": con.get_interface_name(), "autoconnect": con.get_autoconnect(),
        "autoconnect_priority": con.get_autoconnect_priority(),
        "autoconnect_slaves": int(con.get_autoconnect_slaves()),
        "master": con.get_master(), "slave_type": con.get_slave_type(),
        "mac_address": wired.get_mac_address() if wired else None,
        "cloned_mac_address": wired.get_cloned_mac_address() if wired else None,
        "bond_options": options if bond is not None else None,
        "ipv4": ip_summary(connection.get_setting_ip4_config()),
        "ipv6": ip_summary(connection.get_setting_ip6_config()),
    }


def validate(GLib, GObject, NM, path):
    result = {"file": path, "ok": False, "error": None, "warnings": [], "unknown_keys": []}

    def handler(keyfile, connection, handler_type, data, user_data):
        if handler_type == NM.KeyfileHandlerType.WARN:
            message = data.warn_get()[0]
            context = data.get_context()
            result["warnings"].append(f"{context[0]}.{context[1]}: {message}")
        return False

    keyfile = GLib.KeyFile()
    try:
        keyfile.load_from_file(path, GLib.KeyFileFlags.NONE)
        connection = NM.keyfile_read(keyfile, os.path.dirname(os.path.abspath(path)),
                                     NM.KeyfileHandlerFlags.NONE, handler, None)
        connection.verify()
        connection.normalize()
    except GLib.Error as err:
        result["error"] = err.message
        return result
    result["unknown_keys"] = unknown_keys(GObject, NM, keyfile)
    result.update(summary(NM, connection))
    result["ok"] = not result["warnings"] and not result["unknown_keys"]
    return result


def keyfiles(args):
    for arg in args:
        if os.path.isdir(arg):
            for name in sorted(os.listdir(arg)):
                if name.endswith(".nmconnection"):
                    yield os.path.join(arg, name)
        else:
            yield arg


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return EXIT_USAGE
    GLib, GObject, NM = load_nm()
    if argv == ["--probe"]:
        print(json.dumps({"libnm": f"{NM.MAJOR_VERSION}.{NM.MINOR_VERSION}.{NM.MICRO_VERSION}",
                          "python": sys.executable}))
        return 0
    results = [validate(GLib, GObject, NM, path) for path in keyfiles(argv)]
    print(json.dumps(results, indent=1, sort_keys=True))
    return 0 if results and all(r["ok"] for r in results) else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
