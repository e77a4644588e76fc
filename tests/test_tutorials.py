"""The course in examples/tutorials: numbered notebooks, stored with their pictures, listed in order, and re-run.

The quick checks read the .ipynb files as JSON; the slow ones execute every notebook in a fresh kernel (nbclient)
and compare its outputs' kinds with the stored ones, so a stored notebook cannot go stale unnoticed.
"""
import json
import re
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parent.parent / "examples" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _source(cell) -> str:
    return "".join(cell["source"])


def _images_per_cell(cells) -> list:
    return [sum("image/png" in output.get("data", {}) for output in cell.get("outputs", [])) for cell in cells]


def test_the_notebooks_are_numbered_one_after_another():
    assert [int(path.name[:2]) for path in NOTEBOOKS] == list(range(1, len(NOTEBOOKS) + 1))
    assert len(NOTEBOOKS) >= 6


def test_the_readme_links_every_notebook_in_order():
    links = re.findall(r"\]\(([0-9][0-9]_[^)]+\.ipynb)\)", (TUTORIALS / "README.md").read_text())
    assert links == [path.name for path in NOTEBOOKS]


def test_the_main_readme_lists_every_notebook_in_order():
    readme = (TUTORIALS.parent.parent / "README.md").read_text()
    links = re.findall(r"\]\(examples/tutorials/([0-9][0-9]_[^)]+\.ipynb)\)", readme)
    assert links == [path.name for path in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_each_notebook_uses_the_package_shows_pictures_and_ends_with_exercises(path):
    cells = _cells(path)
    code = "\n".join(_source(cell) for cell in cells if cell["cell_type"] == "code")
    assert re.search(r"^(import|from) spikingnn", code, re.M), "uses the package, does not re-implement it"
    assert re.search(r"^SCALE = ", code, re.M), "a variable at the top scales it up"
    assert sum(_images_per_cell(cells)) >= 2, "stored with its pictures (run it and save the outputs)"
    counts = [cell.get("execution_count") for cell in cells if cell["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), "stored after one run from top to bottom"
    last = cells[-1]
    assert last["cell_type"] == "markdown" and "Exercises" in _source(last)
    assert 2 <= len(re.findall(r"^\d\. ", _source(last), re.M)) <= 3


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_each_notebook_runs_and_draws_what_it_stored(path):
    """Executed top to bottom in a fresh kernel: no error, and a picture in each cell that stored one."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(path, as_version=4)
    if any("spikingnn.nir" in _source(cell) for cell in notebook.cells if cell.cell_type == "code"):
        pytest.importorskip("nir")                      # the optional NIR chapter: pip install spikingnn[nir]
    stored = _images_per_cell(notebook.cells)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(TUTORIALS)}}).execute()
    assert _images_per_cell(notebook.cells) == stored
