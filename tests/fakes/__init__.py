"""Reusable fake services for tests (each runs on 127.0.0.1 only)."""
