"""The fast inner loops of spikingnn, one small module per concern.

Each module holds ``@numba.njit(cache=True)`` kernels, and beside each kernel its plain-NumPy reference
function, with the same arguments and the same results: read the reference to learn what a kernel does,
and the test that ties the two to trust it. Kernels trust their inputs; the classes that call them validate.
Kernels compile on their first call and are cached on disk, so importing spikingnn stays fast.
"""
import os

# No kernel here runs on OpenMP's threads any more (``threads.py``), but a user's own Numba ``parallel=True`` code or
# an OpenMP BLAS may: their threads spin between parallel regions by default, and on a busy machine (other processes,
# or these kernels' polling helpers, on the cores) each short parallel region then waits for a descheduled spinner,
# up to 80x slower on 2 shared cores. Passive waiting costs a few microseconds per region on an idle machine. Set
# here, before any kernel module imports numba and before OpenMP starts; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from spikingnn.kernels.allocator import keep_freed_memory  # noqa: E402  (after the OpenMP setting, on purpose)

keep_freed_memory()
