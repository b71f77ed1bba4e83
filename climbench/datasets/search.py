"""JSON queries of provider search APIs (Zenodo records, ESGF search, NASA CMR), with the
same retries and clear errors as file downloads."""

from __future__ import annotations

import time
from typing import Any

import requests

from climbench.errors import DataFileError


def get_json(
    session: requests.Session,
    url: str,
    params: dict[str, Any],
    *,
    retries: int = 4,
    backoff_s: float = 0.5,
    timeout_s: float = 60.0,
) -> Any:
    """``GET url?params`` as JSON; 5xx, 429 and connection errors are retried."""
    return get_json_response(
        session, url, params, retries=retries, backoff_s=backoff_s, timeout_s=timeout_s
    )[0]


def get_json_response(
    session: requests.Session,
    url: str,
    params: dict[str, Any],
    *,
    retries: int = 4,
    backoff_s: float = 0.5,
    timeout_s: float = 60.0,
) -> tuple[Any, requests.Response]:
    """Like :func:`get_json`, also returning the response (for paging headers)."""
    for attempt in range(retries + 1):
        try:
            response = session.get(url, params=params, timeout=timeout_s)
        except (requests.ConnectionError, requests.Timeout) as err:
            if attempt == retries:
                raise DataFileError(
                    "cannot reach the search service",
                    path=url,
                    expected="a reachable server",
                    found=f"{type(err).__name__}: {err}",
                    hint="check the network, or point the card at another node with --endpoint",
                ) from err
        else:
            if response.status_code < 500 and response.status_code != 429:
                break
            if attempt == retries:
                break
        time.sleep(backoff_s * 2**attempt)
    if response.status_code != 200:
        raise DataFileError(
            "the search service refused the query",
            path=response.url,
            expected="HTTP 200 with JSON",
            found=f"HTTP {response.status_code}",
            hint="the card may be out of date (HTTP 404), or the service is down: try "
            "again later or use another endpoint with --endpoint",
        )
    try:
        return response.json(), response
    except ValueError as err:
        raise DataFileError(
            "the search service answered no JSON", path=response.url, found=response.text[:200]
        ) from err
