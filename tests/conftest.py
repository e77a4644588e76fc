"""Shared test set-up: headless plotting, no leaked figures, hypothesis tolerant of Numba compile time."""
import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# The first call of a Numba kernel compiles it (or loads it from the cache); that one slow example must not
# count as a hypothesis deadline failure.
settings.register_profile("spikingnn", deadline=None, max_examples=60)
settings.load_profile("spikingnn")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
