"""draw_graph: rendered for real through Graphviz's `dot`, the SVG read back as XML."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("graphviz")

from tinygrad_opt import Value  # noqa: E402
from tinygrad_opt.cli import main  # noqa: E402
from tinygrad_opt.viz import draw_graph, graph  # noqa: E402
from tinygrad_opt.viz.examples import micrograd_expression, mlp_training_graph, neuron  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[1]


def render(dot) -> ET.Element:
    return ET.fromstring(dot.pipe(format="svg"))


def nodes(svg: ET.Element) -> dict[str, list[str]]:
    """Graphviz node name -> the lines of text drawn in it."""
    found = {}
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == "node":
            name = g.find(f"{SVG}title").text
            # Graphviz keeps runs of spaces by writing every second one as a no-break space.
            found[name] = [t.text.replace("\xa0", " ") for t in g.iter(f"{SVG}text")]
    return found


def edges(svg: ET.Element) -> list[str]:
    """Edges as 'tail->head' (Graphviz writes the title with an escaped arrow)."""
    return [g.find(f"{SVG}title").text for g in svg.iter(f"{SVG}g") if g.get("class") == "edge"]


def centre(svg: ET.Element, name: str) -> tuple[float, float]:
    """The mean of a node's text positions, in SVG coordinates (y grows downwards)."""
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == "node" and g.find(f"{SVG}title").text == name:
            points = [(float(t.get("x")), float(t.get("y"))) for t in g.iter(f"{SVG}text")]
            return float(np.mean([p[0] for p in points])), float(np.mean([p[1] for p in points]))
    raise KeyError(name)


