"""Backpropagation one node at a time: a self-contained page that fills in the gradients.

`backprop_page(value)` lays out the graph that computed a scalar `Value` and walks it
backwards in topological order. Each press of Step fills in one more node's gradient by the
chain rule: the gradient of each node it feeds (already known) times the local derivative of
that node with respect to it, summed over those nodes. The page highlights the edges used
and writes the products out; Back and Reset undo. Every number is computed here, in Python,
by the engine's own backward rules; the page's JavaScript only reveals them, one step at a
time. No network is needed: the page is one HTML file, and Jupyter shows it inline.

`expression_graph("tanh(x*w + b)", {"x": 2, "w": -3, "b": 6.88})` builds the graph of a small
expression for it (`tinygrad-opt backprop --expression ...`).
"""

from __future__ import annotations

import ast
import html
import json
import math
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from tinygrad_opt.engine import Value, topological_order

__all__ = ["backprop_page", "BackpropPage", "backprop_steps", "expression_graph", "MAX_NODES", "FUNCTIONS"]

MAX_NODES = 60  # a page of boxes a person can follow; larger graphs belong to draw_graph
FUNCTIONS = ("tanh", "exp", "log", "relu", "sigmoid", "sin", "cos", "sqrt", "abs")
BOX_WIDTH, BOX_HEIGHT, COLUMN, ROW = 150, 58, 200, 86  # the layout, in page pixels


def local_derivatives(node: Value) -> list[float]:
    """d node / d input for each of `node`'s inputs, by the node's own backward rule: run it
    with node.grad = 1 and the inputs' gradients at 0, read them, put every gradient back."""
    inputs = list(node._prev)
    saved = [parent.grad for parent in inputs], node.grad
    try:
        for parent in inputs:
            parent.grad = 0.0
        node.grad = 1.0
        node._backward()
        return [float(parent.grad) for parent in dict.fromkeys(inputs)]
    finally:
        for parent, grad in zip(inputs, saved[0], strict=True):
            parent.grad = grad
        node.grad = saved[1]


