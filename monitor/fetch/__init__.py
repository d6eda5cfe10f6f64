"""Fetching: one guarded, bounded HTTP client (client), the SSRF guard (guard), body decoding (decode)."""

from monitor.fetch.client import Fetcher, FetchResult, Validators, parse_retry_after
from monitor.fetch.decode import decode_body
from monitor.fetch.guard import check_url, is_public_address

__all__ = [
    "FetchResult",
    "Fetcher",
    "Validators",
    "check_url",
    "decode_body",
    "is_public_address",
    "parse_retry_after",
]
