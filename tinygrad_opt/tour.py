"""The tour behind `make demo` (`tinygrad-opt demo`): the whole pipeline, once.

1. The engine: one neuron, forward and backward, and its graph drawn (neuron.svg).
2. Training: the same small MLP on two moons and on three spirals with every optimizer,
   each from the same initial weights on the same data for the same number of steps; a
   comparison table, loss curves and decision boundaries (PNG).
3. The race: the interactive page where fourteen optimizers, each with its own learning
   rate, run to the star (race.html).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinygrad_opt import nn, optim
from tinygrad_opt.data import make_moons, make_spirals
from tinygrad_opt.engine import Value, no_grad, topological_order

# The most training steps per optimizer: the demo trains 13 optimizers on two data sets, so
# 10,000 steps is already most of an hour; more would only keep the machine busy.
MAX_STEPS = 10_000

# Each optimizer with a learning rate that suits this small MLP (full batch, cross-entropy).
# One rate each, picked from a coarse sweep; demos/optimizers_compared.py sweeps them all.
OPTIMIZERS: dict[str, Callable[[list[Value]], optim.Optimizer]] = {
    "SGD": lambda p: optim.SGD(p, lr=0.5),
    "Momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "RMSProp": lambda p: optim.RMSProp(p, lr=0.01),
    "Adam": lambda p: optim.Adam(p, lr=0.01),
    "AdamW": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.01),
    "NAdam": lambda p: optim.NAdam(p, lr=0.01),
    "RAdam": lambda p: optim.RAdam(p, lr=0.01),
    "Lion": lambda p: optim.Lion(p, lr=0.003),
    "LAMB": lambda p: optim.LAMB(p, lr=0.01),
    "Muon": lambda p: optim.Muon(p, lr=0.02),
    # One L-BFGS iteration a step (its line search may evaluate the loss a few more times).
    "L-BFGS": lambda p: optim.LBFGS(p, lr=1.0, max_iter=1, max_eval=26, line_search_fn="strong_wolfe"),
    # After the post. LARS's lr is large because each matrix moves by lr * 0.001 * its norm;
    # Prodigy learns its own step. SophiaG is not here: its Hessian estimate needs a second
    # backward pass on sampled labels, which this loop does not make (docs/optim.md shows it).
    "LARS": lambda p: optim.LARS(p, lr=10.0),
    "Adafactor": lambda p: optim.Adafactor(p, lr=0.05),
    "Prodigy": lambda p: optim.Prodigy(p),
    # Schedule-free (SF): measured, like the others, where the gradients are taken (y); on this
    # full-batch problem the average x they would hand back after eval() is slightly behind y.
    "SF-SGD": lambda p: optim.ScheduleFreeSGD(p, lr=1.0),
    "SF-AdamW": lambda p: optim.ScheduleFreeAdamW(p, lr=0.01),
    "SOAP": lambda p: optim.SOAP(p, lr=0.01),
}


@dataclass
class Run:
    """One optimizer's training run: losses and accuracies, one a step."""

    losses: list[float]
    accuracies: list[float]
    model: nn.MLP
    seconds: float

    def steps_to(self, accuracy: float) -> int | None:
        return next((step for step, a in enumerate(self.accuracies) if a >= accuracy), None)


def train(
    X: np.ndarray, y: np.ndarray, n_classes: int, make_optimizer: Callable, steps: int, seed: int = 0  # noqa: N803
) -> Run:
    """Full-batch training of MLP(2, [32, 32, n_classes]) with cross-entropy.

    Every optimizer gets the loss as a closure, as PyTorch's `step(closure)` does: the
    first-order ones call it once a step, L-BFGS as often as its line search needs.
    """
    started = time.perf_counter()
    model = nn.MLP(2, [32, 32, n_classes], seed=seed)
    optimizer = make_optimizer(model.parameters())
    inputs = Value(X)
    losses, accuracies = [], []

    def closure() -> Value:
        logits = model(inputs)
        loss = nn.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        if len(accuracies) < len(losses) + 1:  # the step's first evaluation: where it starts
            accuracies.append(float(np.mean(np.argmax(logits.data, axis=1) == y)))
        return loss

    for _ in range(steps):
        losses.append(float(optimizer.step(closure).item()))
    return Run(losses, accuracies, model, time.perf_counter() - started)


