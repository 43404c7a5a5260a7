"""How the long-running kiosk process gives freed memory back to the system.

glibc serves a large allocation with its own mapping, and unmaps it when freed, only while the
allocation is above a threshold that it *raises* each time such a block is freed (up to 32 MB).
The kiosk frees big blocks all the time: model files read while loading, camera frames, texture
uploads, decoder buffers. After the first few, blocks of those sizes come from the heap instead,
and the heap cannot shrink past whatever small allocation lands above them. Fixing the threshold
keeps every block of 128 KiB or more in its own mapping, returned the moment it is freed: the
busy app's peak memory was about 80 MB lower with it (docs/benchmarks.md). It costs a fresh
mapping for each camera frame; the frame times measured the same.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger("kiosk.memory")

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
LARGE_BLOCK_BYTES = 128 * 1024  # glibc's own starting threshold


def return_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Fix glibc's mmap threshold for this process; False where that is not possible (another C
    library), which only costs memory. Affects allocations made after the call: call it first."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        log.debug("this C library has no mallopt: the heap keeps its own policy")
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1
