"""The allocator setting `footage serve` makes: a request body's chunks (up to ~256 KiB each) come from the
heap's free lists, not from a fresh mmap each that the kernel must fault in and zero page by page."""

from __future__ import annotations

import subprocess
import sys

CHUNKS = 2000
PROGRAM = f"""
import resource, threading
from app.core.allocator import pin_mmap_threshold
assert pin_mmap_threshold()
def churn():
    for n in range({CHUNKS}):
        chunk = bytes(bytearray(252 * 1024 + n % 7))  # a body chunk: allocated, copied, freed
        del chunk
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
worker = threading.Thread(target=churn)
worker.start()
worker.join()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_body_sized_chunks_do_not_fault_in_fresh_pages_each_time() -> None:
    faults = int(subprocess.run([sys.executable, "-c", PROGRAM], check=True, capture_output=True, text=True).stdout)
    # Mapped afresh, each chunk would cost about 63 faults (126,000 in all); from the heap, a few hundred.
    assert faults < CHUNKS, faults
