"""Process-level tuning of glibc's allocator for a server that moves large buffers.

Uploads pass through in multipart parts of several megabytes. glibc serves such blocks with mmap and, after
the first one is freed, raises its mmap threshold to that size ("dynamic threshold"), so later parts come
from the heap arenas of whichever threadpool thread touched them and stay resident after they are freed.
Pinning the threshold keeps every large buffer an mmap of its own, returned to the system on free: the
process's resident memory then follows what is alive, not what was once used. It is pinned at 128 KiB, not
higher: the server hands a request body over in chunks of 64–256 KiB, and below the threshold those chunks
came from the heap, where a part's worth of them (5 MiB, times the parts in flight) left the heap fragmented
and resident after they were freed (the resumable-upload benchmark's peak fell by about 10 MB with 128 KiB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
LARGE_BUFFER_BYTES = 128 << 10

log = logging.getLogger(__name__)


def pin_mmap_threshold(threshold: int = LARGE_BUFFER_BYTES) -> bool:
    """Fix glibc's mmap threshold (which also switches off its dynamic raising); False where not glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Few arenas: the threadpool's many threads otherwise each keep an arena of their own, with freed memory
    # scattered over all of them.
    mallopt(M_ARENA_MAX, 2)
    done = bool(mallopt(M_MMAP_THRESHOLD, threshold))
    if not done:
        log.warning("mallopt(M_MMAP_THRESHOLD) was refused; large buffers may stay resident after use")
    return done
