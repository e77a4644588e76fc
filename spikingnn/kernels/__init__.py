"""The fast inner loops of spikingnn, one small module per concern.

Each module holds ``@numba.njit(cache=True)`` kernels, and beside each kernel its plain-NumPy reference
function, with the same arguments and the same results: read the reference to learn what a kernel does,
and the test that ties the two to trust it. Kernels trust their inputs; the classes that call them validate.
Kernels compile on their first call and are cached on disk, so importing spikingnn stays fast.
"""
from spikingnn.kernels.allocator import keep_freed_memory

keep_freed_memory()
