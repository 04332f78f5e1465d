"""Notebooks: every notebook of docs/notebooks/ runs top to bottom in a fresh Jupyter kernel, and
what the library returns displays as a picture there (no `%matplotlib`, no pyplot import)."""

import base64
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "docs" / "notebooks").glob("*.ipynb"))


def run(notebook, cwd, timeout=600):
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return notebook


def outputs_of(cell):
    """The display data of a cell: mime type -> content, merged over its outputs."""
    merged = {}
    for output in cell.outputs:
        assert output.output_type != "error", "".join(output.get("traceback", []))
        merged.update(output.get("data", {}))
    return merged


def test_there_are_notebooks():
    assert {path.stem for path in NOTEBOOKS} >= {"1_from_a_neuron_to_an_mlp", "2_optimizers_and_the_race",
                                                 "3_a_tiny_transformer"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_each_notebook_runs_top_to_bottom_in_a_fresh_kernel(path, tmp_path):
    notebook = run(nbformat.read(path, as_version=4), tmp_path)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code)
    for cell in code:
        data = outputs_of(cell)  # no cell ended in an error
        assert len(data.get("text/plain", "").splitlines()) <= 40, cell.source  # never hundreds of lines
    pictures = [cell for cell in code if {"image/png", "image/svg+xml", "text/html"} & set(outputs_of(cell))]
    assert pictures  # the story is told with pictures too


DISPLAY_CELLS = [
    "from tinygrad_opt.viz import backprop_page, draw_graph\n"
    "from tinygrad_opt.viz import plot_decision_boundary, plot_landscape, plot_losses",
    "plot_losses({'sgd': [1.0, 0.5, 0.2], 'adam': [1.0, 0.3, 0.1]})",
    "from tinygrad_opt.viz.examples import neuron\ndraw_graph(neuron())",
    "from tinygrad_opt.race import race, standard_racers\n"
    "result = race('himmelblau', standard_racers(0.005))\nresult",
    "result['Adam']",
    "plot_landscape(result.landscape, result)",
    "import numpy as np\nX = np.array([[0.0, 1.0], [1.0, 0.0]])\n"
    "plot_decision_boundary(lambda p: p[:, 0] - p[:, 1], X, np.array([-1, 1]))",
    "backprop_page(neuron())",
    "from tinygrad_opt.viz import plot_attention\n"
    "plot_attention(np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None])",
]


def test_rich_display_in_a_fresh_kernel(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in DISPLAY_CELLS])
    cells = run(notebook, tmp_path, timeout=300).cells
    shown = [outputs_of(cell) for cell in cells]
    for k in (1, 5, 6):  # the plots: a PNG, and a short text line beside it
        assert base64.b64decode(shown[k]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(shown[k]["text/plain"]) < 80
    assert shown[2]["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))  # draw_graph: SVG
    race_shown = shown[3]
    assert base64.b64decode(race_shown["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    text = race_shown["text/plain"].splitlines()
    assert text[0].startswith("race on himmelblau") and len(text) == 7  # the table, not 1,444 lines
    assert len(shown[4]["text/plain"].splitlines()) == 1  # one trajectory: one line
    assert shown[7]["text/html"].startswith("<iframe srcdoc=")  # the backprop page, inline
    assert base64.b64decode(shown[8]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"  # plot_attention too
