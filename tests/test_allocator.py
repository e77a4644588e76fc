"""spikingnn.kernels.allocator: freed arrays stay in the process, so the next batch's arrays fault in no new pages."""
import subprocess
import sys

import pytest

FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from spikingnn.kernels.allocator import keep_freed_memory
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
np.ones(2**20)                          # 8 MiB once, so that the heap has grown before counting
before = faults()
for _ in range(20):     # a step's (T, B, H) arrays, 1.3 MB each, made and freed together
    arrays = [np.ones((25, 128, 100), np.float32) for _ in range(4)]
    del arrays
print(faults() - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True,
                         env={"PATH": "", "PYTHONPATH": ":".join(sys.path)})
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_arrays_are_reused_without_new_pages():
    """Without the setting, glibc hands some of the freed arrays back (it trims its heap) and the next ones fault in
    fresh pages (1,238 faults over the 20 rounds here, glibc 2.36); with it, none after the first round."""
    default, kept = _faults("default"), _faults("keep")
    assert default > 400, default
    assert kept < 50, kept


MAPPED = """
import ctypes, sys
import numpy as np
if sys.argv[1] == "keep":
    from spikingnn.kernels.allocator import keep_freed_memory
    assert keep_freed_memory()
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
arrays = [np.empty((2250, 64, 100), np.float32) for _ in range(4)]
print(libc.mallinfo2().hblkhd)          # bytes of the blocks that glibc serves by mmap (and unmaps on free)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_arrays_above_the_largest_mmap_threshold_come_from_the_heap_too():
    """A recurrent layer's (T, B, H) at T = 2250, B = 64, H = 100 is 58 MB, above the 32 MiB that M_MMAP_THRESHOLD
    allows: glibc maps each one and unmaps it on free; with M_MMAP_MAX = 0 the heap serves (and keeps) them."""
    mapped = {}
    for mode in ("default", "keep"):
        out = subprocess.run([sys.executable, "-c", MAPPED, mode], capture_output=True, text=True, check=True,
                             env={"PATH": "", "PYTHONPATH": ":".join(sys.path)})
        mapped[mode] = int(out.stdout.split()[-1])
    assert mapped["default"] >= 4 * 2250 * 64 * 100 * 4, mapped
    assert mapped["keep"] < 2**20, mapped


def test_an_explicit_environment_setting_wins(monkeypatch):
    from spikingnn.kernels.allocator import keep_freed_memory
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert keep_freed_memory() is False


DASK_WORKER = """
import resource, sys
import numpy as np
import spikingnn.kernels                 # the allocator stands aside: the environment sets MALLOC_TRIM_THRESHOLD_
from spikingnn.sweep import keep_freed_memory_despite_dask
if sys.argv[1] == "sweep":
    print(keep_freed_memory_despite_dask())
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
np.ones(2**20)
before = faults()
for _ in range(20):
    arrays = [np.ones((25, 128, 100), np.float32) for _ in range(4)]
    del arrays
print(faults() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
@pytest.mark.parametrize("trim, taken", [("65536", True), ("131072", False)])
def test_a_sweep_trial_takes_the_settings_over_dasks_environment_only(trim, taken):
    """dask's nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536, which the allocator respects at import;
    a sweep's trial takes the allocator's settings over that value (no new pages after the first round), not over
    a value of the user's own."""
    pytest.importorskip("distributed")
    runs = {}
    for mode in ("import only", "sweep"):
        out = subprocess.run([sys.executable, "-c", DASK_WORKER, mode], capture_output=True, text=True, check=True,
                             env={"PATH": "", "PYTHONPATH": ":".join(sys.path), "MALLOC_TRIM_THRESHOLD_": trim})
        runs[mode] = out.stdout.split()
    assert int(runs["import only"][-1]) > 400, runs
    assert runs["sweep"][0] == str(taken)
    assert (int(runs["sweep"][-1]) < 50) == taken, runs
