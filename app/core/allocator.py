"""Process-level tuning of glibc's allocator for a server that moves request bodies through in pieces.

uvicorn hands a request body over in chunks of up to ~256 KiB (uvloop reads them, uvicorn copies each twice).
glibc serves a block at or above its mmap threshold with an mmap of its own and unmaps it when freed; with the
threshold at 128 KiB every chunk was such a block, so each one cost fresh pages faulted in and zeroed by the
kernel: 1.07 million minor faults and 5.9 s of system time for a 1.1 GB resumable upload, more than the rest
of the API's work. The threshold is pinned at 1 MiB (which also stops glibc's dynamic raising): the chunks
come from the heap and its free lists, and the same upload takes a few thousand faults and 1.1-2.4 s. A trim
threshold of 2 MiB gives memory freed at the top of the heap back to the system beyond that. Uploads no
longer hold their parts in memory (they wait for S3 in temporary files, `multipart.SpooledPart`), so the
heap's share of a large upload is a few chunks; the benchmark's peak stayed under 150 MB (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
LARGE_BUFFER_BYTES = 1 << 20
TRIM_BYTES = 2 << 20

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
    done = bool(mallopt(M_MMAP_THRESHOLD, threshold)) and bool(mallopt(M_TRIM_THRESHOLD, max(TRIM_BYTES, threshold)))
    if not done:
        log.warning("mallopt was refused; body chunks may cost fresh pages and freed memory stay resident")
    return done
