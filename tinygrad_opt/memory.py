"""Keeping the memory a training step frees for the next step, instead of handing it back.

A training step builds a graph of arrays (a small GPT's holds about 100 MB) and frees all of
it at the end; the next step builds the same again. On Linux, glibc's malloc hands the freed
top of its heap back to the system as soon as it is larger than a threshold it sets itself
(about twice the largest array it has freed), and then every step takes its memory back from
the system page by page: in nanoGPT's CPU configuration, 10,000 page faults and 60 ms a step,
against 60 faults and 41 ms after `keep_freed_memory()` (docs/performance.md, "Memory between
steps").

It is a setting of the whole process, so nothing here runs on import: a training script
calls it once, at its start (`demos/shakespeare_gpt.py` does).
"""

from __future__ import annotations

import ctypes
import os
import sys

KEEP_FREED_BYTES = 256 << 20
HEAP_ARRAYS_UP_TO = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters, from glibc's <malloc.h>
_GLIBC_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for this process; return whether glibc took it.

    Two of its settings change: the freed top of the heap is handed back to the system only
    beyond `KEEP_FREED_BYTES` (its trim threshold), and arrays up to `HEAP_ARRAYS_UP_TO` come
    from the heap (its mmap threshold, at the ceiling glibc itself adapts it to), whose freed
    space is reused rather than returned. Nothing changes, and False comes back, where the C
    library is not glibc or where the process has set glibc's malloc itself
    (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TOP_PAD_`, or malloc tunables
    in `GLIBC_TUNABLES`). With another allocator preloaded (jemalloc, tcmalloc) glibc takes the
    settings, and they do nothing.
    """
    if not sys.platform.startswith("linux") or not _glibc_version():
        return False
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if any(name in os.environ for name in _GLIBC_SETTINGS) or "glibc.malloc" in tunables:
        return False
    mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    heap_arrays = mallopt(_M_MMAP_THRESHOLD, HEAP_ARRAYS_UP_TO)
    return bool(heap_arrays and mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


def _glibc_version() -> str:
    """glibc's version as the C library reports it ("glibc 2.36"), or "" for another library."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError, AttributeError):  # not a name this system knows, or no confstr
        return ""
