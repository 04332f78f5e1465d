"""Adam + L2 against AdamW: how much each weight actually decays, against its gradient scale.

With plain SGD, adding (lambda / 2) * ||theta||^2 to the loss and decaying the weights are the
same thing. With Adam they are not: the L2 gradient lambda * theta goes through m and v and is
divided by sqrt(v_hat), which is set by the weight's *loss* gradient. A weight whose gradients
are large barely decays; a weight whose gradients are tiny is pulled to zero at about lr per step
whatever lambda is. AdamW (Loshchilov & Hutter, 2019) multiplies every weight by (1 - lr * lambda)
each step instead, outside Adam's normalisation: the same decay for every weight.

The problem: groups of weights, all starting at 1, whose loss gradient is zero-mean noise of a
different scale sigma for each group (a loss sum_j sigma_j * xi_j * theta_j with fresh Gaussian
xi every step, as for a weight the data does not need). The noise has no preferred direction, so
what a group's mean weight loses is the decay alone. Both optimizers see the same noise. (At
sigma = 1, sqrt(v_hat) is about 1 and the two happen to agree; only there.)

    python demos/weight_decay_vs_l2.py              # pictures in out/
    python demos/weight_decay_vs_l2.py --quick      # fewer steps, for the tests
    python demos/weight_decay_vs_l2.py --out DIR    # pictures in DIR
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import Value, optim  # noqa: E402

# ----------------------------------------------------------------- configuration
GRADIENT_SCALES = [1e-3, 1e-2, 1e-1, 1.0, 10.0]  # sigma of each group's gradient noise
WEIGHTS_PER_GROUP = 1000  # the mean over this many weights averages the noise's random walk away
LR = 0.01  # Adam's learning rate, for both optimizers
WEIGHT_DECAY = 0.1  # lambda, for both: the L2 gradient lambda * theta, or the decay lr * lambda
STEPS = 1000  # AdamW's weights shrink to (1 - lr * lambda)^STEPS = 0.37 of their start
SEED = 0  # seeds the gradient noise (the same noise for both optimizers)
QUICK_STEPS = 200  # with --quick


def train(optimizer_class, steps: int) -> np.ndarray:
    """Run `optimizer_class` with weight_decay=WEIGHT_DECAY; return the mean weight of each group
    after each step, shape (steps + 1, groups)."""
    rng = np.random.default_rng(SEED)
    groups = [Value(np.ones(WEIGHTS_PER_GROUP)) for _ in GRADIENT_SCALES]
    opt = optimizer_class(groups, lr=LR, weight_decay=WEIGHT_DECAY)
    means = [[1.0] * len(groups)]
    for _ in range(steps):
        loss = sum((sigma * rng.standard_normal(WEIGHTS_PER_GROUP) * theta).sum()
                   for sigma, theta in zip(GRADIENT_SCALES, groups, strict=True))
        opt.zero_grad()
        loss.backward()  # each weight's loss gradient: sigma * xi, zero on average
        opt.step()  # Adam adds lambda * theta to it; AdamW multiplies theta by (1 - lr * lambda)
        means.append([float(theta.data.mean()) for theta in groups])
    return np.array(means)


def decay_per_step(mean_weights: np.ndarray) -> np.ndarray:
    """The average fraction of its weight a group lost per step, 1 - (w_k / w_0)^(1 / k), measured
    up to k = the first step where its mean weight is down to half (or the last step): past that,
    a weight near 0 is mostly noise."""
    rates = []
    for group in mean_weights.T:
        below_half = np.flatnonzero(group <= 0.5)
        k = int(below_half[0]) if below_half.size else len(group) - 1
        rates.append(1 - (group[k] / group[0]) ** (1 / k))
    return np.array(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (for the tests)")
    parser.add_argument("--out", default="out", help="folder for the pictures (default: out)")
    args = parser.parse_args()
    steps = QUICK_STEPS if args.quick else STEPS
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    print(f"{len(GRADIENT_SCALES)} groups of {WEIGHTS_PER_GROUP} weights starting at 1, zero-mean gradient "
          f"noise of scale sigma; lr {LR}, weight_decay {WEIGHT_DECAY}, {steps} steps")
    adam_l2 = train(optim.Adam, steps)
    adamw = train(optim.AdamW, steps)
    expected = (1 - LR * WEIGHT_DECAY) ** steps  # AdamW, noise aside
    rate_l2, rate_w = decay_per_step(adam_l2), decay_per_step(adamw)

    print(f"\n{'sigma':>8}{'Adam+L2 mean w':>16}{'AdamW mean w':>14}{'Adam+L2 decay/step':>20}"
          f"{'AdamW decay/step':>18}")
    for i, sigma in enumerate(GRADIENT_SCALES):
        print(f"{sigma:>8g}{adam_l2[-1, i]:>16.4f}{adamw[-1, i]:>14.4f}{rate_l2[i]:>20.2e}{rate_w[i]:>18.2e}")
    print(f"AdamW, from its rule: mean w (1 - lr * lambda)^{steps} = {expected:.4f}, "
          f"decay/step lr * lambda = {LR * WEIGHT_DECAY:.2e}")
    print(f"spread of the decay per step over a {GRADIENT_SCALES[-1] / GRADIENT_SCALES[0]:.0e}x range of "
          f"gradient scales: Adam+L2 {rate_l2.max() / rate_l2.min():.1f}x, "
          f"AdamW {rate_w.max() / rate_w.min():.2f}x")
    sigma = GRADIENT_SCALES[-1]
    print(f"Adam+L2 at sigma {sigma:g}: decay/step {rate_l2[-1]:.2e}, about lr * lambda / sigma = "
          f"{LR * WEIGHT_DECAY / sigma:.2e} (the L2 gradient divided by sqrt(v_hat) ~ sigma)")

    # pictures
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4), layout="constrained")
    FigureCanvasAgg(fig)
    l2_ax, w_ax, rate_ax = fig.subplots(1, 3)
    step_axis = np.arange(steps + 1)
    for ax, means, title in ((l2_ax, adam_l2, "Adam + L2 (weight_decay in Adam)"),
                             (w_ax, adamw, "AdamW (decoupled decay)")):
        for i, sigma in enumerate(GRADIENT_SCALES):
            ax.plot(step_axis, means[:, i], label=f"gradient scale {sigma:g}")
        ax.plot(step_axis, (1 - LR * WEIGHT_DECAY) ** step_axis, "k--", linewidth=1,
                label="(1 - lr λ)^t")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel("mean weight")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    rate_ax.loglog(GRADIENT_SCALES, rate_l2, "o-", label="Adam + L2")
    rate_ax.loglog(GRADIENT_SCALES, rate_w, "s-", label="AdamW")
    rate_ax.axhline(LR * WEIGHT_DECAY, color="gray", linestyle=":", label="lr λ")
    rate_ax.set_xlabel("gradient scale σ of the weight")
    rate_ax.set_ylabel("measured decay per step (until half)")
    rate_ax.set_title("decay per step vs gradient scale")
    rate_ax.grid(alpha=0.3, which="both")
    rate_ax.legend(fontsize=8)
    path = out / "weight_decay_vs_l2.png"
    fig.savefig(path)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
