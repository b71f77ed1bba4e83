"""The climbench version and the one content digest every cache key and protocol uses."""

from __future__ import annotations

import hashlib
import json

__version__ = "0.1.0"


def json_sha256(obj: object) -> str:
    """sha256 (hex) of ``obj`` as canonical JSON (sorted keys; other objects as ``str``):
    the digest of a task protocol, a data folder key or a cache key."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
