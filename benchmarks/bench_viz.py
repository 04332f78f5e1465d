"""How long draw_graph takes on micrograd's MLP training graph (about 65,000 Values).

Peers measured in the same run: one `backward()` through the same graph, and drawing
the whole graph (max_nodes above its size; building the Digraph source only, `dot` is not
run on it). Also times rendering the summary with `dot`, a 1,000,001-Value
chain, and a decision boundary drawn with micrograd's scalar MLP one point at a time.
Run from the repository root: python benchmarks/bench_viz.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from tinygrad_opt import Value, topological_order  # noqa: E402
from tinygrad_opt.nn.scalar import MLP  # noqa: E402
from tinygrad_opt.viz import draw_graph, plot_decision_boundary  # noqa: E402
from tinygrad_opt.viz.examples import mlp_training_graph  # noqa: E402

REPEATS = 3


def best_time(run) -> float:
    """The fastest of REPEATS runs, in seconds."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    start = time.perf_counter()
    loss = mlp_training_graph(n_points=100)
    build = time.perf_counter() - start
    size = len(topological_order(loss))
    print(f"micrograd MLP(2, [16, 16, 1]) training graph on 100 points: {size:,} Values, "
          f"built in {build:.3f} s")

    backward = best_time(loss.backward)
    summary = best_time(lambda: draw_graph(loss, max_nodes=200))
    whole = best_time(lambda: draw_graph(loss, max_nodes=size))
    dot = draw_graph(loss, max_nodes=200)
    render = best_time(lambda: dot.pipe(format="svg"))
    print(f"  backward()                            {backward * 1e3:8.1f} ms")
    print(f"  draw_graph(max_nodes=200)             {summary * 1e3:8.1f} ms  "
          f"({summary / backward:.2f}x one backward, {whole / summary:.1f}x faster than drawing all)")
    print(f"  draw_graph of every Value (no dot)    {whole * 1e3:8.1f} ms")
    print(f"  dot -Tsvg of the 200-Value summary    {render * 1e3:8.1f} ms")
    print(f"  summary returned {'within' if summary < 1 else 'OVER'} the one-second budget")

    x = Value(0.0)
    for _ in range(500_000):
        x = x + 1.0
    chain = best_time(lambda: draw_graph(x, max_nodes=200))
    print(f"chain of 1,000,001 Values (500,000 deep): draw_graph(max_nodes=200) {chain * 1e3:.1f} ms, "
          f"backward() {best_time(x.backward) * 1e3:.1f} ms")

    # plot_decision_boundary with micrograd's scalar MLP, one point at a time.
    model = MLP(2, [16, 16, 1])
    points = np.random.default_rng(0).normal(size=(100, 2))
    labels = np.where(points[:, 0] > 0, 1, -1)
    for resolution in (40, 100):
        start = time.perf_counter()
        plot_decision_boundary(
            model, points, labels, per_point=True, resolution=resolution
        )
        print(f"plot_decision_boundary, per-point MLP(2, [16, 16, 1]), {resolution} x {resolution} grid: "
              f"{time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
