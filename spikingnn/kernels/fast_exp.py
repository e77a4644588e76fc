"""e^x written out, so that a compiled loop over a population can use the CPU's vector (SIMD) units.

Why it exists: compiled code calls the C library's ``exp`` one number at a time, and a loop containing such a
call is not vectorised. In the Diehl & Cook kernel the exact membrane step needs one exponential per neuron and
step (``decay_mem ** g_total``), and that call cost more than all the rest of a step. Written with additions,
multiplications and bit operations only, the same function compiles to 4 lanes at a time (AVX2).

The method is the classic one (Cody & Waite 1980; Muller, *Elementary Functions*, ch. 11):

    x = n ln 2 + r,   n = round(x / ln 2),  |r| <= ln(2) / 2
    e^x = 2^n e^r,    e^r = 1 + (r + r^2 Q(r)),  Q(r) = sum_{k=2}^{13} r^(k-2) / k!
                      (the first omitted term, r^14 / 14!, is < 2^-53 e^r)

Q is evaluated with Estrin's scheme (Knuth, *TAOCP* vol. 2, 4.6.4): pairs of coefficients first, then pairs of
pairs with r^2, r^4, r^8, so the chain of dependent multiply-adds is 5 long instead of Horner's 13. A loop over a
population is bound by that chain's latency, not by the number of operations (measured: Horner's chain was most
of the Diehl & Cook E layer's time). The 1 is added last, so the result is rounded once at full size.

``ln 2`` is split into a high part with trailing zero bits and a small correction, so that ``n ln2_hi`` is exact
and r keeps full precision. 2^n is built directly from its bits (exponent field n + 1023). The rounding of
x / ln 2 uses the "shifter" 1.5 * 2^52: adding it pushes the fraction out of a double's mantissa, leaving n in
its low bits. Within 2 units in the last place of ``numpy.exp`` for -708 <= x <= 709 (tests/test_fast_exp.py);
outside that range x is clamped, so the result saturates at e^-708 (about 3e-308) and e^709.

``exp`` is the name kernels use: in plain Python (the NumPy references) it *is* ``numpy.exp``; inside a Numba
kernel it compiles to ``fast_exp``. So a formula such as ``diehl_cook.membrane`` is written once and runs with
NumPy's exponential in the reference and the vectorisable one in the kernel.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic, overload

LN2_HI = 6.93147180369123816490e-01   # ln 2 rounded to 32 significant bits: n * LN2_HI is exact for |n| < 2^20
LN2_LO = 1.90821492927058770002e-10   # ln 2 - LN2_HI
INV_LN2 = 1.4426950408889634     # 1 / ln 2
SHIFTER = 1.5 * 2.0**52               # x + SHIFTER rounds x to an integer held in the low mantissa bits
X_MIN, X_MAX = -708.0, 709.0          # e^x stays a normal double in between
C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13 = (1.0 / math.factorial(k) for k in range(2, 14))


@intrinsic
def _float_bits(typingctx, x):
    """The 64 bits of a double, read as an int64 (no conversion: a register move)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, bits):
    """An int64's 64 bits read as a double."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@numba.njit(cache=True, inline="always", fastmath={"contract"})
def fast_exp(x):
    """e^x for one double (see the module docstring); clamped to [X_MIN, X_MAX]."""
    x = min(max(x, X_MIN), X_MAX)
    shifted = x * INV_LN2 + SHIFTER                  # n sits in the low bits of ``shifted``
    n = shifted - SHIFTER
    r = (x - n * LN2_HI) - n * LN2_LO
    r2 = r * r
    r4 = r2 * r2
    q = ((C2 + C3 * r) + (C4 + C5 * r) * r2) + ((C6 + C7 * r) + (C8 + C9 * r) * r2) * r4 \
        + ((C10 + C11 * r) + (C12 + C13 * r) * r2) * (r4 * r4)
    return (1.0 + (r + r2 * q)) * _bits_float((_float_bits(shifted) + 1023) << 52)


def exp(x):
    """e^x: ``numpy.exp`` when called from Python, ``fast_exp`` inside a compiled kernel."""
    return np.exp(x)


@overload(exp, jit_options={"cache": True, "fastmath": {"contract"}})
def _exp_in_kernels(x):
    if isinstance(x, types.Float):
        return lambda x: fast_exp(x)
    return None
