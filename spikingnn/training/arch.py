"""Architecture strings: a spiking network's layers in the notation of the field, e.g. ``12C5-MP2-64C5-MP2-FC10``.

Stages are separated by ``-``; each one is a projection (a convolution or a dense layer), optionally a pooling of
its current, and then a layer of spiking neurons (``conv.py``, ``layers.py``):

* ``{F}C{k}``: a convolution with F filters of k x k (stride 1, no padding); ``S{s}`` and ``P{p}`` after it set the
  stride and the zero padding, e.g. ``32C3P1`` (same size) or ``16C3S2`` (half size);
* ``MP{p}``, ``AP{p}``, ``SP{p}``: max, average or sum pooling of p x p with stride p of the convolution's current,
  before its neurons (snnTorch's tutorial-6 network ``lif(max_pool2d(conv(x)))``); only right after a convolution;
* ``FC{n}``: a dense layer of n neurons; the maps below it are flattened (channels-last order, ``(H, W, C)``).

The last stage is the output layer, ``FC{number of classes}``; convolutions come before the first dense layer.
``parse_arch`` reads a string into ``Stage`` records, ``arch_shapes`` follows an input shape (H, W, C) through them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_ARCH_CHARS = 256       # an architecture string (from a model file or a command line) is refused beyond this
MAX_KERNEL = 32            # convolution size k, stride, padding and pooling size are at most this
MAX_STAGES = 17            # 16 hidden layers and the output, as SNNClassifier's hidden
MAX_UNITS = 1 << 16        # filters of a convolution, neurons of a dense layer, neurons of any layer

_CONV = re.compile(r"(\d+)C(\d+)(?:S(\d+))?(?:P(\d+))?")
_POOL = re.compile(r"(MP|AP|SP)(\d+)")
_DENSE = re.compile(r"FC(\d+)")
_POOL_KINDS = {"MP": "max", "AP": "avg", "SP": "sum"}


@dataclass(frozen=True)
class Stage:
    """One layer: a convolution ('conv': ``units`` filters of ``size`` x ``size``) or a dense projection ('dense':
    ``units`` neurons), the pooling of a convolution's current (``pool`` 'max', 'avg', 'sum' or None, ``pool_size``),
    then the neurons."""

    kind: str
    units: int
    size: int = 0
    stride: int = 1
    padding: int = 0
    pool: str | None = None
    pool_size: int = 0

    @property
    def code(self) -> str:
        """The stage written back in the notation, e.g. '12C5-MP2', '32C3P1' or 'FC10'."""
        if self.kind == "dense":
            return f"FC{self.units}"
        code = f"{self.units}C{self.size}" + f"S{self.stride}" * (self.stride != 1)
        code += f"P{self.padding}" * (self.padding > 0)
        pool = {kind: token for token, kind in _POOL_KINDS.items()}.get(self.pool)
        return code + (f"-{pool}{self.pool_size}" if pool else "")


def _number(text: str, name: str, token: str, low: int, high: int) -> int:
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"arch: the {name} of {token!r} must be in [{low}, {high}]; got {value}")
    return value


def parse_arch(arch: str) -> tuple:
    """The stages of an architecture string (see the module docstring), checked: a ``ValueError`` names the part
    that is wrong and what is accepted."""
    if not isinstance(arch, str) or not 0 < len(arch) <= MAX_ARCH_CHARS:
        raise ValueError(f"arch must be a string of 1 to {MAX_ARCH_CHARS} characters such as "
                         f"'12C5-MP2-64C5-MP2-FC10'; got {str(arch)[:80]!r}")
    stages = []
    for token in arch.upper().split("-"):
        if match := _CONV.fullmatch(token):
            if stages and stages[-1].kind == "dense":
                raise ValueError(f"arch: the convolution {token!r} comes after a dense layer; convolutions come first")
            filters = _number(match[1], "number of filters", token, 1, MAX_UNITS)
            size = _number(match[2], "kernel size", token, 1, MAX_KERNEL)
            stride = _number(match[3] or "1", "stride", token, 1, MAX_KERNEL)
            padding = _number(match[4] or "0", "padding", token, 0, size - 1)
            stages.append(Stage("conv", filters, size, stride, padding))
        elif match := _POOL.fullmatch(token):
            if not stages or stages[-1].kind != "conv" or stages[-1].pool:
                raise ValueError(f"arch: the pooling {token!r} must come right after a convolution (one for each)")
            pool_size = _number(match[2], "pooling size", token, 1, MAX_KERNEL)
            last = stages.pop()
            stages.append(Stage("conv", last.units, last.size, last.stride, last.padding, _POOL_KINDS[match[1]],
                                pool_size))
        elif match := _DENSE.fullmatch(token):
            stages.append(Stage("dense", _number(match[1], "width", token, 1, MAX_UNITS)))
        else:
            raise ValueError(f"arch: {token!r} is not a layer; expected e.g. 12C5 (filters C size, optionally S stride "
                             f"P padding), MP2 / AP2 / SP2 (pooling) or FC10 (dense)")
        if len(stages) > MAX_STAGES:
            raise ValueError(f"arch: at most {MAX_STAGES} layers; got more")
    if stages[-1].kind != "dense":
        raise ValueError(f"arch must end with the output layer FC<number of classes>; got {arch!r}")
    return tuple(stages)


def arch_shapes(stages: tuple, input_shape: tuple) -> list:
    """The shape of each stage's output, (H, W, C) for a convolution or (n,) for a dense layer, from the input's
    (H, W, C); a ``ValueError`` if a map shrinks to nothing or a layer exceeds MAX_UNITS neurons."""
    shapes, shape = [], tuple(input_shape)
    for k, stage in enumerate(stages):
        if stage.kind == "dense":
            shape = (stage.units,)
        else:
            height, width = ((n + 2 * stage.padding - stage.size) // stage.stride + 1 for n in shape[:2])
            if stage.pool:
                height, width = height // stage.pool_size, width // stage.pool_size
            if min(height, width) < 1:
                raise ValueError(f"arch: layer {k + 1} ({stage.units}C{stage.size}) leaves no output for a map of "
                                 f"{shape[0]} x {shape[1]}; use a smaller kernel, stride or pooling, or padding")
            shape = (height, width, stage.units)
        if math.prod(shape) > MAX_UNITS:
            raise ValueError(f"arch: layer {k + 1} has {math.prod(shape)} neurons ({shape}); at most {MAX_UNITS}")
        shapes.append(shape)
    return shapes