def graph_size(root: Value) -> int:
    """How many distinct Values `root` depends on, itself included (an independent walk)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for parent in stack.pop()._prev:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return len(seen)


def values_by_label(svg: ET.Element) -> dict[str, list[str]]:
    return {lines[0]: lines for name, lines in nodes(svg).items() if name.startswith("v")}


# ---------------------------------------------------------------------- small graphs
def test_neuron_shows_labels_data_and_grads_from_the_closed_form():
    svg = render(draw_graph(neuron()))
    found = nodes(svg)
    values = [name for name in found if name.startswith("v")]
    ops = sorted(" ".join(found[name]) for name in found if name.startswith("op"))
    assert len(values) == 10  # x1 x2 w1 w2 b, x1*w1 x2*w2, their sum, n, o
    assert ops == ["*", "*", "+", "+", "tanh"]
    assert len(edges(svg)) == 5 + 9  # op -> its output, and every input -> its op
    # o = tanh(n), do/dn = 1 - o^2; d(x1*w1)/dx1 = w1 and so on.
    n = 2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432
    o = math.tanh(n)
    dn = 1 - o * o
    expected = {
        "o": (o, 1.0), "n": (n, dn), "b": (6.8813735870195432, dn),
        "x1": (2.0, -3.0 * dn), "w1": (-3.0, 2.0 * dn), "x2": (0.0, 1.0 * dn), "w2": (1.0, 0.0 * dn),
        "x1*w1": (-6.0, dn), "x2*w2": (0.0, dn), "x1*w1 + x2*w2": (-6.0, dn),
    }
    labelled = values_by_label(svg)
    assert set(labelled) == set(expected)
    for label, (data, grad) in expected.items():
        assert labelled[label][1:] == [f"data {data:.4f}", f"grad {grad:.4f}"], label
    assert labelled["o"][1] == "data 0.7071" and labelled["x1"][2] == "grad -1.5000"


def test_micrograd_readme_expression_gives_the_readme_numbers():
    labelled = values_by_label(render(draw_graph(micrograd_expression())))
    # The numbers micrograd's README prints for this expression.
    assert labelled["g"][1] == "data 24.7041"
    assert labelled["a"][2] == "grad 138.8338"
    assert labelled["b"][2] == "grad 645.5773"


def test_unlabelled_values_show_data_and_grad_and_show_grad_false_hides_grads():
    x = Value(3.0)
    y = (x * x).relu()
    y.backward()
    svg = render(draw_graph(y))
    found = nodes(svg)
    assert sorted(lines for name, lines in found.items() if name.startswith("v")) == [
        ["data 3.0000", "grad 6.0000"], ["data 9.0000", "grad 1.0000"], ["data 9.0000", "grad 1.0000"],
    ]
    assert found["op0"] == ["ReLU"] and found["op1"] == ["*"]
    assert found["v2"] == ["data 3.0000", "grad 6.0000"]  # x, reached last
    assert edges(svg).count("v2->op1") == 2  # x enters the product twice
    hidden = nodes(render(draw_graph(y, show_grad=False)))
    assert all(not line.startswith("grad") for lines in hidden.values() for line in lines)
    assert ["data 3.0000"] in hidden.values()


def test_small_tensors_are_printed_in_full_with_shape_and_dtype():
    w = Value(np.array([[0.5, -1.25, 2.0], [3.0, 0.125, -0.0625]], dtype=np.float32), label="w")
    loss = (w * 2).sum()
    loss.backward()
    lines = values_by_label(render(draw_graph(loss)))["w"]
    assert lines[1] == "data (2, 3) float32"
    assert lines[2:4] == ["[[ 0.5000, -1.2500,  2.0000],", " [ 3.0000,  0.1250, -0.0625]]"]
    assert lines[4] == "grad (2, 3) float32"
    assert lines[5:] == ["[[2.0000, 2.0000, 2.0000],", " [2.0000, 2.0000, 2.0000]]"]


def test_big_tensors_are_summarised_by_min_mean_max():
    data = np.random.default_rng(0).normal(size=(40, 5))
    x = Value(data, label="x")
    loss = (x * x).mean()
    loss.backward()
    lines = values_by_label(render(draw_graph(loss)))["x"]
    assert lines[1] == "data (40, 5) float64"
    assert lines[2] == f"min {data.min():.4f}  mean {data.mean():.4f}  max {data.max():.4f}"
    grad = 2 * data / data.size  # d mean(x^2) / dx
    assert lines[4] == f"min {grad.min():.4f}  mean {grad.mean():.4f}  max {grad.max():.4f}"


@pytest.mark.parametrize("label", ['a<b>"c" {d|e} & f', "<B>bold?</B>", "x\\ny \\l &amp; {|}", "]", "w[0]"])
def test_labels_render_literally_never_as_markup(label):
    x = Value(1.5, label=label)
    y = x * 2
    y.label = label + "!"
    svg_bytes = draw_graph(y).pipe(format="svg")
    svg = ET.fromstring(svg_bytes)  # still well-formed XML
    labelled = values_by_label(svg)
    assert labelled[label] == [label, "data 1.5000", "grad 0.0000"]
    assert labelled[label + "!"][0] == label + "!"


def test_control_characters_in_a_label_show_as_escapes():
    x = Value(1.5, label="a\x01b\tc")
    labelled = values_by_label(ET.fromstring(draw_graph(x).pipe(format="svg")))
    assert labelled["a\\x01b\\tc"][0] == "a\\x01b\\tc"


@pytest.mark.parametrize("label", ["C:\\Net\\Graph", "\\G \\E \\T \\H \\L \\N", "\\\\N", "a\\", "\\"])
def test_backslashes_render_literally_never_as_graphviz_escapes(label):
    x = Value(1.5, label=label)
    y = x * 2
    y.label = label + "!"
    y._op = label  # op names are drawn the same way
    drawn = nodes(render(draw_graph(y)))
    assert drawn["v1"][0] == label and drawn["v0"][0] == label + "!"
    assert drawn["op0"] == [label]


def test_very_long_labels_are_cut_with_an_ellipsis():
    limit = graph.MAX_LABEL_LENGTH
    x = Value(1.5, label="x" * 100_000)
    y = x * 2
    y.label = "ab" * 10_000 + "\\"
    y._op = "<" * 50_000  # each becomes a 4-character entity
    drawn = nodes(render(draw_graph(y)))
    assert drawn["v1"][0] == "x" * (limit - 1) + "…"
    assert drawn["v0"][0] == ("ab" * limit)[: limit - 1] + "…"
    assert drawn["op0"] == ["<" * (limit - 1) + "…"]
    short = Value(1.0, label="y" * limit)  # exactly the limit: kept whole
    assert nodes(render(draw_graph(short)))["v0"][0] == "y" * limit


def test_rankdir_puts_the_output_right_or_below():
    o = neuron()
    left_right = render(draw_graph(o, rankdir="LR"))
    top_bottom = render(draw_graph(o, rankdir="TB"))
    assert centre(left_right, "v0")[0] > centre(left_right, "op0")[0]  # o right of its tanh
    assert centre(top_bottom, "v0")[1] > centre(top_bottom, "op0")[1]  # o below (SVG y grows down)


# ---------------------------------------------------------------------- big graphs
def test_a_cut_graph_counts_what_it_left_out_by_hand():
    a = Value(1.0, label="a")
    b = a * 2  # the constant 2 is a Value too
    c = b + a
    found = nodes(render(draw_graph(c, max_nodes=1)))
    assert [name for name in found if name.startswith("v")] == ["v0"]
    assert found["more0"] == ["⋯ 3 more values"]  # b, a and the constant 2
    whole = nodes(render(draw_graph(c, max_nodes=4)))
    assert not [name for name in whole if name.startswith("more")]
    assert len([name for name in whole if name.startswith("v")]) == 4


def test_mlp_training_graph_is_summarised_with_bounded_work(monkeypatch):
    loss = mlp_training_graph(n_points=100)
    loss.backward()
    total = graph_size(loss)
    assert total > 60_000  # micrograd's MLP training graph

    formatted = []
    describe = graph.describe
    monkeypatch.setattr(graph, "describe", lambda name, x: formatted.append(name) or describe(name, x))
    dot = draw_graph(loss, max_nodes=200)
    assert len(formatted) == 2 * 200  # data and grad of the kept Values only

    svg = render(dot)
    found = nodes(svg)
    kept = [name for name in found if name.startswith("v")]
    placeholders = [lines for name, lines in found.items() if name.startswith("more")]
    ops = [name for name in found if name.startswith("op")]
    assert len(kept) == 200 and 1 <= len(placeholders) <= 200 and len(ops) <= 200
    assert len(found) <= 3 * 200
    left_out = [int(re.fullmatch(r"⋯ ([\d,]+) more values?", lines[0])[1].replace(",", "")) for lines in
                placeholders]
    assert 200 + sum(left_out) == total  # every Value is drawn or counted, once
    caption = " ".join(t.text for t in svg.iter(f"{SVG}text") if t.text and t.text.startswith("showing"))
    assert f"of {total:,}" in caption and f"{total - 200:,}" in caption
    assert found["v0"] == [f"data {loss.data:.4f}", "grad 1.0000"]  # the output is kept


def test_a_deep_chain_needs_no_recursion():
    x = Value(0.0, label="start")
    for _ in range(100_000):
        x = x + 1.0  # each step adds a constant leaf and a result: 200,001 Values, 100,000 deep
    found = nodes(render(draw_graph(x, max_nodes=20)))
    assert len([name for name in found if name.startswith("v")]) == 20
    # Breadth first from the output: x_n, then (x_n-1, 1.0), (x_n-2, 1.0), ... so the 20th Value
    # kept is x_n-10; the constant beside it and everything behind it are left out.
    counts = sorted(lines[0] for name, lines in found.items() if name.startswith("more"))
    assert counts == ["⋯ 1 more value", "⋯ 199,980 more values"]


# --------------------------------------------------------------------- the interface
def test_the_engine_has_no_draw_method():  # one way to draw: viz.draw_graph
    assert not hasattr(neuron(), "draw")


def test_the_digraph_displays_inline_and_renders_to_a_file(tmp_path):
    dot = draw_graph(neuron(), format="png")
    assert "image/svg+xml" in dot._repr_mimebundle_()  # what Jupyter shows
    written = Path(dot.render(tmp_path / "neuron"))
    assert written.suffix == ".png" and written.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"root": 3.0}, TypeError, "needs a Value, got float"),
        ({"rankdir": "sideways"}, ValueError, "rankdir must be one of LR, RL, TB, BT, got 'sideways'"),
        ({"max_nodes": 0}, ValueError, "max_nodes must be an int >= 1, got 0"),
        ({"max_nodes": True}, ValueError, "max_nodes must be an int >= 1, got True"),
        ({"format": "svgz!"}, ValueError, "got 'svgz!'"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    arguments = {"root": Value(1.0), **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        draw_graph(**arguments)


def test_cli_graph_writes_each_example(tmp_path, capsys):
    assert main(["graph", "--out", str(tmp_path / "neuron.svg")]) == 0
    assert values_by_label(ET.parse(tmp_path / "neuron.svg").getroot())["o"][1] == "data 0.7071"
    assert main(["graph", "--example", "micrograd", "--out", str(tmp_path / "readme.svg")]) == 0
    assert values_by_label(ET.parse(tmp_path / "readme.svg").getroot())["g"][1] == "data 24.7041"
    assert "readme.svg" in capsys.readouterr().out
    assert main(["graph", "--out", str(tmp_path / "graph.txt")]) == 2
    assert "must end in .svg, .png or .pdf" in capsys.readouterr().err


def test_importing_the_package_needs_neither_graphviz_nor_matplotlib():
    code = (
        "import sys, tinygrad_opt, tinygrad_opt.cli\n"
        "a = 'graphviz' in sys.modules, 'matplotlib' in sys.modules\n"
        "import tinygrad_opt.viz\n"
        "print(a, 'matplotlib' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["(False,", "False)", "False"]
