"""Three lessons of the transformer recipe, measured on the character-level GPT: warmup,
decoupled weight decay, gradient clipping.

nanoGPT trains with AdamW, a linear warmup then cosine decay, weight decay 0.1 on the matrices
and gradients clipped at norm 1. Each lesson takes that recipe and changes one thing:

1. Warmup on and off, at the tuned peak rate and at 3 and 10 times it: does Adam without
   warmup spike or diverge here?
2. AdamW against Adam with an L2 penalty (`Adam(weight_decay=λ)`), at λ = 0.1 and 1: the decay
   shrinks the weights in one, passes through Adam's normalisation in the other.
3. Clipping on and off, at the tuned rate and at 3 times it: how often it acts, and what it
   changes.

The model and budget are those of demos/optimizers_frontier.py (2 layers, 64 channels,
block 32, batch 16, 300 steps), where AdamW's best peak rate of the three tried was 1e-2.
A spike is the largest training loss after the first step, over the loss at the start; a
run diverges when its loss stops being finite. One seed, the same initial weights and
batches for every run: a difference in the third decimal of a held-out loss is noise.

    python demos/transformer_lessons.py             # the three lessons (a few minutes)
    python demos/transformer_lessons.py --quick     # a tiny model for a few steps, for the tests
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

# ----------------------------------------------------------------- configuration
# the model and the budget (as demos/optimizers_frontier.py)
N_LAYER = 2
N_HEAD = 4
N_EMBD = 64
BLOCK_SIZE = 32
BATCH_SIZE = 16
STEPS = 300
# the recipe every lesson starts from
PEAK_LR = 1e-2  # AdamW's best peak rate in demos/optimizers_frontier.py's sweep
WARMUP_STEPS = 30
FLOOR = 0.1  # the cosine ends at a tenth of the peak
BETAS = (0.9, 0.99)
WEIGHT_DECAY = 0.1  # on matrices only
GRAD_CLIP = 1.0
# the lessons
WARMUP_MULTIPLES = [1, 3, 10]  # lesson 1: peak rates, as multiples of PEAK_LR
DECAYS = [0.1, 1.0]  # lesson 2: lambda, for AdamW's decay and for Adam's L2 penalty
CLIP_MULTIPLES = [1, 3]  # lesson 3: peak rates, as multiples of PEAK_LR
# measuring
VAL_FRACTION = 0.1
EVAL_BATCHES = 8
SEED = 1337
DTYPE = np.float32
QUICK = dict(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=4, steps=20, warmup_steps=4,
             eval_batches=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny model for a few steps (for the tests)")
    args = parser.parse_args()
    settings = dict(n_layer=N_LAYER, n_head=N_HEAD, n_embd=N_EMBD, block_size=BLOCK_SIZE,
                    batch_size=BATCH_SIZE, steps=STEPS, warmup_steps=WARMUP_STEPS, eval_batches=EVAL_BATCHES)
    if args.quick:
        settings.update(QUICK)
    steps, block_size, batch_size = settings["steps"], settings["block_size"], settings["batch_size"]

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
        return nn.cross_entropy(model(x).reshape(-1, tokenizer.vocab_size), y.reshape(-1))

    runs = {}  # a run is made once, and shared by the lessons that show it

    def train(lr: float, warmup: bool = True, decay: str = "AdamW", lam: float = WEIGHT_DECAY,
              clip: bool = True) -> dict:
        """The recipe with one change; returns the training losses, gradient norms (before
        clipping), the held-out loss at the end and the norm of the weight matrices."""
        key = (lr, warmup, decay, lam, clip)
        if key in runs:
            return runs[key]
        model = nn.GPT(tokenizer.vocab_size, block_size, settings["n_layer"], settings["n_head"],
                       settings["n_embd"], seed=SEED).to(DTYPE)
        matrices = [p for p in model.parameters() if p.ndim >= 2]
        others = [p for p in model.parameters() if p.ndim < 2]
        groups = [{"params": matrices, "weight_decay": lam}, {"params": others, "weight_decay": 0.0}]
        if warmup:
            schedule = schedules.warmup_cosine(lr, settings["warmup_steps"], steps, floor=FLOOR * lr,
                                               start=lr / settings["warmup_steps"])
        else:
            schedule = schedules.cosine(lr, steps, floor=FLOOR * lr)
        if decay == "AdamW":  # theta <- theta (1 - lr lambda), then Adam's step
            opt = optim.AdamW(groups, lr=schedule, betas=BETAS)
        else:  # g <- g + lambda theta, then Adam's step: the penalty is divided by sqrt(v_hat) too
            opt = optim.Adam(groups, lr=schedule, betas=BETAS)
        batches = np.random.default_rng(SEED)
        losses, norms = [], []
        with np.errstate(all="ignore"):  # a diverging run overflows: that is what we measure
            for _ in range(steps):
                loss = loss_on(model, *get_batch(train_data, batches))
                opt.zero_grad()
                loss.backward()
                if clip:
                    norms.append(optim.clip_grad_norm(model.parameters(), GRAD_CLIP))
                else:
                    norms.append(math.sqrt(sum(float(np.sum(np.square(p.grad))) for p in model.parameters())))
                opt.step()
                losses.append(loss.item())
                if not math.isfinite(losses[-1]):
                    break
            model.eval()
            with no_grad():
                held = float(np.mean([loss_on(model, x, y).item() for x, y in held_out]))
        diverged = len(losses) < steps or not math.isfinite(held)
        runs[key] = dict(losses=losses, norms=np.array(norms), held_out=math.nan if diverged else held,
                         spike=max(losses[1:]) / losses[0] if all(map(math.isfinite, losses)) else math.inf,
                         weight_norm=math.sqrt(sum(float(np.sum(np.square(p.data))) for p in matrices)))
        return runs[key]

    def cell(value: float, width: int, digits: int = 4) -> str:
        return f"{'-' if not math.isfinite(value) else f'{value:.{digits}f}':>{width}}"

    start = time.perf_counter()
    model = nn.GPT(tokenizer.vocab_size, block_size, settings["n_layer"], settings["n_head"],
                   settings["n_embd"])
    print(f"model: {model!r}; batch {batch_size} x {block_size}, {steps} steps; AdamW {BETAS}, peak lr "
          f"{PEAK_LR:g}, warmup {settings['warmup_steps']} steps then cosine to {FLOOR:g} x the peak, decay "
          f"{WEIGHT_DECAY} on matrices, clipping at {GRAD_CLIP}; held-out loss over {len(held_out)} batches")

    # ------------------------------------------------------------ lesson 1: warmup
    print("\n1. Warmup on and off. spike: the largest training loss after the first step over the loss at "
          "the start (1.00: never above it); '-': diverged")
    print(f"{'peak lr':>8} {'warmup: spike':>14} {'held-out':>9} {'no warmup: spike':>17} {'held-out':>9}")
    for multiple in WARMUP_MULTIPLES:
        lr = PEAK_LR * multiple
        on, off = train(lr, warmup=True), train(lr, warmup=False)
        print(f"{lr:>8g} {cell(on['spike'], 14, 2)} {cell(on['held_out'], 9)} {cell(off['spike'], 17, 2)} "
              f"{cell(off['held_out'], 9)}", flush=True)

    # ------------------------------------------------------------ lesson 2: AdamW against Adam + L2
    print(f"\n2. AdamW against Adam + L2, peak lr {PEAK_LR:g} with warmup; weight norm: of all the matrices "
          f"at the end")
    print(f"{'decay':<16} {'lambda':>7} {'held-out':>9} {'weight norm':>12}")
    rows = [("none", 0.0)] + [(kind, lam) for lam in DECAYS for kind in ("AdamW", "Adam + L2")]
    for kind, lam in rows:
        run = train(PEAK_LR, decay="Adam" if kind == "Adam + L2" else "AdamW", lam=lam)
        print(f"{kind:<16} {lam:>7g} {cell(run['held_out'], 9)} {run['weight_norm']:>12.2f}", flush=True)

    # ------------------------------------------------------------ lesson 3: clipping
    print(f"\n3. Clipping at {GRAD_CLIP} on and off, with warmup; gradient norms before clipping")
    print(f"{'peak lr':>8} {'clip':>5} {'held-out':>9} {'spike':>6} {'median norm':>12} {'max norm':>9} "
          f"{'steps above 1':>14}")
    for multiple in CLIP_MULTIPLES:
        lr = PEAK_LR * multiple
        for clip in (True, False):
            run = train(lr, clip=clip)
            above = f"{int(np.sum(run['norms'] > GRAD_CLIP))} of {len(run['norms'])}"
            print(f"{lr:>8g} {'on' if clip else 'off':>5} {cell(run['held_out'], 9)} "
                  f"{cell(run['spike'], 6, 2)} {np.median(run['norms']):>12.3f} {np.max(run['norms']):>9.3f} "
                  f"{above:>14}", flush=True)
    print(f"\n{len(runs)} runs in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
