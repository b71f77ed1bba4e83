"""Provider APIs on the loopback file server (routes of :class:`FileServer`):

- :class:`CDSLegacy`: the Climate Data Store retrieve protocol that the real ``cdsapi``
  client speaks with a ``UID:KEY`` key: ``POST /api/resources/<dataset>`` (basic auth)
  answers ``queued`` with a request id, ``GET /api/tasks/<id>`` answers ``completed`` with
  the result's location and length, ``DELETE /api/tasks/<id>`` removes it; the result is a
  real file served by the file server.
- :func:`json_route`: a fixed JSON document for a path (a Zenodo record, ESGF search);
  :class:`ESGFSearch` filters file records by the query's facets.
- :class:`CMRSearch`: NASA CMR granule search in UMM-JSON, paged with
  ``CMR-Search-After``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse


def send_json(handler: BaseHTTPRequestHandler, status: int, data, headers: dict | None = None):
    body = json.dumps(data).encode()
    handler._answer(status, body, {"Content-Type": "application/json", **(headers or {})})


def json_route(document):
    """A route answering ``document`` as JSON."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        send_json(handler, 200, document)

    return route


@dataclass
class CDSLegacy:
    """The CDS retrieve protocol for one result file (``result``: its path on the server)."""

    base: str
    result: str
    size: int
    key: str = "12345:secret"
    polls_before_done: int = 1
    requests: list[dict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlparse(handler.path).path
        auth = handler.headers.get("Authorization", "")
        if auth != "Basic " + base64.b64encode(self.key.encode()).decode():
            send_json(handler, 401, {"message": "Authentication failed", "reason": "bad key"})
            return
        if handler.command == "POST" and path.startswith("/api/resources/"):
            length = int(handler.headers.get("Content-Length", 0))
            request = json.loads(handler.rfile.read(length) or b"{}")
            self.requests.append({"dataset": path.rsplit("/", 1)[1], **request})
            rid = f"req-{len(self.requests)}"
            send_json(handler, 202, {"state": "queued", "request_id": rid})
        elif handler.command == "GET" and path.startswith("/api/tasks/"):
            rid = path.rsplit("/", 1)[1]
            if self.polls_before_done > 0:
                self.polls_before_done -= 1
                send_json(handler, 200, {"state": "running", "request_id": rid})
                return
            send_json(
                handler,
                200,
                {
                    "state": "completed",
                    "request_id": rid,
                    "location": f"{self.base}/{self.result}",
                    "content_length": self.size,
                    "content_type": "application/x-netcdf",
                },
            )
        elif handler.command == "DELETE" and path.startswith("/api/tasks/"):
            self.deleted.append(path.rsplit("/", 1)[1])
            send_json(handler, 200, {})
        else:
            send_json(handler, 404, {"message": f"no such endpoint {path}"})


@dataclass
class ESGFSearch:
    """ESGF ``esg-search/search`` over a list of file records (Solr JSON)."""

    records: list[dict]
    queries: list[dict] = field(default_factory=list)

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        query = {k: v[0] for k, v in parse_qs(urlparse(handler.path).query).items()}
        self.queries.append(query)
        facets = ("source_id", "experiment_id", "member_id", "table_id", "variable_id")
        docs = [
            r
            for r in self.records
            if all(r.get(f, [None])[0] in query[f].split(",") for f in facets if f in query)
        ]
        send_json(handler, 200, {"response": {"numFound": len(docs), "docs": docs}})


@dataclass
class CMRSearch:
    """CMR ``granules.umm_json``: the records, ``page_size`` per page."""

    items: list[dict]
    page_size: int = 2
    queries: list[dict] = field(default_factory=list)

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        query = {k: v[0] for k, v in parse_qs(urlparse(handler.path).query).items()}
        self.queries.append(query)
        start = int(handler.headers.get("CMR-Search-After") or 0)
        page = self.items[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(self.items):
            headers["CMR-Search-After"] = str(start + self.page_size)
        send_json(handler, 200, {"hits": len(self.items), "items": page}, headers)
