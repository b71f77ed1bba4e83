"""HTML rendering for the site: the jinja2 environment and what makes user strings safe.

- autoescape is on for every template, so a model name like ``<script>`` is text;
- :func:`script_json` embeds data in ``<script type="application/json">``: JSON with
  ``<``, ``>``, ``&`` and U+2028 / U+2029 escaped, so no string can close the script
  element or break a JavaScript parser;
- :func:`safe_url` lets through ``http(s)://`` links only (no ``javascript:``, ``data:``
  or ``file:``).
"""

from __future__ import annotations

import json
import math
import re

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_URL = re.compile(r"^https?://[^\s<>\"']+$")


def script_json(data: object) -> Markup:
    """``data`` as JSON safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char, escape in _ESCAPES.items():
        text = text.replace(char, escape)
    return Markup(text)


def safe_url(url: object) -> str:
    """``url`` when it is an http(s) URL, else the empty string."""
    return str(url) if isinstance(url, str) and _URL.match(url) else ""


def number(value: object, digits: int = 4) -> str:
    """A score for display (``-`` when missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{float(value):.{digits}g}"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("climbench.leaderboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["script_json"] = script_json
    env.filters["safe_url"] = safe_url
    env.filters["number"] = number
    return env
