"""spikingnn: spiking neural networks from scratch, in NumPy, SciPy and Numba.

Read the package like a textbook, floor by floor: ``params`` and ``encoding`` (raw material), ``neurons`` and
``synapses`` (one unit), ``groups`` (populations), ``network`` (networks), ``stdp`` and ``training``
(learning), ``plotting`` and ``cli`` (faces).
"""
__version__ = "0.1.0"
