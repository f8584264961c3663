"""Operator scripts: the fleet supervisor and demo launcher (``fleet.py``), test runner, systemd units."""
