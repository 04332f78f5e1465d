"""Learning-rate warmup for Adam: a wide MLP trained with and without it, and the schedules plotted.

Adam's first update is lr * m_hat / sqrt(v_hat) = lr * g / |g|: every weight moves by the full
learning rate, all in the direction of its first gradient. In a wide layer those moves add up:
the output layer's 512 weights per class all move by lr together, so the logits jump by about
lr * sum_j |h_j|, which grows with the width. With a high learning rate that first jump throws
the loss far above where it started. A warmup starts from a learning rate near 0 and raises it
over the first steps, while the gradients' signs stop agreeing and Adam's steps get smaller
than lr.

What we measured (see the printed table): without warmup the loss jumps far above its start in
the first steps on every seed, with warmup it never rises above it. On this small, full-batch
problem Adam recovers from the jump and reaches the same accuracy either way (the warmup runs
end with a lower loss): the jump is the instability, not a failure to train.

    python demos/warmup.py              # pictures in out/
    python demos/warmup.py --quick      # fewer steps and one seed, for the tests
    python demos/warmup.py --out DIR    # pictures in DIR (python demos/warmup.py --out docs/img)
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import nn, optim  # noqa: E402
from tinygrad_opt.data import make_spirals  # noqa: E402
from tinygrad_opt.optim import schedules  # noqa: E402
from tinygrad_opt.viz import plot_losses  # noqa: E402

# ----------------------------------------------------------------- configuration
HIDDEN = 512  # one wide ReLU hidden layer: MLP(2, [512, 3])
PEAK_LR = 0.1  # Adam's learning rate after the warmup (its default is 1e-3: this is high on purpose)
WARMUP_STEPS = 40  # the warmup: a straight line from 0 to PEAK_LR over these steps (then constant or cosine)
STEPS = 200  # full-batch steps on the spirals (300 points, 3 classes)
SEEDS = [0, 1, 2]  # each seed its own initial weights (the data is the same)
WIDTHS = [16, 64, 256, 1024]  # the first step's jump of the logits, for these widths
QUICK_STEPS, QUICK_WARMUP_STEPS, QUICK_SEEDS = 60, 20, [0]  # with --quick


def make_schedules(steps: int, warmup_steps: int) -> dict:
    """name -> learning rate as a function of the step (0 = the first update)."""
    return {
        "constant (no warmup)": schedules.constant(PEAK_LR),
        "linear warmup": schedules.linear_warmup(PEAK_LR, warmup_steps),
        "cosine (no warmup)": schedules.cosine(PEAK_LR, steps),
        "warmup + cosine": schedules.warmup_cosine(PEAK_LR, warmup_steps, steps),
    }


def train(schedule, seed: int, steps: int, X: np.ndarray, y: np.ndarray) -> tuple[list, float]:
    """Adam with `schedule` as its learning rate; return the loss before each step and the final accuracy."""
    model = nn.MLP(2, [HIDDEN, 3], seed=seed)
    opt = optim.Adam(model.parameters(), lr=schedule)
    losses = []
    for _ in range(steps):
        loss = nn.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    accuracy = float(np.mean(model(X).data.argmax(axis=1) == y))
    return losses, accuracy


def first_step_jump(width: int, lr: float, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """One Adam step at `lr` on MLP(2, [width, 3]): (RMS weight change / lr, RMS logit change / RMS logit)."""
    model = nn.MLP(2, [width, 3], seed=SEEDS[0])
    opt = optim.Adam(model.parameters(), lr=lr)
    before = [p.data.copy() for p in model.parameters()]
    logits = model(X)
    loss = nn.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    moved = np.concatenate([(p.data - old).ravel()
                            for p, old in zip(model.parameters(), before, strict=True)])
    jump = model(X).data - logits.data
    rms = lambda a: float(np.sqrt(np.mean(a**2)))  # noqa: E731
    return rms(moved) / lr, rms(jump) / rms(logits.data)


def plot_every_schedule(path: Path) -> None:
    """Every schedule of optim.schedules over 100 steps, one small panel each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    gallery = {
        "constant(0.1)": schedules.constant(0.1),
        "step_decay(0.1, 30, 0.5)": schedules.step_decay(0.1, 30, 0.5),
        "exponential(0.1, 0.97)": schedules.exponential(0.1, 0.97),
        "cosine(0.1, 100)": schedules.cosine(0.1, 100),
        "linear_warmup(0.1, 20)": schedules.linear_warmup(0.1, 20),
        "warmup_cosine(0.1, 20, 100)": schedules.warmup_cosine(0.1, 20, 100),
        "one_cycle(0.1, 100)": schedules.one_cycle(0.1, 100),
        "cyclical(0.01, 0.1, 25)": schedules.cyclical(0.01, 0.1, 25),
        "join([constant(0.1), exponential(0.1, 0.95)], [40])":
            schedules.join([schedules.constant(0.1), schedules.exponential(0.1, 0.95)], [40]),
    }
    fig = Figure(figsize=(9, 6.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 3, sharex=True, sharey=True).ravel()
    steps = np.arange(100)
    for ax, (name, schedule) in zip(axes, gallery.items(), strict=True):
        ax.plot(steps, [schedule(int(step)) for step in steps], linewidth=1.8)
        ax.set_title(name, fontsize=8)
        ax.grid(alpha=0.3)
    fig.supxlabel("step")
    fig.supylabel("learning rate")
    fig.savefig(path, dpi=72)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and one seed (for the tests)")
    parser.add_argument("--out", default="out", help="folder for the pictures (default: out)")
    args = parser.parse_args()
    steps, warmup_steps, seeds = ((QUICK_STEPS, QUICK_WARMUP_STEPS, QUICK_SEEDS) if args.quick
                                  else (STEPS, WARMUP_STEPS, SEEDS))
    schedules_used = make_schedules(steps, warmup_steps)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_spirals(300, n_classes=3, noise=0.2, seed=0)

    # 1. why: Adam's first step moves every weight by lr, and a wide layer adds those moves up
    print(f"1. one Adam step at lr {PEAK_LR} on MLP(2, [width, 3]), spirals")
    print(f"{'width':>7}{'RMS weight change / lr':>24}{'RMS logit change / RMS logit':>30}")
    for width in WIDTHS:
        moved, jump = first_step_jump(width, PEAK_LR, X, y)
        print(f"{width:>7}{moved:>24.3f}{jump:>30.1f}")

    # 2. train with each schedule, every seed
    print(f"\n2. MLP(2, [{HIDDEN}, 3]), Adam peak lr {PEAK_LR}, {steps} steps, warmup {warmup_steps} steps, "
          f"seeds {seeds}; each column the worst over the seeds")
    print(f"{'schedule':<22}{'start loss':>11}{'highest loss':>14}{'final loss':>12}{'accuracy':>10}")
    curves = {}
    for name, schedule in schedules_used.items():
        runs = [train(schedule, seed, steps, X, y) for seed in seeds]
        starts = [losses[0] for losses, _ in runs]
        highest = [max(losses) for losses, _ in runs]
        finals = [losses[-1] for losses, _ in runs]
        accuracies = [accuracy for _, accuracy in runs]
        worst = int(np.argmax(np.array(highest) / np.array(starts)))
        print(f"{name:<22}{starts[worst]:>11.4f}{highest[worst]:>14.4f}{max(finals):>12.4f}"
              f"{min(accuracies):>10.1%}")
        curves[name] = runs[0][0]
        if not all(map(math.isfinite, finals)):
            print(f"  {name}: a run did not stay finite")

    # 3. pictures
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    FigureCanvasAgg(fig)
    lr_ax, loss_ax = fig.subplots(1, 2)
    for name, schedule in schedules_used.items():
        style = "-" if "no warmup" in name else "--"
        lr_ax.plot(range(steps), [schedule(step) for step in range(steps)], style, label=name, linewidth=1.8)
    lr_ax.set_xlabel("step")
    lr_ax.set_ylabel("learning rate")
    lr_ax.set_title("the schedules (tinygrad_opt.optim.schedules)")
    lr_ax.grid(alpha=0.3)
    lr_ax.legend(fontsize=8)
    plot_losses(curves, log_scale=True, ax=loss_ax)
    loss_ax.set_title(f"MLP(2, [{HIDDEN}, 3]), Adam, seed {seeds[0]}")
    warmup_path = out / "warmup.png"
    fig.savefig(warmup_path, dpi=72)
    gallery_path = out / "schedules.png"
    plot_every_schedule(gallery_path)
    print(f"\nwrote {warmup_path} (schedules and losses) and {gallery_path} (every schedule)")


if __name__ == "__main__":
    main()
