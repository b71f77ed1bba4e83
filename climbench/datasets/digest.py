"""Checksums computed while a file downloads, in a background thread.

``hashlib`` releases the GIL on large buffers, so hashing each block in a second thread
overlaps with reading the next one from the network: a verified download costs about what
a plain streaming read costs, and the file is not read back from disk to be hashed. A
resumed download hashes the partial file's bytes once, from disk, then continues with the
stream.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from pathlib import Path


class StreamDigest:
    """Digests (``sha256`` and, say, a provider's ``md5``) of the bytes fed in order."""

    def __init__(self, algorithms: tuple[str, ...] = ("sha256",)) -> None:
        self.algorithms = tuple(dict.fromkeys(algorithms))
        self.position = 0
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=256)
        self._digests: dict[str, hashlib._Hash] = {}

    def start_at(self, part: Path, offset: int) -> None:
        """Prepare to hash bytes from ``offset`` on: unless the digest already stands
        there, start anew and hash the first ``offset`` bytes of ``part`` from disk."""
        if self._thread is not None and self.position == offset:
            return
        self._finish()
        self._digests = {name: hashlib.new(name) for name in self.algorithms}
        self._queue = queue.Queue(maxsize=256)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self.position = 0
        if offset:
            with open(part, "rb") as f:
                while self.position < offset:
                    block = f.read(min(1 << 20, offset - self.position))
                    if not block:
                        break
                    self.update(block)

    def update(self, block: bytes) -> None:
        self._queue.put(block)
        self.position += len(block)

    def hexdigests(self) -> dict[str, str]:
        """The digests of everything fed (waits for the hashing thread)."""
        self._finish()
        return {name: d.hexdigest() for name, d in self._digests.items()}

    def _run(self) -> None:
        while (block := self._queue.get()) is not None:
            for digest in self._digests.values():
                digest.update(block)

    def _finish(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
