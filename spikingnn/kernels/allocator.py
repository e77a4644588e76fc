"""Keep freed memory in the process, so that the kernels' arrays of the next batch do not start from new pages.

A training step allocates a few arrays of ~1 MiB per layer ((T, B, H) float32: 25 x 128 x 100 x 4 bytes) and frees
them at its end. glibc's malloc serves blocks above ``M_MMAP_THRESHOLD`` (128 KiB at first) with fresh ``mmap``
pages and gives them back to the kernel on ``free``, and it trims the top of its heap above ``M_TRIM_THRESHOLD``;
the next batch then faults in, and the kernel zeroes, every page again. That costs more than the arithmetic: on
this project's 2-core virtual machine a neuron kernel took 2.0 ms on a freshly allocated input and 0.35 ms on a
reused one (``benchmarks/cold_start_memory.py`` shows the training step's memory). Raising both thresholds keeps
the freed blocks in the heap for reuse. The mmap threshold cannot go above 32 MiB, and long sequences make larger
arrays (a recurrent layer at T = 2250, B = 64, H = 100: 58 MB each; its kernels ran 1.3-2.8x slower on fresh pages),
so ``M_MMAP_MAX`` = 0 also serves those from the heap. The process's peak memory is unchanged; its resident memory
stays near that peak instead of falling after each batch, and the heap's top is given back beyond 1 GiB free.

Linux with glibc only (elsewhere nothing is done). An explicit ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_MMAP_MAX_`` in the environment wins, as for any glibc program, except the
value that dask's nanny gives every worker, which a sweep's trial overrides (``sweep.keep_freed_memory_despite_dask``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4      # mallopt's parameter numbers (malloc.h)
MMAP_THRESHOLD = 32 * 2**20      # glibc's largest value on 64-bit (HEAP_MAX_SIZE / 2); M_MMAP_MAX covers the rest
TRIM_THRESHOLD = 2**30           # keep up to 1 GiB of freed heap


MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_MAX_")


def keep_freed_memory(environment_wins: bool = True) -> bool:
    """Raise glibc's mmap and trim thresholds, serve large blocks from the heap too (see the module docstring).
    ``environment_wins`` False: even where the environment sets one of glibc's MALLOC_* variables (for a caller that
    knows who put it there: ``sweep``). Returns whether it was done."""
    set_by_environment = any(name in os.environ for name in MALLOC_VARIABLES)
    if not sys.platform.startswith("linux") or (environment_wins and set_by_environment):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):       # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(parameter, value) for parameter, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_MMAP_MAX, 0)))
