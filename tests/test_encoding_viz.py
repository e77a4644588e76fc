"""visualizations/encoding_viz.py runs headless on the default brain icon and on a picture given with --image."""
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


def _run(tmp_path, *args):
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(REPO / "visualizations" / "encoding_viz.py"), "--out", str(out),
                             *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"encoding_viz.py failed:\n{result.stderr[-2000:]}"
    return out / "encoding.png"


def _assert_picture(path):
    assert path.is_file() and path.stat().st_size > 10_000
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 400
        assert np.asarray(image.convert("L")).std() > 10        # not a blank canvas


def test_default_brain_icon(tmp_path):
    assert (REPO / "data" / "brain_icon.png").is_file()
    _assert_picture(_run(tmp_path))


@pytest.mark.parametrize("latency_method", ["linear", "log"])
def test_any_picture_given_with_image(tmp_path, latency_method):
    ramp = np.linspace(0, 255, 40 * 60).reshape(40, 60).astype(np.uint8)
    Image.fromarray(np.stack([ramp, ramp[::-1], ramp], axis=-1)).save(tmp_path / "ramp.jpg")
    _assert_picture(_run(tmp_path, "--image", str(tmp_path / "ramp.jpg"), "--size", "16", "--steps", "20",
                         "--latency-method", latency_method))
