"""The backprop page: its steps against the engine's backward, expressions, and the page in Chromium."""

import json
import re

import pytest

from tinygrad_opt import Value
from tinygrad_opt.cli import main
from tinygrad_opt.engine import topological_order
from tinygrad_opt.viz import backprop_page
from tinygrad_opt.viz.backprop import MAX_NODES, backprop_steps, expression_graph, local_derivatives
from tinygrad_opt.viz.examples import micrograd_expression, neuron


@pytest.mark.parametrize("make", [neuron, micrograd_expression])
def test_each_step_fills_one_node_with_the_engines_gradient(make):
    root = make()
    order, steps = backprop_steps(root)
    assert len(steps) == len(order) and sorted(step["node"] for step in steps) == list(range(len(order)))
    position = {step["node"]: k for k, step in enumerate(steps)}
    for step in steps:
        node = order[step["node"]]
        assert step["grad"] == pytest.approx(node.grad, rel=1e-12, abs=1e-12)  # what backward() gave
        for term in step["terms"]:
            assert position[term["from"]] < position[step["node"]]  # uses a gradient already filled in
            assert term["upstream"] == pytest.approx(order[term["from"]].grad, rel=1e-12)
            assert term["product"] == pytest.approx(term["local"] * term["upstream"])
    assert steps[0] == {"node": len(order) - 1, "terms": [], "grad": 1.0}


def test_local_derivatives_by_the_nodes_own_rule_leave_the_gradients_alone():
    x, y = Value(3.0, label="x"), Value(-2.0, label="y")
    z = x * y
    w = z.tanh()
    w.backward()
    before = [v.grad for v in (x, y, z, w)]
    assert local_derivatives(z) == [-2.0, 3.0]  # d(xy)/dx = y, d(xy)/dy = x
    assert local_derivatives(w) == [pytest.approx(1 - w.data**2)]
    assert [v.grad for v in (x, y, z, w)] == before
    square = x * x  # one input used twice: its local derivative is 2x
    assert local_derivatives(square) == [6.0]


def test_expressions_build_labelled_graphs_and_refuse_anything_else():
    root = expression_graph("tanh(x1*w1 + x2*w2 + b)",
                            {"x1": 2, "w1": -3, "x2": 0, "w2": 1, "b": 6.8813735870195432})
    assert root.data == pytest.approx(neuron().data) and root.label == "tanh(x1 * w1 + x2 * w2 + b)"
    leaves = {v.label: v.grad for v in topological_order(root) if not v._prev}
    assert leaves["w1"] == pytest.approx(1.0) and leaves["x1"] == pytest.approx(-1.5)
    for text, values, message in [
        ("x.y", {"x": 1}, "may use"),
        ("open('f')", {}, "may use"),
        ("x + z", {"x": 1}, "'z', which has no value"),
        ("x ** y", {"x": 1, "y": 2}, "exponent must be a number"),
        ("x +", {"x": 1}, "cannot read"),
        ("x", {"x": 1, "q": 2}, "'q' has a value but is not in"),
    ]:
        with pytest.raises(ValueError, match=message):
            expression_graph(text, values)


def test_big_or_tensor_graphs_are_refused_with_a_pointer_to_draw_graph():
    total = Value(0.0)
    for k in range(MAX_NODES):
        total = total + Value(float(k))
    with pytest.raises(ValueError, match="at most 60 Values.*draw_graph"):
        backprop_page(total)
    with pytest.raises(ValueError, match="scalar graphs.*tensor"):
        backprop_page((Value([1.0, 2.0]) * 3).sum())


def test_the_page_is_self_contained_and_shows_inline_in_jupyter():
    page = backprop_page(neuron())
    assert page.html.startswith("<!DOCTYPE html>") and page.steps == 10
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.html)
    inline = page._repr_html_()
    assert inline.startswith("<iframe srcdoc=\"&lt;!DOCTYPE html&gt;") and "<script>" not in inline
    assert "\n" not in repr(page)


def test_the_command_writes_the_neuron_or_an_expression(tmp_path, capsys):
    out = tmp_path / "backprop.html"
    assert main(["backprop", "--out", str(out)]) == 0
    assert "micrograd's neuron" in capsys.readouterr().out and out.read_text().startswith("<!DOCTYPE html>")
    other = tmp_path / "mine.html"
    expression = ["--expression", "x**2 * y + exp(y)", "--let", "x=3", "y=0.5"]
    assert main(["backprop", "--out", str(other), *expression]) == 0
    assert "backpropagated in" in capsys.readouterr().out
    data = json.loads(re.search(r"const DATA = (\{.*?\});\n", other.read_text()).group(1))
    assert data["nodes"][-1]["name"] == "x ** 2 * y + exp(y)"
    for argv, message in [(["--expression", "x*z", "--let", "x=1"], "'z', which has no value"),
                          (["--let", "x=1"], "there is no --expression"),
                          (["--out", str(tmp_path / "b.svg")], "--out must end in .html"),
                          (["--expression", "x", "--let", "x=two"], "--let takes NAME=NUMBER")]:
        assert main(["backprop", *argv]) == 2
        error = capsys.readouterr().err
        assert error.startswith("tinygrad-opt backprop: ") and message in error
        assert len(error.splitlines()) == 1


# ---------------------------------------------------------------- in a browser
def test_step_back_and_reset_walk_the_graph(tmp_path, browser):
    root = neuron()
    page_file = backprop_page(root).save(tmp_path / "backprop.html")
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_file.as_uri())
    order, steps = backprop_steps(root)
    known = page.locator(".grad:not(.unknown)")
    assert known.count() == 0 and page.text_content("#counter") == "step 0 / 10"
    seen = {page.inner_html("#graph")}
    for k, step in enumerate(steps, start=1):
        page.click("#step")
        assert known.count() == k  # one more node's gradient each click
        html = page.inner_html("#graph")
        assert html not in seen
        seen.add(html)
        node = page.locator(f"g.node[data-node='{step['node']}'] .grad")
        assert node.text_content() == f"grad {step['grad']:.4f}"
        active = page.locator("path.edge.active")
        assert active.count() == len(step["terms"])  # the edges the chain rule uses
        for term in step["terms"]:
            edge = f"path.edge.active[data-from='{step['node']}'][data-to='{term['from']}']"
            assert page.locator(edge).count() == 1
            assert f"{term['local']:.4f}" in page.text_content("#explain")
    assert page.is_disabled("#step")
    page.click("#back")
    assert known.count() == len(steps) - 1
    page.click("#reset")
    assert known.count() == 0 and page.is_disabled("#back")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    assert errors == []
    page.close()