def backprop_steps(root: Value) -> tuple[list[Value], list[dict[str, Any]]]:
    """The graph's nodes (inputs first) and the walk backwards: one step a node, output first.

    Step 0 seeds the output with gradient 1; each later step gives one node its gradient as
    the sum over the nodes it feeds of (their gradient) x (their local derivative with respect
    to it). A node's step comes after the steps of every node it feeds (reverse topological
    order), so each term uses a gradient already filled in.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backprop_page needs a Value, got {type(root).__name__}")
    order = topological_order(root)
    if len(order) > MAX_NODES:
        raise ValueError(f"backprop_page shows graphs of at most {MAX_NODES} Values, this one has "
                         f"{len(order):,}: draw it with viz.draw_graph instead")
    for node in order:
        if type(node.data) is not float and getattr(node.data, "ndim", 0) != 0:
            raise ValueError(f"backprop_page shows scalar graphs; a Value of shape {node.shape} is a tensor "
                             "(draw it with viz.draw_graph)")
    index = {node: i for i, node in enumerate(order)}
    uses: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(order))}  # input -> (node, local)
    for node in order:
        unique = list(dict.fromkeys(node._prev))
        for parent, local in zip(unique, local_derivatives(node), strict=True):
            uses[index[parent]].append((index[node], local))
    grads = {index[root]: 1.0}
    steps = [{"node": index[root], "terms": [], "grad": 1.0}]
    for node in reversed(order):
        i = index[node]
        if node is root:
            continue
        terms = [{"from": user, "local": local, "upstream": grads[user], "product": local * grads[user]}
                 for user, local in uses[i]]
        grads[i] = math.fsum(term["product"] for term in terms)
        steps.append({"node": i, "terms": terms, "grad": grads[i]})
    return order, steps


def _layout(order: list[Value]) -> list[tuple[float, float]]:
    """Columns by depth from the inputs (leaves on the left, the output on the right)."""
    depth: dict[Value, int] = {}
    for node in order:
        depth[node] = 1 + max((depth[p] for p in node._prev), default=-1)
    columns: dict[int, list[Value]] = {}
    for node in order:
        columns.setdefault(depth[node], []).append(node)
    tallest = max(len(column) for column in columns.values())
    place = {}
    for d, column in columns.items():
        offset = (tallest - len(column)) * ROW / 2
        for k, node in enumerate(column):
            place[node] = (20 + d * COLUMN, 20 + offset + k * ROW)
    return [place[node] for node in order]


def _name(node: Value, i: int) -> str:
    return node.label or f"v{i}"


class BackpropPage:
    """The page as `html`; `save(path)` writes it; Jupyter shows it inline (`_repr_html_`)."""

    def __init__(self, html_text: str, steps: int) -> None:
        self.html = html_text
        self.steps = steps

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:  # an iframe keeps the page's script and styles to itself
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:560px;'
                'border:1px solid #ccc;border-radius:8px" title="backpropagation, step by step"></iframe>')

    def __repr__(self) -> str:
        return f"BackpropPage({self.steps} steps; .save('backprop.html') writes it, Jupyter shows it)"


def backprop_page(root: Value, title: str | None = None) -> BackpropPage:
    """The step-by-step backpropagation page for the scalar graph that computed `root`."""
    order, steps = backprop_steps(root)
    places = _layout(order)
    nodes = [{"name": _name(node, i), "op": node._op, "data": float(node.data), "x": x, "y": y,
              "leaf": not node._prev} for i, (node, (x, y)) in enumerate(zip(order, places, strict=True))]
    index = {node: i for i, node in enumerate(order)}
    edges = [{"from": index[parent], "to": index[node]}
             for node in order for parent in dict.fromkeys(node._prev)]
    width = max(x for x, _ in places) + BOX_WIDTH + 20
    height = max(y for _, y in places) + BOX_HEIGHT + 20
    data = {"title": title or f"Backpropagation through {_name(root, len(order) - 1)} = {root.data:.4f}",
            "nodes": nodes, "edges": edges, "steps": steps, "width": width, "height": height,
            "box": [BOX_WIDTH, BOX_HEIGHT]}
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # never close the <script>
    template = resources.files("tinygrad_opt.viz").joinpath("backprop.html").read_text(encoding="utf-8")
    return BackpropPage(template.replace("/*__DATA__*/null", payload), len(steps))


# ------------------------------------------------------------------- expressions
def expression_graph(text: str, values: Mapping[str, float]) -> Value:
    """The graph of a small expression over named scalars, after `backward()`.

    `text` uses + - * / **, numbers, the names in `values` and the functions of `FUNCTIONS`,
    as in `tanh(x1*w1 + x2*w2 + b)`. Each intermediate Value is labelled with its piece of the
    expression. Anything else (attributes, other calls) is a ValueError naming it.
    """
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"cannot read the expression {text!r}: {error.msg}") from None
    leaves: dict[str, Value] = {}

    def build(node: ast.AST) -> Value | float:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ValueError(
                    f"the expression uses {node.id!r}, which has no value: give it as {node.id}=NUMBER")
            if node.id not in leaves:
                leaves[node.id] = Value(float(values[node.id]), label=node.id)
            return leaves[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = build(node.operand)
            out = -operand if isinstance(node.op, ast.USub) else operand
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = build(node.left), build(node.right)
            if isinstance(node.op, ast.Pow) and isinstance(right, Value):
                raise ValueError(f"a power's exponent must be a number, got {ast.unparse(node.right)!r}")
            out = _BINARY[type(node.op)](left, right)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
              and len(node.args) == 1 and not node.keywords):
            argument = build(node.args[0])
            out = getattr(argument if isinstance(argument, Value) else Value(argument), node.func.id)()
        else:
            raise ValueError(f"the expression may use + - * / **, numbers, names and {', '.join(FUNCTIONS)}; "
                             f"got {ast.unparse(node)!r}")
        if isinstance(out, Value) and not out.label:
            out.label = ast.unparse(node)
        return out

    unknown = sorted(set(values) - {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})
    if unknown:
        raise ValueError(f"{unknown[0]!r} has a value but is not in the expression {text!r}")
    root = build(tree.body)
    if not isinstance(root, Value):
        raise ValueError(f"the expression {text!r} has no names, so nothing to differentiate")
    root.backward()
    return root


_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
