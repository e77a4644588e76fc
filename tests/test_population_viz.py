"""visualizations/population_viz.py runs headless and writes its two pictures."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# End-to-end runs of whole commands and scripts: on the main Python of .ci/run only (see setup.cfg).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def test_population_viz_writes_non_empty_pngs(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    script = REPO / "visualizations" / "population_viz.py"
    result = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"population_viz.py failed:\n{result.stderr[-2000:]}"
    for name in ("tuning_curves.png", "population_decoding.png"):
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size > 10_000, name
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 600 and image.height > 300, name
            assert np.asarray(image.convert("L")).std() > 10, f"{name} looks blank"
