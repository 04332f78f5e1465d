"""nn.GPT beside a PyTorch twin with the same weights: nanoGPT's CPU configuration, one AdamW step.

    python benchmarks/bench_gpt.py [--rounds 7] [--steps 3]    # check in float64, then time float32
    python benchmarks/bench_gpt.py --train 2000                # train both sides as the demo does

The model is nanoGPT's CPU configuration (4 layers, 4 heads, 128 wide, 64 characters of
context, batches of 12) on the Shakespeare characters. The PyTorch side is a small model
written here with nanoGPT's parameter names, so one state dict moves across unchanged; it
takes PyTorch's fastest CPU path: `F.scaled_dot_product_attention`, `F.layer_norm` and
AdamW with `fused=True` (or `foreach=True` where fused is not available: the script says
which). Both sides run on one thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)).

1. The check: in float64, the same weights and batch give the same loss and gradients on
   both sides, and one AdamW step the same weights.
2. The time of one training step (forward and loss, backward, AdamW) in float32, in rounds
   that take turns, so the machine's noise falls on both; medians and the ratio.
3. The peak memory of one step above what was live before it: tracemalloc for ours (NumPy
   reports its buffers to it), PyTorch's profiler (its CPU allocator's running total) for torch.

With --train ITERS both sides train as demos/shakespeare_gpt.py does: the same weights, the
same batches (one generator, seeded and drawn in the same order), warmup and cosine decay,
AdamW with decay on matrices only, clipping at 1.0. Each prints its held-out loss and its
wall time. Without PyTorch the script says so and stops.

BLAS kernels: a pin of NumPy's OpenBLAS to older kernels (OPENBLAS_CORETYPE) is removed for
the run, or with --keep-blas-pin kept and matched on PyTorch's side: benchmarks/blas_note.py.
The process keeps freed memory for the next step (memory.keep_freed_memory), as the demo does;
both sides run in it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One BLAS thread, set before NumPy (or torch) loads its BLAS: both sides on one core.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # time this checkout, not an installed copy

from blas_note import KEEP_PIN, KEEP_PIN_HELP, settle_blas_kernels  # noqa: E402  (beside this file)

BLAS_KERNELS = settle_blas_kernels()  # before NumPy and PyTorch load their BLAS

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from tinygrad_opt import nn, no_grad, optim  # noqa: E402
from tinygrad_opt.data import load_shakespeare, text_windows  # noqa: E402
from tinygrad_opt.memory import keep_freed_memory  # noqa: E402
from tinygrad_opt.text import CharTokenizer  # noqa: E402

# ----------------------------------------------------------------- configuration
# the model and batch: nanoGPT's CPU configuration, as demos/shakespeare_gpt.py
N_LAYER = 4
N_HEAD = 4
N_EMBD = 128
BLOCK_SIZE = 64
BATCH_SIZE = 12
# the recipe of demos/shakespeare_gpt.py
LEARNING_RATE = 1e-3
MIN_LR = 1e-4
WARMUP_ITERS = 100
BETAS = (0.9, 0.99)
WEIGHT_DECAY = 0.1  # on matrices only
GRAD_CLIP = 1.0
VAL_FRACTION = 0.1
EVAL_INTERVAL = 250
EVAL_ITERS = 20
SEED = 1337


def get_lr(it: int, max_iters: int) -> float:
    """demos/shakespeare_gpt.py's schedule: linear warmup, cosine decay to MIN_LR, then MIN_LR."""
    if it < WARMUP_ITERS:
        return LEARNING_RATE * (it + 1) / (WARMUP_ITERS + 1)
    if it > max_iters:
        return MIN_LR
    progress = (it - WARMUP_ITERS) / (max_iters - WARMUP_ITERS)
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * progress)) * (LEARNING_RATE - MIN_LR)


