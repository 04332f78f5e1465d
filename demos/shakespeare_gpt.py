"""Train a character-level GPT on Shakespeare: tokenize -> embed -> attend -> softmax -> loss ->
optimize -> backprop, the whole pipeline the post ends with, in one file to read top to bottom.

The configuration is nanoGPT's for a CPU (its README: n_layer 4, n_head 4, n_embd 128, block 64,
batch 12, 2000 iterations, lr 1e-3 decaying to 1e-4, dropout 0), trained with the modern recipe:
AdamW with betas (0.9, 0.99) and weight decay 0.1 on the matrices only, linear warmup then cosine
decay, gradient clipping at 1.0. A tenth of the text is held out; the held-out loss is measured
every 250 steps. At the end: a checkpoint, and samples at three temperatures.

    python demos/shakespeare_gpt.py                  # the full run (minutes; see docs/transformer.md)
    python demos/shakespeare_gpt.py --quick          # a tiny model for a few steps, for the tests
    python demos/shakespeare_gpt.py --iters 500      # a shorter run
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
from tinygrad_opt.memory import keep_freed_memory  # noqa: E402
from tinygrad_opt.text import CharTokenizer  # noqa: E402

# ----------------------------------------------------------------- configuration
# the model (nanoGPT's CPU configuration)
N_LAYER = 4
N_HEAD = 4
N_EMBD = 128
BLOCK_SIZE = 64  # characters of context
DROPOUT = 0.0
# the training run
BATCH_SIZE = 12
MAX_ITERS = 2000
LEARNING_RATE = 1e-3  # the peak, reached after the warmup
MIN_LR = 1e-4  # where the cosine ends
WARMUP_ITERS = 100
BETAS = (0.9, 0.99)
WEIGHT_DECAY = 0.1  # on matrices only (not on biases and LayerNorm weights)
GRAD_CLIP = 1.0
# measuring
VAL_FRACTION = 0.1  # the last tenth of the text is held out
EVAL_INTERVAL = 250
EVAL_ITERS = 20  # batches averaged per estimate (nanoGPT uses 200; fewer keeps the CPU run short)
TEMPERATURES = (0.5, 1.0, 1.5)
SAMPLE_LENGTH = 300
SEED = 1337
DTYPE = np.float32
QUICK = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=16, max_iters=200, warmup_iters=20,
             eval_interval=100, eval_iters=8, sample_length=60)  # a tiny model: seconds, for the tests


def get_lr(it: int, max_iters: int, warmup_iters: int = WARMUP_ITERS) -> float:
    """nanoGPT's schedule: 1) linear warmup, 2) cosine decay to MIN_LR, 3) MIN_LR after the end."""
    if it < warmup_iters:  # 1) from LEARNING_RATE / (warmup_iters + 1) up to LEARNING_RATE
        return LEARNING_RATE * (it + 1) / (warmup_iters + 1)
    if it > max_iters:  # 3)
        return MIN_LR
    progress = (it - warmup_iters) / (max_iters - warmup_iters)  # 2) from 0 to 1
    coefficient = 0.5 * (1.0 + math.cos(math.pi * progress))  # from 1 to 0
    return MIN_LR + coefficient * (LEARNING_RATE - MIN_LR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny model for a few steps (for the tests)")
    parser.add_argument("--iters", type=int, help=f"training iterations (default {MAX_ITERS})")
    parser.add_argument("--out", default="out", help="folder for the checkpoint (default out)")
    args = parser.parse_args()
    keep_freed_memory()  # each step frees its graph: keep that memory for the next step (memory.py says why)
    settings = dict(n_layer=N_LAYER, n_head=N_HEAD, n_embd=N_EMBD, block_size=BLOCK_SIZE,
                    batch_size=BATCH_SIZE, max_iters=MAX_ITERS, warmup_iters=WARMUP_ITERS,
                    eval_interval=EVAL_INTERVAL,
                    eval_iters=EVAL_ITERS, sample_length=SAMPLE_LENGTH)
    if args.quick:
        settings.update(QUICK)
    if args.iters is not None:
        if not 1 <= args.iters <= 1_000_000:
            parser.error(f"--iters must be between 1 and 1000000, got {args.iters}")
        settings["max_iters"] = args.iters
    max_iters, block_size, batch_size = settings["max_iters"], settings["block_size"], settings["batch_size"]
    warmup_iters = min(settings["warmup_iters"], max_iters - 1)

    # 1. tokenize: every character of the corpus is one token
    text = load_shakespeare()
    tokenizer = CharTokenizer(text)
    data = np.array(tokenizer.encode(text), dtype=np.int64)
    split = int(len(data) * (1 - VAL_FRACTION))
    train_data, val_data = data[:split], data[split:]
    print(f"corpus: {len(text):,} characters, {tokenizer.vocab_size} distinct; "
          f"{len(train_data):,} to train on, {len(val_data):,} held out")
    rng = np.random.default_rng(SEED)

    def get_batch(source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BATCH_SIZE random windows of the text; the targets are the same windows one character later."""
        return text_windows(source, block_size, batch_size, rng)

    def loss_on(x: np.ndarray, y: np.ndarray) -> nn.Module:
        logits = model(x)  # (B, T, V), with targets y of shape (B, T)
        return nn.cross_entropy(logits, y)

    def estimate_loss() -> dict[str, float]:
        """The mean loss over eval_iters batches of each split, in eval mode, without a graph."""
        model.eval()
        with no_grad():
            result = {name: float(np.mean([loss_on(*get_batch(source)).item()
                                           for _ in range(settings["eval_iters"])]))
                      for name, source in (("train", train_data), ("val", val_data))}
        model.train()
        return result

    # 2. the model (embed -> attend -> ...) and the optimizer, decay on the matrices only
    model = nn.GPT(tokenizer.vocab_size, block_size, settings["n_layer"], settings["n_head"],
                   settings["n_embd"], dropout=DROPOUT, seed=SEED).to(DTYPE)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=lambda step: get_lr(step, max_iters, warmup_iters), betas=BETAS)
    print(f"model: {model!r}")

    # 3. the training loop: loss, backprop, clip, step
    start = time.perf_counter()
    history = []
    for it in range(max_iters + 1):
        if it % settings["eval_interval"] == 0 or it == max_iters:
            losses = estimate_loss()
            history.append((it, losses["train"], losses["val"]))
            print(f"step {it:5d}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if it == max_iters:
            break
        loss = loss_on(*get_batch(train_data))
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm(model.parameters(), GRAD_CLIP)
        optimizer.step()
        if it % 10 == 0:
            elapsed = time.perf_counter() - start
            left = elapsed / (it + 1) * (max_iters - it - 1)
            print(f"  iter {it:5d}  loss {loss.item():.4f}  lr {get_lr(it, max_iters, warmup_iters):.2e}  "
                  f"{elapsed / (it + 1) * 1e3:.0f} ms/iter  {left:.0f} s left", flush=True)
    seconds = time.perf_counter() - start

    # 4. what we got: the held-out loss, a checkpoint, and samples (softmax with temperature)
    final = history[-1]
    print(f"\nfinal: train loss {final[1]:.4f}, val loss {final[2]:.4f} after {max_iters} iterations "
          f"in {seconds:.0f} s ({seconds / max_iters * 1e3:.0f} ms/iter)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "shakespeare_gpt.npz")
    print(f"checkpoint: {out / 'shakespeare_gpt.npz'}")
    prompt = np.array([tokenizer.encode("\n")])
    for temperature in TEMPERATURES:
        ids = model.generate(prompt, settings["sample_length"], temperature=temperature, seed=SEED)
        print(f"\n--- sample at temperature {temperature} ---\n{tokenizer.decode(ids[0].tolist())}")


if __name__ == "__main__":
    main()