def run_tour(
    out: str | Path = "out", steps: int = 300, quick: bool = False, page: bool = True
) -> dict[str, Path]:
    """Run the tour, writing its pictures (and with `page` the race page) into `out`;
    returns what it wrote. `steps` is from 1 to `MAX_STEPS`."""
    from tinygrad_opt.race.page import write_page
    from tinygrad_opt.viz import draw_graph, plot_decision_boundary, plot_losses
    from tinygrad_opt.viz.examples import neuron

    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to MAX_STEPS = {MAX_STEPS:,}, got {steps!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = 20 if quick else steps
    written: dict[str, Path] = {}

    print("1. The engine: one neuron, forward and backward")
    o = neuron()
    print(f"   o = tanh(x1*w1 + x2*w2 + b) = {o.data:.4f}; backward gives do/dw1 = "
          f"{_leaf(o, 'w1').grad:.4f}, do/dx1 = {_leaf(o, 'x1').grad:.4f}")
    written["neuron graph"] = _write(out / "neuron.svg", draw_graph(o).pipe(format="svg"))

    datasets = {
        "moons": (*make_moons(200, noise=0.1, seed=0), 2),
        "spirals": (*make_spirals(300, n_classes=3, seed=0), 3),
    }
    results: dict[str, dict[str, Run]] = {}
    for number, (data_name, (X, y, n_classes)) in enumerate(datasets.items(), start=2):
        print(f"\n{number}. Training MLP(2, [32, 32, {n_classes}]) on {data_name} ({len(X)} points), "
              f"{steps} full-batch steps with each optimizer")
        results[data_name] = {}
        for name, make_optimizer in OPTIMIZERS.items():
            run = train(X, y, n_classes, make_optimizer, steps)
            results[data_name][name] = run
            print(f"   {name:<9} loss {run.losses[-1]:8.4f}   accuracy {run.accuracies[-1]:6.1%}"
                  f"   ({run.seconds:.1f} s)", flush=True)
        written[f"{data_name} loss curves"] = _loss_curves(
            results[data_name], out / f"losses_{data_name}.png", plot_losses)
        written[f"{data_name} decision boundaries"] = _boundaries(
            results[data_name], X, y, out / f"boundaries_{data_name}.png", plot_decision_boundary)

    print()
    print(comparison_table(results))

    if page:
        print("\n4. The race: fourteen optimizers, each at its own learning rate, on eight landscapes")
        written["race page"] = write_page(out / "race.html", first="beale_like")

    print("\nWrote:")
    for what, path in written.items():
        print(f"   {str(path):<32} {what}")
    if page:
        print(f"\nOpen {out / 'race.html'} in a web browser (it needs no network), and the pictures in any "
              "image viewer.")
    print("Next: python demos/optimizers_compared.py, tinygrad-opt post, docs/index.md")
    return written


def comparison_table(results: dict[str, dict[str, Run]]) -> str:
    """One row per optimizer: final loss, final accuracy and steps to 95 % on each data set."""
    data_names = list(results)
    header = f"{'optimizer':<10}" + "".join(f"| {name:^30} " for name in data_names)
    columns = f"{'':<10}" + "| final loss  accuracy  to 95 % " * len(data_names)
    lines = [header, columns, "-" * len(columns)]
    for name in next(iter(results.values())):
        row = f"{name:<10}"
        for data_name in data_names:
            run = results[data_name][name]
            reached = run.steps_to(0.95)
            row += (f"| {run.losses[-1]:10.4f} {run.accuracies[-1]:9.1%} "
                    f"{'never' if reached is None else reached:>8} ")
        lines.append(row)
    return "\n".join(lines)


def _loss_curves(runs: dict[str, Run], path: Path, plot: Callable) -> Path:
    """Every optimizer's loss curve on one log scale, a colour and dash each, the legend beside."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    plot({name: run.losses for name, run in runs.items()}, log_scale=True, ax=ax)  # a colour and dash each
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9)
    fig.savefig(path, dpi=90)
    return path


def _boundaries(runs: dict[str, Run], X: np.ndarray, y: np.ndarray, path: Path, plot: Callable) -> Path:
    """Every optimizer's decision regions side by side."""
    from matplotlib.figure import Figure

    columns = 4
    rows = -(-len(runs) // columns)
    fig = Figure(figsize=(3.2 * columns, 3.0 * rows), layout="constrained")
    axes = list(fig.subplots(rows, columns).flat)
    for ax, (name, run) in zip(axes, runs.items(), strict=False):
        with no_grad():
            plot(run.model, X, y, ax=ax, resolution=80)
        ax.set_title(f"{name}: {run.accuracies[-1]:.1%}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(runs):]:
        ax.set_axis_off()
    fig.savefig(path, dpi=80)
    return path


def _leaf(root: Value, label: str) -> Value:
    for node in topological_order(root):
        if node.label == label:
            return node
    raise ValueError(f"no Value labelled {label!r} in the graph")


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path
