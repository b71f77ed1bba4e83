"""Loopback servers and stores for the download tests (127.0.0.1 only)."""
