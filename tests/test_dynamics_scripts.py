"""The single-unit dynamics scripts run headless and write their pictures (visualizations/*_viz.py)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

# End-to-end runs of whole commands and scripts: on the main Python of .ci/run only (see setup.cfg).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script, pictures", [
    ("LIF_viz.py", ["lif_dynamics.png"]),
    ("ALIF_viz.py", ["alif_adaptation.png"]),
    ("synapse_viz.py", ["synapse_dynamics.png"]),
])
def test_script_writes_non_empty_png(tmp_path, script, pictures):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                                                     os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, str(REPO / "visualizations" / script), "--out", str(tmp_path / "out")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{script} failed:\n{result.stderr[-2000:]}"
    for name in pictures:
        path = tmp_path / "out" / name
        assert path.is_file(), f"{script} did not write {name}; it printed:\n{result.stdout}"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
