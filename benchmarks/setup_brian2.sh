#!/usr/bin/env bash
# Create benchmarks/.venv-brian2: a virtualenv of its own for Brian2, used only by benchmarks/brian2_cuba.py.
#
# Brian2 2.9.0 (the newest for Python 3.11) fails to import with numpy >= 2.4, which spikingnn itself uses,
# so it never goes into the project's environment. Cython serves Brian2's 'cython' target; g++ (already on
# the machine) its 'cpp_standalone' target. Running this again does nothing when the venv is complete.
#
#   bash benchmarks/setup_brian2.sh            # then: benchmarks/.venv-brian2/bin/python benchmarks/brian2_cuba.py ...
#   PYTHON=python3.11 bash benchmarks/setup_brian2.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-brian2"
python="${PYTHON:-python3}"
requirements=("brian2==2.9.0" "numpy<2.4" "Cython" "setuptools")

check() {  # the venv is complete when brian2 2.9.0 imports beside Cython
    "$venv/bin/python" - <<'PY' 2>/dev/null
import brian2, Cython, numpy
assert brian2.__version__ == "2.9.0", brian2.__version__
print(f"brian2 {brian2.__version__}, numpy {numpy.__version__}, Cython {Cython.__version__}")
PY
}

if [ -x "$venv/bin/python" ] && check; then
    echo "Brian2 venv ready: $venv"
    exit 0
fi

if ! command -v g++ >/dev/null 2>&1; then
    echo "warning: g++ not found; Brian2's cython and cpp_standalone targets need a C++ compiler" >&2
fi

echo "creating $venv with: ${requirements[*]}"
"$python" -m venv "$venv"
if ! "$venv/bin/python" -m pip install --quiet "${requirements[@]}"; then
    echo "error: could not install ${requirements[*]} into $venv." >&2
    echo "       pip needs the package index (or wheels in a local --find-links folder); without them the" >&2
    echo "       Brian2 columns of benchmarks/cuba.py are skipped. Re-run this script once online." >&2
    exit 1
fi
check || { echo "error: brian2 installed but does not import in $venv" >&2; exit 1; }
echo "Brian2 venv ready: $venv"
