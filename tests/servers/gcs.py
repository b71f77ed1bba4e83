"""A GCS emulator (the pip package ``gcp-storage-emulator``) on 127.0.0.1, in memory, for
gcsfs reads with an endpoint URL (``$CLIMBENCH_GCS_ENDPOINT``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gcs_emulator(bucket: str) -> Iterator[str]:
    """Run the emulator with ``bucket``; yields its endpoint URL."""
    from gcp_storage_emulator.server import create_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=bucket)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
