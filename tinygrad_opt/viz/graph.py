"""Draw the computation graph behind a Value with Graphviz.

Each Value is a box holding its label (when it has one), its data and its gradient;
each operation is an oval holding the op's name, between its inputs and its output,
as in micrograd's drawings. `draw_graph` returns a `graphviz.Digraph`: Jupyter shows
it inline, `.render(...)` or `.pipe(...)` turn it into a file.

Big graphs are summarised rather than drawn whole. The walk starts at the output
and keeps the first `max_nodes` Values it meets (breadth first, so the output side);
every kept Value with inputs left out gets one dashed placeholder counting the
Values first reached through those inputs. The caption says how much was left out.
Formatting, the slow part, only ever touches the kept Values; the left-out ones are
only counted, with a plain iterative walk (no recursion, so any depth is fine).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value, check_count

try:
    import graphviz
except ImportError as error:  # graphviz is in the `viz` extra
    raise ImportError(
        "drawing graphs needs the graphviz package: pip install graphviz (or tinygrad-opt[viz]), "
        "plus Graphviz's `dot` program to render them"
    ) from error

RANKDIRS = ("LR", "RL", "TB", "BT")
FULL_ARRAY_SIZE = 12  # tensors with at most this many elements are printed in full
MAX_LABEL_LENGTH = 80  # longer labels and op names are cut, ending in "…" (dot refuses huge labels)


def draw_graph(
    root: Value,
    format: str = "svg",  # noqa: A002 (graphviz's own name for it)
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int = 200,
) -> graphviz.Digraph:
    """The graph that computed `root`, as a `graphviz.Digraph` ready to display or render.

    format: the output format for `.render()`/`.pipe()` ("svg", "png", "pdf", ...).
    rankdir: "LR" (inputs on the left), "RL", "TB" (inputs on top) or "BT".
    show_grad: show each Value's `.grad` next to its `.data`.
    max_nodes: draw at most this many Values; beyond it the inputs side of the graph is
        folded into dashed placeholder nodes that say how many Values they stand for.

    Scalars are shown to 4 decimals; tensors show shape and dtype, then all their
    elements when they have at most 12, or their min, mean and max otherwise.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    max_nodes = check_count(max_nodes, "max_nodes")
    if format not in graphviz.FORMATS:
        raise ValueError(f"format must be a Graphviz output format such as 'svg' or 'png', got {format!r}")

    kept = _output_side(root, int(max_nodes))
    index = {node: i for i, node in enumerate(kept)}
    folded, feeds = _fold_the_rest(kept, index)

    dot = graphviz.Digraph(
        format=format,
        graph_attr={"rankdir": rankdir},
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"arrowsize": "0.6"},
    )
    for i, node in enumerate(kept):
        dot.node(f"v{i}", _value_label(node, show_grad), shape="plaintext")
        if not node._prev:
            continue
        op = f"op{i}"
        dot.node(op, _html(_shorten(node._op or "?")), shape="ellipse", style="filled", fillcolor="#eeeeee")
        dot.edge(op, f"v{i}")
        for parent in node._prev:
            if parent in index:
                dot.edge(f"v{index[parent]}", op)
        for source in feeds.get(i, ()):
            dot.edge(f"more{source}", op, style="dashed")
    for i, count in folded.items():
        text = f"⋯ {count:,} more value{'s' if count != 1 else ''}"
        dot.node(f"more{i}", _html(text), shape="box", style="dashed,rounded", fontcolor="#555555")
    if folded:
        total = len(kept) + sum(folded.values())
        dot.graph_attr.update(
            label=f"showing the {len(kept):,} values nearest the output, of {total:,} "
            f"(max_nodes={max_nodes}); the other {total - len(kept):,} are folded into "
            f"{len(folded):,} dashed placeholders",
            labelloc="t",
            fontname="Helvetica",
        )
    return dot


