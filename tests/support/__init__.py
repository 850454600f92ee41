"""Test support code, not tests: metadata documents, NIC lists, running the CLI,
the stack scenarios and real-image roots. Import the module you need, e.g.
``from support.helpers import run_cli`` (conftest puts ``tests/`` on ``sys.path``).

``nm_validate.py`` is a script for Debian's ``/usr/bin/python3`` (it needs the
system's libnm bindings), run by path, never imported."""