# ---------------------------------------------------------------- the PyTorch twin
def torch_gpt(torch: Any, vocab_size: int) -> Any:
    """nanoGPT's architecture in PyTorch, with its parameter names, on PyTorch's fused kernels."""
    tnn, F = torch.nn, torch.nn.functional  # noqa: N806

    class CausalSelfAttention(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = tnn.Linear(N_EMBD, 3 * N_EMBD)
            self.c_proj = tnn.Linear(N_EMBD, N_EMBD)

        def forward(self, x: Any) -> Any:
            B, T, C = x.shape  # noqa: N806
            q, k, v = (t.view(B, T, N_HEAD, C // N_HEAD).transpose(1, 2)  # (B, nh, T, hs)
                       for t in self.c_attn(x).split(C, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
            return self.c_proj(y.transpose(1, 2).reshape(B, T, C))

    class MLP(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_fc = tnn.Linear(N_EMBD, 4 * N_EMBD)
            self.c_proj = tnn.Linear(4 * N_EMBD, N_EMBD)

        def forward(self, x: Any) -> Any:
            return self.c_proj(F.gelu(self.c_fc(x)))  # the exact (erf) GELU, as ours

    class Block(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = tnn.LayerNorm(N_EMBD)  # F.layer_norm inside
            self.attn = CausalSelfAttention()
            self.ln_2 = tnn.LayerNorm(N_EMBD)
            self.mlp = MLP()

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = tnn.ModuleDict({
                "wte": tnn.Embedding(vocab_size, N_EMBD),
                "wpe": tnn.Embedding(BLOCK_SIZE, N_EMBD),
                "h": tnn.ModuleList([Block() for _ in range(N_LAYER)]),
                "ln_f": tnn.LayerNorm(N_EMBD),
            })
            self.lm_head = tnn.Linear(N_EMBD, vocab_size, bias=False)
            self.lm_head.weight = self.transformer.wte.weight  # tied, as ours

        def forward(self, ids: Any) -> Any:
            t = self.transformer
            x = t.wte(ids) + t.wpe(torch.arange(ids.shape[1]))
            for block in t.h:
                x = block(x)
            return self.lm_head(t.ln_f(x))  # (B, T, V)

    return GPT()


def twins(torch: Any, vocab_size: int, dtype: Any) -> tuple[nn.GPT, Any]:
    """Our GPT (nanoGPT's initialisation, seeded) and the torch twin holding the same weights."""
    ours = nn.GPT(vocab_size, BLOCK_SIZE, N_LAYER, N_HEAD, N_EMBD, seed=SEED).to(dtype)
    theirs = torch_gpt(torch, vocab_size).to(torch.float64 if dtype == np.float64 else torch.float32)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def our_adamw(model: nn.GPT, lr: float | Callable[[int], float]) -> optim.AdamW:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                        {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=BETAS)


def torch_adamw(torch: Any, model: Any, lr: float) -> tuple[Any, str]:
    """PyTorch's fastest AdamW on the CPU: fused if this build has it, else foreach."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}]
    try:  # this build refuses fused=True here if it has no fused CPU kernel
        return torch.optim.AdamW(groups, lr=lr, betas=BETAS, fused=True), "fused"
    except RuntimeError:
        return torch.optim.AdamW(groups, lr=lr, betas=BETAS, foreach=True), "foreach"


# --------------------------------------------------------------------- the data
def shakespeare_ids() -> tuple[np.ndarray, np.ndarray, int]:
    """The demo's data: one id per character, the last tenth held out."""
    text = load_shakespeare()
    tokenizer = CharTokenizer(text)
    data = np.array(tokenizer.encode(text), dtype=np.int64)
    split = int(len(data) * (1 - VAL_FRACTION))
    return data[:split], data[split:], tokenizer.vocab_size


def get_batch(source: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The demo's sampling: BATCH_SIZE random windows, the targets one character later."""
    return text_windows(source, BLOCK_SIZE, BATCH_SIZE, rng)


# -------------------------------------------------------------------- one step
def our_loss(model: nn.GPT, x: np.ndarray, y: np.ndarray) -> Any:
    logits = model(x)  # (B, T, V)
    return nn.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def torch_loss(torch: Any, model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    logits = model(torch.from_numpy(x))
    targets = torch.from_numpy(y).reshape(-1)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)


def our_step(model: nn.GPT, optimizer: optim.AdamW) -> Callable[[np.ndarray, np.ndarray], list[float]]:
    def step(x: np.ndarray, y: np.ndarray) -> list[float]:
        """One training step; returns the seconds of forward + loss, backward, AdamW."""
        t0 = time.perf_counter()
        loss = our_loss(model, x, y)
        t1 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        return [t1 - t0, t2 - t1, time.perf_counter() - t2]
    return step


def torch_step(torch: Any, model: Any, optimizer: Any) -> Callable[[np.ndarray, np.ndarray], list[float]]:
    def step(x: np.ndarray, y: np.ndarray) -> list[float]:
        t0 = time.perf_counter()
        loss = torch_loss(torch, model, x, y)
        t1 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        return [t1 - t0, t2 - t1, time.perf_counter() - t2]
    return step


# ------------------------------------------------------------------- 1. the check
def check_float64(torch: Any, vocab_size: int, batch: tuple[np.ndarray, np.ndarray]) -> None:
    ours, theirs = twins(torch, vocab_size, np.float64)
    loss = our_loss(ours, *batch)
    loss.backward()
    reference = torch_loss(torch, theirs, *batch)
    reference.backward()
    worst_grad = max(relative_error(p.grad, dict(theirs.named_parameters())[name].grad.numpy())
                     for name, p in ours.named_parameters())
    print(f"float64 check: loss {loss.item():.12f} (ours) vs {reference.item():.12f} (torch), "
          f"relative difference {abs(loss.item() - reference.item()) / abs(reference.item()):.1e}; "
          f"gradients: largest relative difference {worst_grad:.1e}")
    optimizer, _ = torch_adamw(torch, theirs, LEARNING_RATE)
    our_adamw(ours, LEARNING_RATE).step()
    optimizer.step()
    worst_weight = max(relative_error(p.data, dict(theirs.named_parameters())[name].detach().numpy())
                       for name, p in ours.named_parameters())
    print(f"               after one AdamW step, weights: largest relative difference {worst_weight:.1e}")


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """max |ours - reference|, relative to the largest |reference| of that array."""
    return float(np.max(np.abs(ours - reference)) / max(np.max(np.abs(reference)), 1e-300))


# -------------------------------------------------------------------- 2. the time
def time_steps(torch: Any, vocab_size: int, batches: list, rounds: int, steps: int) -> None:
    ours, theirs = twins(torch, vocab_size, np.float32)
    torch_optimizer, path = torch_adamw(torch, theirs, LEARNING_RATE)
    sides = {"tinygrad_opt": our_step(ours, our_adamw(ours, LEARNING_RATE)),
             "PyTorch": torch_step(torch, theirs, torch_optimizer)}
    for step in sides.values():  # warm up: caches, the optimizers' state
        for x, y in batches[:2]:
            step(x, y)
    totals: dict[str, list[float]] = {name: [] for name in sides}
    phases: dict[str, list[list[float]]] = {name: [] for name in sides}
    faults = {name: 0 for name in sides}  # page faults: memory malloc gave back to the system and took again
    ratios = []
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))  # take turns going first
        for name in order:
            gc.collect()
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            for i in range(steps):
                phases[name].append(sides[name](*batches[(r * steps + i) % len(batches)]))
            totals[name].append((time.perf_counter() - start) / steps)
            faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
        ratios.append(totals["tinygrad_opt"][-1] / totals["PyTorch"][-1])
    print(f"\nfloat32, one thread; {rounds} rounds of {steps} steps each, the sides taking turns; "
          f"PyTorch's AdamW: {path}\n")
    print("| side | ms per step (median) | forward + loss | backward | AdamW step | page faults a step |")
    print("|---|---|---|---|---|---|")
    for name in sides:
        forward, backward, update = (statistics.median(p[i] for p in phases[name]) * 1e3 for i in range(3))
        print(f"| {name} | {statistics.median(totals[name]) * 1e3:.0f} | {forward:.1f} | {backward:.1f} "
              f"| {update:.2f} | {faults[name] / (rounds * steps):.0f} |")
    print(f"\nours / PyTorch: {statistics.median(ratios):.2f} (median of the rounds' ratios; "
          f"from {min(ratios):.2f} to {max(ratios):.2f})")


# ------------------------------------------------------------------ 3. the memory
def peak_memory(torch: Any, vocab_size: int, batch: tuple[np.ndarray, np.ndarray]) -> None:
    ours, theirs = twins(torch, vocab_size, np.float32)
    step = our_step(ours, our_adamw(ours, LEARNING_RATE))
    step(*batch)  # the optimizer's state and the gradient arrays exist before we measure
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    step(*batch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ours_peak = peak - before

    from torch.profiler import ProfilerActivity, profile

    torch_optimizer, _ = torch_adamw(torch, theirs, LEARNING_RATE)
    step = torch_step(torch, theirs, torch_optimizer)
    step(*batch)
    torch_optimizer.zero_grad()  # the last step's gradients are freed here, outside the measurement
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        step(*batch)
    with tempfile.TemporaryDirectory() as folder:
        trace = os.path.join(folder, "trace.json")
        profiler.export_chrome_trace(trace)
        with open(trace) as file:
            events = json.load(file)["traceEvents"]
    totals = [e["args"]["Total Allocated"] for e in events if e.get("name") == "[memory]"
              and e["args"].get("Device Type") == 0]
    gradients = sum(p.numel() * p.element_size() for p in theirs.parameters())
    print(f"\npeak memory of one float32 step above what was live before it (parameters: "
          f"{gradients / 1e6:.1f} MB):")
    print(f"  tinygrad_opt: {ours_peak / 1e6:.1f} MB (tracemalloc: NumPy buffers and Python objects; the "
          f"gradient arrays are kept between steps, so not counted)")
    print(f"  PyTorch:      {max(totals) / 1e6:.1f} MB (its profiler's running total of CPU tensor memory; "
          f"includes the {gradients / 1e6:.1f} MB of gradients made at each backward; Python objects and "
          f"autograd's own nodes are not counted)")
    rss = {side: rss_of_a_step(side) for side in ("ours", "torch")}
    if None in rss.values():
        print("  resident memory: not measured here (it needs Linux's /proc/self/clear_refs and glibc)")
        return
    print(f"the same step measured alike on both sides, each in a process of its own: the peak of its "
          f"resident memory (VmHWM) above the resident memory before the step, after glibc's malloc_trim:\n"
          f"  tinygrad_opt: {rss['ours'] / 1e6:.1f} MB\n  PyTorch:      {rss['torch'] / 1e6:.1f} MB")


def rss_of_a_step(side: str) -> int | None:
    """Run `--rss-of side` in a new process (the same BLAS choice as this one), or None where
    it cannot measure."""
    command = [sys.executable, __file__, "--rss-of", side] + ([KEEP_PIN] if KEEP_PIN in sys.argv else [])
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("rss ")]
    if result.returncode != 0:
        raise SystemExit(f"measuring the resident memory of {side} failed:\n{result.stderr}")
    return int(lines[0].split()[1]) if lines and lines[0].split()[1] != "none" else None


def print_rss_of_a_step(torch: Any, side: str, vocab_size: int, batch: tuple[np.ndarray, np.ndarray]) -> None:
    """In a process of its own: one side's warmed-up step, its peak resident memory above before."""
    status, clear_refs = Path("/proc/self/status"), Path("/proc/self/clear_refs")
    try:
        malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        malloc_trim = None
    if malloc_trim is None or not os.access(clear_refs, os.W_OK):
        print("rss none")
        return
    ours, theirs = twins(torch, vocab_size, np.float32)
    step = (our_step(ours, our_adamw(ours, LEARNING_RATE)) if side == "ours"
            else torch_step(torch, theirs, torch_adamw(torch, theirs, LEARNING_RATE)[0]))
    for _ in range(2):  # the optimizer's state and the gradient arrays exist before we measure
        step(*batch)
    gc.collect()
    malloc_trim(0)  # hand memory freed by the warm-up steps back, so the step's own peak shows

    def kilobytes(field: str) -> int:
        lines = status.read_text().splitlines()
        return next(int(line.split()[1]) for line in lines if line.startswith(field))

    before = kilobytes("VmRSS:")
    clear_refs.write_text("5")  # the kernel's peak (VmHWM) starts again from the present size
    step(*batch)
    print(f"rss {(kilobytes('VmHWM:') - before) * 1024}")


# ----------------------------------------------------------------- --train ITERS
def train(label: str, train_step: Callable[..., None], eval_loss: Callable[..., float],
          max_iters: int) -> None:
    """The demo's loop: estimate both losses every EVAL_INTERVAL steps, train on a fresh batch each step."""
    train_data, val_data, _ = shakespeare_ids()
    rng = np.random.default_rng(SEED)  # the demo's generator: the same batches on both sides, in order
    start = time.perf_counter()
    for it in range(max_iters + 1):
        if it % EVAL_INTERVAL == 0 or it == max_iters:
            losses = {split: float(np.mean([eval_loss(*get_batch(source, rng)) for _ in range(EVAL_ITERS)]))
                      for split, source in (("train", train_data), ("val", val_data))}
            print(f"  {label} step {it:5d}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}",
                  flush=True)
        if it == max_iters:
            break
        train_step(*get_batch(train_data, rng), it)
    seconds = time.perf_counter() - start
    print(f"{label}: final val loss {losses['val']:.4f}, train loss {losses['train']:.4f}, "
          f"{seconds:.0f} s ({seconds / max_iters * 1e3:.0f} ms/iter)\n", flush=True)


def train_ours(torch: Any, vocab_size: int, max_iters: int) -> None:
    model, _ = twins(torch, vocab_size, np.float32)
    optimizer = our_adamw(model, lambda step: get_lr(step, max_iters))

    def train_step(x: np.ndarray, y: np.ndarray, it: int) -> None:
        loss = our_loss(model, x, y)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm(model.parameters(), GRAD_CLIP)
        optimizer.step()

    def eval_loss(x: np.ndarray, y: np.ndarray) -> float:
        model.eval()
        with no_grad():
            loss = our_loss(model, x, y).item()
        model.train()
        return loss

    train("tinygrad_opt", train_step, eval_loss, max_iters)


def train_torch(torch: Any, vocab_size: int, max_iters: int) -> None:
    _, model = twins(torch, vocab_size, np.float32)
    optimizer, path = torch_adamw(torch, model, LEARNING_RATE)

    def train_step(x: np.ndarray, y: np.ndarray, it: int) -> None:
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it, max_iters)
        loss = torch_loss(torch, model, x, y)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()

    def eval_loss(x: np.ndarray, y: np.ndarray) -> float:
        model.eval()
        with torch.no_grad():
            loss = torch_loss(torch, model, x, y).item()
        model.train()
        return loss

    train(f"PyTorch ({path} AdamW)", train_step, eval_loss, max_iters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of each side (default 7)")
    parser.add_argument("--steps", type=int, default=3, help="training steps per round (default 3)")
    parser.add_argument("--train", type=int, metavar="ITERS", help="train both sides for ITERS iterations")
    parser.add_argument(KEEP_PIN, action="store_true", help=KEEP_PIN_HELP)
    parser.add_argument("--rss-of", choices=("ours", "torch"), help=argparse.SUPPRESS)  # run by peak_memory
    args = parser.parse_args()
    for option in ("rounds", "steps", "train"):
        value = getattr(args, option)
        if value is not None and not 1 <= value <= 100_000:
            parser.error(f"--{option} must be between 1 and 100000, got {value}")
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed, so there is nothing to compare with: pip install torch")
        return
    torch.set_num_threads(1)
    keep_freed_memory()  # as demos/shakespeare_gpt.py does; one process, so both sides alike
    train_data, _, vocab_size = shakespeare_ids()
    if args.train is not None:
        print(f"training both sides for {args.train} iterations as demos/shakespeare_gpt.py does "
              f"(float32, one thread)\n{BLAS_KERNELS}")
        train_ours(torch, vocab_size, args.train)
        train_torch(torch, vocab_size, args.train)
        return
    rng = np.random.default_rng(SEED)
    batches = [get_batch(train_data, rng) for _ in range(16)]
    if args.rss_of:
        print_rss_of_a_step(torch, args.rss_of, vocab_size, batches[0])
        return
    print(BLAS_KERNELS)
    print(f"nanoGPT's CPU configuration: {N_LAYER} layers, {N_HEAD} heads, {N_EMBD} wide, "
          f"block {BLOCK_SIZE}, batch {BATCH_SIZE}, vocabulary {vocab_size}; PyTorch {torch.__version__}, "
          f"NumPy {np.__version__}, Python {sys.version.split()[0]}\n")
    check_float64(torch, vocab_size, batches[0])
    time_steps(torch, vocab_size, batches, args.rounds, args.steps)
    peak_memory(torch, vocab_size, batches[0])


if __name__ == "__main__":
    main()
