"""What a failed background job on evidence says and how long it waits: the kind of problem (the recording itself,
evidence storage, the service), the failure's own words without paths, URLs or addresses (a presigned URL is a
credential; a path or host tells an outsider nothing they should know), and the wait before the next try, doubling
from one minute to at most six hours so a failing item neither hammers the service nor starves the others."""

from __future__ import annotations

import re
from datetime import timedelta

from minio.error import S3Error
from urllib3.exceptions import HTTPError

from app.core import media
from app.core.storage import StorageError

LONGEST_WAIT = timedelta(hours=6)
PROBLEMS = ("media", "storage", "internal")
# What the words must not carry: URLs, file paths, hosts and addresses.
_HIDDEN = re.compile(
    r"[a-z][a-z0-9+.-]*://\S+"  # a URL
    r"|(?<![\w.])/[^\s'\"]+"  # a path
    r"|host=(?:'[^']*'|\"[^\"]*\"|\S+)"  # urllib3's host='…'
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b",  # an IPv4 address
    re.IGNORECASE,
)


def problem_of(exc: BaseException) -> str:
    """What kind of problem stopped the job: the recording itself, evidence storage, or the service."""
    if isinstance(exc, media.MediaError):
        return "media"
    if isinstance(exc, StorageError | S3Error | HTTPError | ConnectionError):
        return "storage"  # the service's own storage errors, and the S3 client's and its connection's
    return "internal"


def technical_words(exc: BaseException) -> str:
    """The failure's own words for the custody log, without file paths, URLs or addresses."""
    text = _HIDDEN.sub("…", str(exc) or type(exc).__name__)
    return text if len(text) <= 500 else text[:497] + "…"


def wait_after(failures: int) -> timedelta:
    """How long a sweep leaves an item after its `failures`-th failure: doubling from one minute."""
    if failures <= 0:
        return timedelta(0)
    return min(timedelta(minutes=2 ** min(failures - 1, 16)), LONGEST_WAIT)