def _output_side(root: Value, limit: int) -> list[Value]:
    """The first `limit` Values met walking breadth first from the output towards the inputs."""
    kept = [root]
    seen = {root}
    head = 0
    while head < len(kept) and len(kept) < limit:
        for parent in kept[head]._prev:
            if parent not in seen and len(kept) < limit:
                seen.add(parent)
                kept.append(parent)
        head += 1
    return kept


def _fold_the_rest(kept: list[Value], index: dict[Value, int]) -> tuple[dict[int, int], dict[int, list[int]]]:
    """Share the left-out Values among placeholders and say which placeholders feed which op.

    Placeholder `i` belongs to kept Value `i` and counts the left-out Values first reached
    through its inputs: every left-out Value is counted exactly once, so the counts add up
    to the whole graph. Returns (placeholder -> count, kept Value -> placeholders feeding it).
    """
    owner: dict[Value, int] = {}
    counts: dict[int, int] = {}
    feeds: dict[int, list[int]] = {}
    for i, node in enumerate(kept):
        for parent in node._prev:
            if parent in index:
                continue
            if parent not in owner:
                owner[parent] = i
                stack = [parent]
                count = 1
                while stack:
                    for grandparent in stack.pop()._prev:
                        if grandparent not in index and grandparent not in owner:
                            owner[grandparent] = i
                            stack.append(grandparent)
                            count += 1
                counts[i] = counts.get(i, 0) + count
            sources = feeds.setdefault(i, [])
            if owner[parent] not in sources:
                sources.append(owner[parent])
    return counts, feeds


def _value_label(node: Value, show_grad: bool) -> str:
    """An HTML-like Graphviz label: a one-row table [label | data | grad], every text escaped."""
    cells = []
    if node.label:
        cells.append(f"<B>{_escape(_shorten(node.label))}</B>")
    cells.append(_lines("data", node.data))
    if show_grad:
        cells.append(_lines("grad", node.grad))
    row = "".join(f'<TD ALIGN="LEFT" BALIGN="LEFT">{cell}</TD>' for cell in cells)
    return f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4"><TR>{row}</TR></TABLE>>'


def _lines(name: str, x: Any) -> str:
    """`data 2.0000` for a scalar; shape, dtype and the values (or a summary) for a tensor."""
    return "<BR/>".join(_escape(line) for line in describe(name, x))


def describe(name: str, x: Any) -> list[str]:
    """The text lines shown for `x` (a Value's data or grad) under the heading `name`."""
    if type(x) is float or np.ndim(x) == 0:
        return [f"{name} {float(x):.4f}"]
    x = np.asarray(x)
    head = f"{name} {x.shape} {x.dtype}"
    if x.size <= FULL_ARRAY_SIZE:
        text = np.array2string(x, precision=4, floatmode="fixed", separator=", ", max_line_width=60)
        return [head, *text.splitlines()]
    with np.errstate(invalid="ignore"):
        summary = f"min {np.min(x):.4f}  mean {np.mean(x):.4f}  max {np.max(x):.4f}"
    return [head, summary]


def _shorten(text: str) -> str:
    """`text` cut to `MAX_LABEL_LENGTH` characters, the last one an ellipsis, when longer."""
    text = str(text)
    return text if len(text) <= MAX_LABEL_LENGTH else text[: MAX_LABEL_LENGTH - 1] + "…"


def _escape(text: str) -> str:
    """Text for an HTML-like label, shown literally: < > & " ' and ] become entities;
    a backslash is doubled, since Graphviz replaces \\N, \\G, \\E, \\T, \\H and \\L in a label
    by the node's, graph's, edge's, tail's or head's name or the label itself (`\\\\` is one
    backslash); control characters other than a newline show as their escapes (a tab as \\t)."""
    visible = "".join(
        c if c == "\n" or c.isprintable() else c.encode("unicode_escape").decode() for c in str(text)
    )
    escaped = html.escape(visible.replace("\\", "\\\\"), quote=True)  # one backslash becomes two
    return escaped.replace("]", "&#93;").replace("\n", "<BR/>")


def _html(text: str) -> str:
    return f"<{_escape(text)}>"
