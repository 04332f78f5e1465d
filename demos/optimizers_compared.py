"""Every optimizer in tinygrad_opt.optim on the same MLP, the same data and the same budget.

Each optimizer is first swept over a log grid of learning rates (the final loss against the
learning rate: usually a U-shaped curve, and it shows how sensitive each one is), then compared at its own
best learning rate of the grid: loss curves, steps to 95 % training accuracy, final loss.
Training is full batch, so every step costs one forward and one backward pass for every
optimizer. L-BFGS, a full-batch method, fits this setting: it takes a closure and may evaluate
it several times in one iteration (its line search), so its budget is counted in evaluations
(the loss at each one, trial points included), the same unit as the others' steps.

    python demos/optimizers_compared.py                 # the full comparison, pictures in out/
    python demos/optimizers_compared.py --quick         # a tiny budget, for the tests
    python demos/optimizers_compared.py --out DIR       # pictures in DIR
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import nn, optim  # noqa: E402
from tinygrad_opt.data import make_moons, make_spirals  # noqa: E402
from tinygrad_opt.viz import plot_losses  # noqa: E402

# ----------------------------------------------------------------- configuration
DATA = "spirals"  # "spirals" (3 arms, 300 points) or "moons" (2 classes, 200 points); --data
SEED = 0  # seeds the data and the network's initialisation (the same start for every optimizer)
HIDDEN = [32, 32]  # hidden layer sizes of the ReLU MLP; the output layer has one unit per class
STEPS = 200  # the budget: gradient evaluations (full-batch forward + backward) per run
LEARNING_RATES = np.logspace(-4, 0.5, 10)  # the sweep: 1e-4, 3.2e-4, ..., 3.2 (half decades)
DIVERGED = 10  # a run that ends above 10 times its starting loss counts as diverged
GOOD = 2  # how sensitive: the learning rates of the grid whose final loss is within 2x of the best
TARGET_ACCURACY = 0.95  # "steps to 95 %": the first step whose training accuracy reaches this
QUICK_STEPS = 30  # with --quick
QUICK_LEARNING_RATES = np.logspace(-3, 0, 4)  # with --quick: 1e-3, 1e-2, 0.1, 1

# name -> a function (parameters, lr) -> optimizer. Every other hyperparameter is the default
# of tinygrad_opt.optim (PyTorch's defaults). Muon orthogonalises the updates of the weight
# matrices and hands the biases to AdamW: one knob here, the same lr for both.
OPTIMIZERS = {
    "SGD": lambda params, lr: optim.SGD(params, lr=lr),
    "SGD+momentum": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9),
    "SGD+nesterov": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "RMSProp": lambda params, lr: optim.RMSProp(params, lr=lr),
    "Adagrad": lambda params, lr: optim.Adagrad(params, lr=lr),
    "Adam": lambda params, lr: optim.Adam(params, lr=lr),
    "AdamW": lambda params, lr: optim.AdamW(params, lr=lr),
    "NAdam": lambda params, lr: optim.NAdam(params, lr=lr),
    "RAdam": lambda params, lr: optim.RAdam(params, lr=lr),
    "Lion": lambda params, lr: optim.Lion(params, lr=lr),
    "LAMB": lambda params, lr: optim.LAMB(params, lr=lr),
    "Muon": lambda params, lr: optim.Muon(params, lr=lr, adamw_lr=lr),
    "L-BFGS": lambda params, lr: optim.LBFGS(params, lr=lr, max_iter=10**6, line_search_fn="strong_wolfe"),
}


def load_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "spirals":
        return make_spirals(300, n_classes=3, noise=0.2, seed=SEED)
    return make_moons(200, noise=0.1, seed=SEED)


def train(make_optimizer, lr: float, X: np.ndarray, y: np.ndarray, steps: int) -> tuple[list, list]:
    """Train a fresh MLP (the same initial weights every time); return the loss and the accuracy
    at every gradient evaluation, `steps` of them. A run that stops being finite stops there.
    """
    model = nn.MLP(X.shape[1], [*HIDDEN, int(y.max()) + 1], seed=SEED)
    opt = make_optimizer(model.parameters(), lr)
    losses, accuracies = [], []

    def closure():
        # forward on the whole batch, loss, backward; record the loss and accuracy at this point
        scores = model(X)
        loss = nn.cross_entropy(scores, y)
        opt.zero_grad()
        loss.backward()
        losses.append(loss.item())
        accuracies.append(float(np.mean(scores.data.argmax(axis=1) == y)))
        return loss

    with np.errstate(all="ignore"):  # a diverging run overflows: that is what we measure
        while len(losses) < steps and all(map(math.isfinite, losses[-1:])):
            if isinstance(opt, optim.LBFGS):
                # one call runs iterations until the evaluations left are used up (or it converges);
                # every evaluation is recorded, its line search's trial points included
                opt.param_groups[0]["max_eval"] = steps - len(losses)
            opt.step(closure)  # the others: one evaluation, one update
    return losses[:steps], accuracies[:steps]


def steps_to(accuracies: list, target: float) -> int | None:
    return next((step for step, accuracy in enumerate(accuracies) if accuracy >= target), None)


def final_loss(losses: list, steps: int) -> float:
    """The last loss of a run; nan if it diverged: stopped being finite, or ended above
    DIVERGED times its starting loss."""
    diverged = len(losses) < steps or not losses[-1] <= DIVERGED * losses[0]  # `not <=` catches nan
    return math.nan if diverged else losses[-1]


def plot_sweep(sweep: dict, learning_rates: np.ndarray, initial_loss: float, path: Path) -> None:
    """One small panel per optimizer: final loss against learning rate, diverged runs as red crosses."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = 4
    rows = math.ceil(len(sweep) / columns)
    fig = Figure(figsize=(3.0 * columns, 2.3 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, (name, finals) in zip(axes, sweep.items(), strict=False):
        finals = np.array(finals)
        ax.plot(learning_rates, finals, "o-", markersize=3)
        diverged = ~np.isfinite(finals)
        ax.plot(learning_rates[diverged], np.full(diverged.sum(), initial_loss * 3), "x", color="red")
        ax.axhline(initial_loss, color="gray", linewidth=0.8, linestyle=":")  # the loss at the start
        if not diverged.all():
            best = int(np.nanargmin(finals))
            ax.plot(learning_rates[best], finals[best], "*", color="green", markersize=9)
        ax.set_title(name, fontsize=10)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in axes[len(sweep):]:
        ax.set_visible(False)
    fig.supxlabel("learning rate")
    fig.supylabel("final loss (star: best; x: diverged; dotted: the start)")
    fig.savefig(path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny budget (for the tests)")
    parser.add_argument("--out", default="out", help="folder for the pictures (default: out)")
    parser.add_argument("--data", choices=["spirals", "moons"], default=DATA)
    args = parser.parse_args()
    steps = QUICK_STEPS if args.quick else STEPS
    learning_rates = QUICK_LEARNING_RATES if args.quick else LEARNING_RATES
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_data(args.data)
    print(f"{args.data}: {len(X)} points, {y.max() + 1} classes; MLP(2, {[*HIDDEN, int(y.max()) + 1]}), "
          f"ReLU, cross-entropy, full batch; budget {steps} steps; {len(OPTIMIZERS)} optimizers x "
          f"{len(learning_rates)} learning rates")

    # 1. the sweep: every optimizer at every learning rate of the grid
    start = time.perf_counter()
    sweep, runs = {}, {}
    for name, make_optimizer in OPTIMIZERS.items():
        sweep[name] = []
        for lr in learning_rates:
            losses, accuracies = train(make_optimizer, lr, X, y, steps)
            sweep[name].append(final_loss(losses, steps))
            runs[name, lr] = losses, accuracies
        print(f"  swept {name:<13} ({time.perf_counter() - start:5.1f} s)")
    initial_loss = runs["SGD", learning_rates[0]][0][0]

    print(f"\nlearning-rate sweep: final loss after {steps} steps ('-': diverged, not finite or above "
          f"{DIVERGED}x the start)")
    print(f"{'optimizer':<13}" + "".join(f"{lr:>9.2g}" for lr in learning_rates))
    for name, finals in sweep.items():
        print(f"{name:<13}" + "".join(f"{'-' if math.isnan(f) else f'{f:.3g}':>9}" for f in finals))

    # 2. each optimizer at its best learning rate of the grid
    print(f"\neach at its best learning rate: steps to {TARGET_ACCURACY:.0%} training accuracy, final loss")
    print(f"{'optimizer':<13}{'best lr':>9}{'steps to 95%':>14}{'final loss':>12}{'accuracy':>10}"
          f"  learning rates within {GOOD}x of its best final loss")
    curves = {}
    for name, finals in sweep.items():
        if np.all(np.isnan(finals)):
            print(f"{name:<13}{'-':>9}  diverged at every learning rate")
            continue
        best_lr = learning_rates[int(np.nanargmin(finals))]
        losses, accuracies = runs[name, best_lr]
        reached = steps_to(accuracies, TARGET_ACCURACY)
        curves[f"{name} (lr {best_lr:.2g})"] = losses
        good = learning_rates[np.array(finals) <= GOOD * np.nanmin(finals)]  # nan compares False
        print(f"{name:<13}{best_lr:>9.2g}{'never' if reached is None else reached:>14}"
              f"{losses[-1]:>12.4g}{accuracies[-1]:>10.1%}  {len(good)} of {len(learning_rates)}: "
              + ", ".join(f"{lr:.2g}" for lr in good))

    # 3. pictures
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    plot_losses(curves, log_scale=True, ax=ax)
    palette = matplotlib.colormaps["tab20"]
    for i, line in enumerate(ax.get_lines()):  # 13 curves: more than the default 10 colours
        line.set_color(palette(i))
        line.set_linestyle("-" if i % 2 == 0 else "--")
    ax.set_title(f"{args.data}: each optimizer at its best learning rate")
    ax.legend(fontsize=7, ncols=2)
    curves_path = out / "optimizers_losses.png"
    fig.savefig(curves_path, dpi=80)
    sweep_path = out / "optimizers_lr_sweep.png"
    plot_sweep(sweep, learning_rates, initial_loss, sweep_path)
    print(f"\nwrote {curves_path} (loss curves) and {sweep_path} (learning-rate sweep)")


if __name__ == "__main__":
    main()
