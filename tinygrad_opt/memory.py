"""Keeping the memory a training step frees for the next step, instead of handing it back.

A training step builds a graph of arrays (a small GPT's holds about 100 MB) and frees all of
it at the end; the next step builds the same again. On Linux, glibc's malloc hands the freed
top of its heap back to the system as soon as it is larger than a threshold it sets itself
(about twice the largest array it has freed), so every step then takes its memory back from
the system page by page. Measured with `benchmarks/profile_gpt.py`, nanoGPT's CPU
configuration: 10,500 page faults and 54.8 ms a step, against 58 faults and 38.4 ms with the
memory kept. NumPy does the like for its own arrays (it asks the kernel for huge pages).

So when the package is imported, `keep_freed_memory` asks glibc to keep up to
`KEEP_FREED_BYTES` of freed memory and to serve arrays up to `HEAP_ARRAYS_UP_TO` from its heap
(its own ceiling for the threshold it adapts). A process that sets glibc's malloc itself
(`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TOP_PAD_`, or malloc tunables in
`GLIBC_TUNABLES`) is left as it is, and so is any other C library.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

KEEP_FREED_BYTES = 256 << 20
HEAP_ARRAYS_UP_TO = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters, from glibc's <malloc.h>
_GLIBC_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for this process (above); return whether it did.

    False where the C library is not glibc, or where the process has set glibc's malloc itself.
    """
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if any(name in os.environ for name in _GLIBC_SETTINGS) or "glibc.malloc" in tunables:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    heap_arrays = mallopt(_M_MMAP_THRESHOLD, HEAP_ARRAYS_UP_TO)
    return bool(heap_arrays and mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))
