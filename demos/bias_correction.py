"""Adam's first steps with and without bias correction, measured and plotted.

Adam's moments start at zero, so early on they are too small: after one step m = (1 - beta1) g
(10 times too small with beta1 = 0.9) and v = (1 - beta2) g^2 (1000 times too small with
beta2 = 0.999, so sqrt(v) is 31.6 times too small). Bias correction divides them by
1 - beta^t. Without it the first step is lr * m / sqrt(v) = lr * (1 - beta1) / sqrt(1 - beta2):
3.16 lr with the default betas, too LARGE. The post says the uncorrected first steps are "nearly
frozen, 10x too small"; that looks at m alone and holds only when beta2 <= 1 - (1 - beta1)^2
(0.99 for beta1 = 0.9). This demo measures it:

1. a loss with a constant gradient, L = g * theta, where the closed form is exact:
   uncorrected step_t / lr = (1 - beta1^t) / sqrt(1 - beta2^t), corrected step_t / lr = 1;
2. the first step for several beta2, against the closed form;
3. the first steps of an MLP on two moons, with and without the correction.

What we measured: the uncorrected steps start at 3.16 lr and grow to 6.57 lr at step 12 before
settling to lr over a few thousand steps. On the MLP that is not always harmful: at lr 0.01
(small for this problem) the larger steps even train faster, while at lr 0.1 the uncorrected
run's loss jumps from 0.70 to 1.92 in its first steps, and the corrected run's never rises.

    python demos/bias_correction.py              # pictures in out/
    python demos/bias_correction.py --quick      # fewer steps, for the tests
    python demos/bias_correction.py --out DIR    # pictures in DIR
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import Value, nn, optim  # noqa: E402
from tinygrad_opt.data import make_moons  # noqa: E402
from tinygrad_opt.viz import plot_losses  # noqa: E402

# ----------------------------------------------------------------- configuration
LR = 0.01  # Adam's learning rate in parts 1 and 2 (the ratios step / lr do not depend on it)
BETA1, BETA2 = 0.9, 0.999  # Adam's defaults (PyTorch, optax, the paper)
EPS = 1e-8  # Adam's default eps: it matters only for the smallest gradient below
GRADIENT_SCALES = [1e-3, 1.0, 1e3]  # part 1: constant gradients g of very different sizes
CONSTANT_STEPS = 3000  # part 1: long enough to see the uncorrected steps settle to lr
SHOW_STEPS = [1, 2, 3, 5, 10, 20, 50, 100, 300, 1000, 3000]  # part 1: rows of the table
OTHER_BETA2 = [0.9, 0.99, 0.999, 0.9999]  # part 2: first step for each beta2
MLP_LEARNING_RATES = [0.01, 0.1]  # part 3: a small learning rate and one near the MLP's limit
MLP_STEPS = 100  # part 3: the first steps of the MLP
SEED = 0  # seeds the data and the MLP
QUICK_CONSTANT_STEPS, QUICK_MLP_STEPS = 300, 20  # with --quick


def constant_gradient_steps(gradient: float, steps: int, bias_correction: bool, beta2: float = BETA2):
    """Minimise L = gradient * theta with Adam; return |theta_t - theta_{t-1}| / lr for t = 1 .. steps."""
    theta = Value(0.0)
    opt = optim.Adam([theta], lr=LR, betas=(BETA1, beta2), eps=EPS, bias_correction=bias_correction)
    ratios = []
    for _ in range(steps):
        before = theta.data
        opt.zero_grad()
        (gradient * theta).backward()  # dL/dtheta = gradient, every step
        opt.step()
        ratios.append(abs(theta.data - before) / LR)
    return np.array(ratios)


def closed_form(t: np.ndarray, gradient: float = 1.0, beta2: float = BETA2) -> np.ndarray:
    """Uncorrected Adam's step / lr under a constant gradient: m_t = (1 - beta1^t) g and
    v_t = (1 - beta2^t) g^2, so the step is lr * (1 - beta1^t) |g| / (sqrt(1 - beta2^t) |g| + eps)."""
    return (1 - BETA1**t) * abs(gradient) / (np.sqrt(1 - beta2**t) * abs(gradient) + EPS)


def mlp_first_steps(lr: float, steps: int, bias_correction: bool) -> tuple[list, list]:
    """Train MLP(2, [16, 16, 1]) on two moons; return the losses and the RMS update / lr of each step."""
    X, labels = make_moons(200, noise=0.1, seed=SEED)
    model = nn.MLP(2, [16, 16, 1], seed=SEED)
    opt = optim.Adam(model.parameters(), lr=lr, betas=(BETA1, BETA2), eps=EPS,
                     bias_correction=bias_correction)
    losses, update_sizes = [], []
    for _ in range(steps):
        before = [p.data.copy() for p in model.parameters()]
        loss = nn.binary_cross_entropy_with_logits(model(X).reshape(-1), labels.astype(float))
        opt.zero_grad()
        loss.backward()
        opt.step()
        change = np.concatenate([(p.data - old).ravel()
                                 for p, old in zip(model.parameters(), before, strict=True)])
        losses.append(loss.item())
        update_sizes.append(float(np.sqrt(np.mean(change**2))) / lr)
    return losses, update_sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (for the tests)")
    parser.add_argument("--out", default="out", help="folder for the pictures (default: out)")
    args = parser.parse_args()
    constant_steps = QUICK_CONSTANT_STEPS if args.quick else CONSTANT_STEPS
    mlp_steps = QUICK_MLP_STEPS if args.quick else MLP_STEPS
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. constant gradient: the step sizes, measured against the closed form
    print(f"1. L = g * theta, Adam lr {LR}, betas ({BETA1}, {BETA2}): step size / lr")
    corrected = {g: constant_gradient_steps(g, constant_steps, True) for g in GRADIENT_SCALES}
    uncorrected = {g: constant_gradient_steps(g, constant_steps, False) for g in GRADIENT_SCALES}
    t = np.arange(1, constant_steps + 1)
    formula = closed_form(t)  # for g = 1
    print(f"{'step':>6}{'corrected':>11}" + "".join(f"{f'uncorr. g={g:g}':>17}" for g in GRADIENT_SCALES)
          + f"{'closed form':>13}")
    for step in [s for s in SHOW_STEPS if s <= constant_steps]:
        i = step - 1
        columns = "".join(f"{uncorrected[g][i]:>17.4f}" for g in GRADIENT_SCALES)
        print(f"{step:>6}{corrected[1.0][i]:>11.4f}{columns}{formula[i]:>13.4f}")
    worst = max(abs(uncorrected[g] - closed_form(t, g)).max() for g in GRADIENT_SCALES)
    spread = max(abs(corrected[g] - 1).max() for g in GRADIENT_SCALES)
    peak = int(np.argmax(uncorrected[1.0]))
    first_formula = (1 - BETA1) / math.sqrt(1 - BETA2)
    print(f"first step / lr: corrected {corrected[1.0][0]:.4f}, uncorrected {uncorrected[1.0][0]:.4f} "
          f"(closed form (1 - beta1) / sqrt(1 - beta2) = {first_formula:.4f}; "
          f"the post's claim: {1 - BETA1:.1f})")
    print(f"largest uncorrected step: {uncorrected[1.0][peak]:.4f} lr at step {peak + 1}")
    print(f"largest gap to the closed form (with eps) over {constant_steps} steps and every g: "
          f"uncorrected {worst:.1e}; corrected, to 1: {spread:.1e} (eps against g = 0.001)")

    # 2. the first step for other beta2: where the post's "too small" holds
    print(f"\n2. first uncorrected step / lr for beta1 {BETA1} and several beta2")
    print(f"{'beta2':>8}{'measured':>10}{'closed form':>13}  verdict")
    for beta2 in OTHER_BETA2:
        measured = constant_gradient_steps(1.0, 1, False, beta2)[0]
        expected = (1 - BETA1) / math.sqrt(1 - beta2)
        verdict = "too small" if measured < 0.999 else "too large" if measured > 1.001 else "about right"
        print(f"{beta2:>8}{measured:>10.4f}{expected:>13.4f}  {verdict}")

    # 3. an MLP's first steps, at a small learning rate and at one near its limit
    print(f"\n3. MLP(2, [16, 16, 1]) on two moons, Adam: the first {mlp_steps} steps")
    runs = {}
    print(f"{'lr':>5}{'bias correction':>17}{'loss step 1':>13}{'highest loss':>14}{'final loss':>12}"
          f"{'RMS step/lr, step 1':>21}")
    for lr in MLP_LEARNING_RATES:
        for flag in (True, False):
            losses, update_sizes = mlp_first_steps(lr, mlp_steps, flag)
            runs[f"lr {lr:g}, {'with' if flag else 'without'} correction"] = losses
            print(f"{lr:>5g}{'with' if flag else 'without':>17}{losses[0]:>13.4f}{max(losses):>14.4f}"
                  f"{losses[-1]:>12.4f}{update_sizes[0]:>21.3f}")

    # 4. pictures
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    FigureCanvasAgg(fig)
    steps_ax, loss_ax = fig.subplots(1, 2)
    steps_ax.plot(t, uncorrected[1.0], label="without bias correction (measured)", linewidth=2)
    steps_ax.plot(t, closed_form(t), "k--", label="(1 - β1^t) / sqrt(1 - β2^t)", linewidth=1)
    steps_ax.plot(t, corrected[1.0], label="with bias correction (measured)", linewidth=2)
    steps_ax.axhline(1 - BETA1, color="gray", linestyle=":", label="the post's claim: 0.1")
    steps_ax.set_xscale("log")
    steps_ax.set_xlabel("step t")
    steps_ax.set_ylabel("step size / lr")
    steps_ax.set_title("constant gradient: Adam's step size")
    steps_ax.legend(fontsize=8)
    steps_ax.grid(alpha=0.3)
    plot_losses(runs, log_scale=True, ax=loss_ax)
    loss_ax.set_title("MLP on two moons, Adam: the first steps")
    path = out / "bias_correction.png"
    fig.savefig(path)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
