"""The package's front door: every public name importable from ``spikingnn``, and ``import spikingnn`` light."""
import subprocess
import sys

import pytest

import spikingnn


@pytest.mark.parametrize("name", spikingnn.__all__)
def test_every_public_name_is_importable_from_the_package(name):
    value = getattr(spikingnn, name)
    assert value.__name__ == name and value.__module__.startswith("spikingnn.")


def test_import_loads_neither_numba_nor_scipy():
    """The names load their modules on first use: importing the package alone (as the command line's error paths
    do) costs no Numba, SciPy or kernel start-up."""
    code = "import sys, spikingnn; print(sorted(m for m in ('numba', 'scipy', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'LIFNeuron'"):
        spikingnn.LIFNeuron  # noqa: B018
