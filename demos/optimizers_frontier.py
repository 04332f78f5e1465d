"""The frontier optimizers on the character-level GPT: the same model, data and budget for each.

AdamW with warmup and cosine decay (the tuned baseline), schedule-free AdamW (no schedule),
Prodigy (no learning rate), SOAP, SophiaG, Lion and Muon train the same small GPT on
Shakespeare from the same initial weights on the same batches. Each method that has a
learning rate is swept over three rates; each is then judged at its best rate by the loss
on held-out text. Also measured: time per step (the extra work of each method: SOAP's
eigenbases, SophiaG's Hessian estimate, Muon's Newton-Schulz iteration) and how sensitive
each is to its rate (the rates whose held-out loss is within WITHIN of its best).

The configuration is smaller than nanoGPT's CPU one (demos/shakespeare_gpt.py), so that the
19 runs take minutes on a CPU: 2 layers, 4 heads, 64 channels, 32 characters of context,
batches of 16, 300 steps. At this size and budget the model learns the letters, common words
and the layout of a play, not Shakespeare; what wins here says little about what wins at a
scale a thousand times larger.

    python demos/optimizers_frontier.py              # the full comparison (4 to 10 minutes)
    python demos/optimizers_frontier.py --quick      # a tiny model for a few steps, for the tests
    python demos/optimizers_frontier.py --out DIR    # pictures in DIR (default out)
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import nn, no_grad, optim  # noqa: E402
from tinygrad_opt.data import load_shakespeare, text_windows  # noqa: E402
from tinygrad_opt.optim import schedules  # noqa: E402
from tinygrad_opt.text import CharTokenizer  # noqa: E402
from tinygrad_opt.viz import plot_losses  # noqa: E402

# ----------------------------------------------------------------- configuration
# the model: a small GPT (nanoGPT's CPU configuration has 4 layers, 128 channels, block 64)
N_LAYER = 2
N_HEAD = 4
N_EMBD = 64
BLOCK_SIZE = 32  # characters of context
# the budget, the same for every method
BATCH_SIZE = 16
STEPS = 300
WARMUP_STEPS = 30  # for the methods with a schedule: linear warmup, then cosine decay ...
FLOOR = 0.1  # ... to a tenth of the peak (nanoGPT: 1e-3 down to 1e-4)
WEIGHT_DECAY = 0.1  # decoupled, on matrices only (not on biases and LayerNorm gains), for every method
GRAD_CLIP = 1.0  # every method sees clipped gradients, as in nanoGPT
HESSIAN_EVERY = 10  # SophiaG: k, a Hessian estimate from sampled labels every k steps
# measuring
VAL_FRACTION = 0.1  # the last tenth of the text is held out
EVAL_BATCHES = 8  # the held-out loss: the mean over these batches, the same batches for every run
EVAL_INTERVAL = 50
SMOOTHING = 20  # the training-loss curves are running means over this many steps
WITHIN = 0.05  # sensitivity: the rates whose held-out loss is within 0.05 nats of the method's best
SEED = 1337
DTYPE = np.float32
QUICK = dict(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=4, steps=12, warmup_steps=2,
             eval_batches=2, eval_interval=6)

# the learning rates swept: three per method, half a decade apart, around the values the
# methods' authors recommend (Lion and SophiaG below AdamW; Muon's orthogonalised steps near
# 0.02), moved up where a first run found the best at the top of the grid, so that each best
# is inside its grid. Prodigy learns its rate: lr = 1 multiplies it.
LEARNING_RATES = {
    "AdamW": [3e-3, 1e-2, 3e-2],
    "ScheduleFreeAdamW": [3e-3, 1e-2, 3e-2],
    "Prodigy": [1.0],
    "SOAP": [1e-2, 3e-2, 1e-1],
    "SophiaG": [3e-4, 1e-3, 3e-3],
    "Lion": [1e-3, 3e-3, 1e-2],
    "Muon": [0.02, 0.05, 0.1],
}


def warmup_cosine(peak: float, steps: int, warmup_steps: int) -> schedules.Schedule:
    """nanoGPT's schedule: linear warmup to `peak` (its first step not 0, as in nanoGPT), cosine
    decay to FLOOR * peak at the end."""
    return schedules.warmup_cosine(peak, warmup_steps, steps, floor=FLOOR * peak, start=peak / warmup_steps)


def make_optimizers(name: str, model: nn.GPT, lr: float, steps: int, warmup_steps: int,
                    adamw_lr: float) -> list[optim.Optimizer]:
    """The optimizer(s) of a method at rate `lr`. Weight decay on the matrices only, for all.

    Muon takes the matrices inside the blocks; the token embedding (tied to the output layer)
    and the position embedding go to a separate AdamW, as the Muon authors' nanoGPT runs do,
    at AdamW's tuned rate `adamw_lr`; Muon hands biases and LayerNorm gains to its own AdamW
    step, also at `adamw_lr`.
    """
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    others = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": matrices, "weight_decay": WEIGHT_DECAY}, {"params": others, "weight_decay": 0.0}]
    schedule = warmup_cosine(lr, steps, warmup_steps)
    if name == "AdamW":
        return [optim.AdamW(groups, lr=schedule, betas=(0.9, 0.99))]
    if name == "ScheduleFreeAdamW":  # no decay: the average of the iterates does its work
        return [optim.ScheduleFreeAdamW(groups, lr=lr, betas=(0.9, 0.99), warmup_steps=warmup_steps)]
    if name == "Prodigy":  # lr 1 times the same warmup and cosine shape, as Prodigy's authors advise
        return [optim.Prodigy(groups, lr=schedule, betas=(0.9, 0.99), safeguard_warmup=True)]
    if name == "SOAP":
        return [optim.SOAP(groups, lr=schedule)]
    if name == "SophiaG":
        return [optim.SophiaG(groups, lr=schedule)]
    if name == "Lion":
        return [optim.Lion(groups, lr=schedule)]
    if name == "Muon":
        embeddings = [model.transformer.wte.weight, model.transformer.wpe.weight]
        hidden = [p for p in matrices if all(p is not e for e in embeddings)]
        adamw_schedule = warmup_cosine(adamw_lr, steps, warmup_steps)
        return [optim.Muon(hidden + others, lr=schedule, weight_decay=WEIGHT_DECAY, adamw_lr=adamw_schedule,
                           adamw_betas=(0.9, 0.99), adamw_weight_decay=0.0),
                optim.AdamW(embeddings, lr=adamw_schedule, betas=(0.9, 0.99), weight_decay=WEIGHT_DECAY)]
    raise ValueError(f"unknown method {name!r}: expected one of {list(LEARNING_RATES)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny model for a few steps (for the tests)")
    parser.add_argument("--out", default="out", help="folder for the pictures (default out)")
    args = parser.parse_args()
    settings = dict(n_layer=N_LAYER, n_head=N_HEAD, n_embd=N_EMBD, block_size=BLOCK_SIZE,
                    batch_size=BATCH_SIZE, steps=STEPS, warmup_steps=WARMUP_STEPS,
                    eval_batches=EVAL_BATCHES, eval_interval=EVAL_INTERVAL)
    if args.quick:
        settings.update(QUICK)
    steps, block_size, batch_size = settings["steps"], settings["block_size"], settings["batch_size"]

    # 1. the data: characters as tokens, the last tenth held out
    text = load_shakespeare()
    tokenizer = CharTokenizer(text)
    data = np.array(tokenizer.encode(text), dtype=np.int64)
    split = int(len(data) * (1 - VAL_FRACTION))
    train_data, val_data = data[:split], data[split:]

    def get_batch(source: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return text_windows(source, block_size, batch_size, rng)  # targets: one character later

    held_out_rng = np.random.default_rng(SEED + 1)
    held_out = [get_batch(val_data, held_out_rng) for _ in range(settings["eval_batches"])]

    def loss_on(model: nn.GPT, x: np.ndarray, y: np.ndarray):
        logits = model(x)  # (B, T, V)
        return nn.cross_entropy(logits.reshape(-1, tokenizer.vocab_size), y.reshape(-1)), logits

    def held_out_loss(model: nn.GPT, optimizers: list[optim.Optimizer]) -> float:
        """The mean loss over the held-out batches, at the point each method answers with:
        for schedule-free AdamW the average x (opt.eval()), for the others the weights themselves."""
        for opt in optimizers:
            if isinstance(opt, optim.ScheduleFreeAdamW):
                opt.eval()
        model.eval()
        with no_grad():
            loss = float(np.mean([loss_on(model, x, y)[0].item() for x, y in held_out]))
        model.train()
        for opt in optimizers:
            if isinstance(opt, optim.ScheduleFreeAdamW):
                opt.train()
        return loss

    def train(name: str, lr: float, adamw_lr: float) -> dict:
        """One run from the same initial weights on the same batches: training losses, held-out
        losses every eval_interval steps, and the seconds spent training (not evaluating)."""
        model = nn.GPT(tokenizer.vocab_size, block_size, settings["n_layer"], settings["n_head"],
                       settings["n_embd"], seed=SEED).to(DTYPE)
        optimizers = make_optimizers(name, model, lr, steps, settings["warmup_steps"], adamw_lr)
        batches, labels_rng = np.random.default_rng(SEED), np.random.default_rng(SEED + 2)
        losses, held_out_curve, seconds = [], [(0, held_out_loss(model, optimizers))], 0.0
        with np.errstate(all="ignore"):  # a diverging run overflows: that is what we measure
            for step in range(1, steps + 1):
                x, y = get_batch(train_data, batches)
                start = time.perf_counter()
                loss, _ = loss_on(model, x, y)
                for opt in optimizers:
                    opt.zero_grad()
                loss.backward()
                optim.clip_grad_norm(model.parameters(), GRAD_CLIP)
                for opt in optimizers:
                    if isinstance(opt, optim.SophiaG):
                        opt.step(bs=batch_size * block_size)  # B: the tokens in a batch, as in Sophia's runs
                    else:
                        opt.step()
                if name == "SophiaG" and step % HESSIAN_EVERY == 0:
                    # Gauss-Newton-Bartlett: the gradient of the loss on labels drawn from the
                    # model's own softmax (not the real next characters), squared, estimates the
                    # diagonal of the Gauss-Newton matrix
                    _, logits = loss_on(model, x, y)
                    sampled = optim.sample_labels(logits, labels_rng)  # (B, T)
                    for opt in optimizers:
                        opt.zero_grad()
                    nn.cross_entropy(logits.reshape(-1, tokenizer.vocab_size), sampled.reshape(-1)).backward()
                    for opt in optimizers:
                        opt.update_hessian()
                seconds += time.perf_counter() - start
                losses.append(loss.item())
                if not math.isfinite(losses[-1]):
                    break
                if step % settings["eval_interval"] == 0 or step == steps:
                    held_out_curve.append((step, held_out_loss(model, optimizers)))
        final = held_out_curve[-1][1] if len(losses) == steps else math.nan
        prodigy = [opt for opt in optimizers if isinstance(opt, optim.Prodigy)]
        return dict(losses=losses, held_out=held_out_curve, final=final,
                    ms_per_step=seconds / len(losses) * 1e3,
                    d=prodigy[0].param_groups[0]["d"] if prodigy else None)

    model = nn.GPT(tokenizer.vocab_size, block_size, settings["n_layer"], settings["n_head"],
                   settings["n_embd"])
    print(f"corpus: {len(text):,} characters, {tokenizer.vocab_size} distinct; "
          f"{len(train_data):,} to train on, {len(val_data):,} held out")
    print(f"model: {model!r}; batch {batch_size} x {block_size} characters, {steps} steps; "
          f"held-out loss over {len(held_out)} batches; warmup {settings['warmup_steps']} steps, "
          f"cosine to {FLOOR:g} x the peak; weight decay {WEIGHT_DECAY}, clipping at {GRAD_CLIP}")

    # 2. the sweep: every method at each of its rates (AdamW first: Muon's AdamW part uses its best rate)
    start = time.perf_counter()
    runs, best_lr = {}, {}
    runs_total = sum(len(rates) for rates in LEARNING_RATES.values())
    for name, rates in LEARNING_RATES.items():
        for lr in rates:
            runs[name, lr] = train(name, lr, adamw_lr=best_lr.get("AdamW", 3e-3))
            elapsed = time.perf_counter() - start
            left = elapsed / len(runs) * (runs_total - len(runs))
            print(f"  {name:<18} lr {lr:<7g} held-out loss {runs[name, lr]['final']:.4f}  "
                  f"{runs[name, lr]['ms_per_step']:5.1f} ms/step  ({elapsed:.0f} s, {left:.0f} s left)",
                  flush=True)
        finals = [runs[name, lr]["final"] for lr in rates]
        best_lr[name] = rates[int(np.nanargmin(finals))] if not np.all(np.isnan(finals)) else None

    print(f"\nlearning-rate sweep: held-out loss after {steps} steps at each rate ('-': diverged)")
    for name, rates in LEARNING_RATES.items():
        finals = [runs[name, lr]["final"] for lr in rates]
        cells = [f"{lr:g}: {'-' if math.isnan(final) else format(final, '.4f')}"
                 for lr, final in zip(rates, finals, strict=True)]
        print(f"sweep {name:<18}" + "   ".join(cells))

    # 3. each method at its best rate
    initial = runs["AdamW", LEARNING_RATES["AdamW"][0]]["held_out"][0][1]
    print(f"\neach at its best rate (held-out loss at the start: {initial:.4f}; ms/step: training only, "
          f"on a shared machine)")
    print(f"{'method':<18} {'lr':>7} {'held-out loss':>13} {'ms/step':>8}  rates within {WITHIN} of its best")
    curves = {}
    for name, rates in LEARNING_RATES.items():
        lr = best_lr[name]
        if lr is None:
            print(f"{name:<18} {'-':>7} {'-':>13} {'-':>8}  diverged at every rate")
            continue
        run = runs[name, lr]
        finals = np.array([runs[name, rate]["final"] for rate in rates])
        good = [rate for rate, final in zip(rates, finals, strict=True) if final <= run["final"] + WITHIN]
        note = f" (learnt d {run['d']:.2g})" if run["d"] is not None else ""
        print(f"{name:<18} {lr:>7g} {run['final']:>13.4f} {run['ms_per_step']:>8.1f}  "
              f"{len(good)} of {len(rates)}: {', '.join(f'{rate:g}' for rate in good)}{note}")
        window = min(SMOOTHING, len(run["losses"]))
        curves[f"{name} (lr {lr:g})"] = np.convolve(run["losses"], np.ones(window) / window, mode="valid")

    # 4. pictures: smoothed training loss, and the held-out loss along the run
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    plot_losses(curves, ax=left)
    left.set_title(f"training loss, running mean over {SMOOTHING} steps")
    left.legend(fontsize=7)
    for name in LEARNING_RATES:
        if best_lr[name] is not None:
            steps_done, values = zip(*runs[name, best_lr[name]]["held_out"], strict=True)
            right.plot(steps_done, values, "o-", markersize=3, label=f"{name}: {values[-1]:.4f}")
    right.set_title("held-out loss (schedule-free AdamW at its average x)")
    right.set_xlabel("step")
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    path = out / "optimizers_frontier.png"
    fig.savefig(path, dpi=80)
    print(f"\nwrote {path}; {time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
