"""How long a four-racer, 200-step race takes, on every landscape, and against the post's
NumPy code and PyTorch on the post's showdown.

    python benchmarks/bench_race.py

tinygrad_opt's race builds a graph, backpropagates and steps a real optimizer for every
racer at every step.

1. Every landscape: the four standard racers at the landscape's suggested learning rate,
   from its default start, 200 steps (as `tinygrad-opt race --landscape NAME` runs it).
   A racer that blows up stops early, so the table gives the steps actually taken. Beside
   it, where a step's time goes: building the landscape's graph and backpropagating
   (with its number of nodes), and one optimizer step of each racer on two scalars.
2. The post's showdown (the Beale-like surface from (0.5, 3.5), gradients clipped to 10),
   beside two peers measured in the same run on the same race:
   * the post's NumPy code: hand-written gradients, no graph (the floor for pure Python);
   * PyTorch (if installed): two scalar tensors, autograd and torch.optim.

Prints medians over repeats, in milliseconds, and the ratios.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's tinygrad_opt
from tinygrad_opt.engine import Value  # noqa: E402
from tinygrad_opt.race import SUGGESTED_LR, race, standard_racers  # noqa: E402
from tinygrad_opt.race.landscapes import get, names  # noqa: E402

RATES = {"SGD": 0.0005, "Momentum": 0.0005, "RMSProp": 0.005, "Adam": 0.01}
START = (0.5, 3.5)
STEPS = 200
REPEATS = 15


def median_ms(run) -> float:
    run()  # warm up
    times = []
    for _ in range(REPEATS):
        begin = time.perf_counter()
        run()
        times.append(time.perf_counter() - begin)
    return statistics.median(times) * 1000


def landscape_race(name: str) -> None:
    race(name, standard_racers(SUGGESTED_LR[name]), steps=STEPS)


def steps_taken(name: str) -> int:
    """Steps the four racers take together (fewer than 4 x STEPS if one blows up)."""
    results = race(name, standard_racers(SUGGESTED_LR[name]), steps=STEPS)
    return sum(len(trajectory.points) - 1 for trajectory in results.values())


def graph_nodes(loss: Value) -> int:
    seen, stack = set(), [loss]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(node._prev)
    return len(seen)


def forward_backward_us(name: str) -> tuple[float, int]:
    """Median time to build the landscape's graph at its start and backpropagate, and its node count."""
    landscape = get(name)
    x, y = Value(landscape.start[0]), Value(landscape.start[1])

    def forward_backward() -> None:
        for _ in range(1000):
            x.grad = y.grad = 0.0
            landscape(x, y).backward()

    return median_ms(forward_backward), graph_nodes(landscape(x, y))  # ms per 1000 = µs per call


def optimizer_step_us(racer: str) -> float:
    """Median time of one step of the racer's optimizer on two scalars."""
    x, y = Value(1.0), Value(2.0)
    optimizer = standard_racers(0.001)[racer]([x, y])
    x.grad, y.grad = 0.1, 0.2

    def steps() -> None:
        for _ in range(1000):
            optimizer.step()

    return median_ms(steps)


def tinygrad_opt_race() -> None:
    race("beale_like", standard_racers(RATES), start=START, steps=STEPS, clip_value=10)


def numpy_post_race() -> None:
    """The post's four optimizers and loop, condensed: hand-written gradient, NumPy arrays."""
    for name, lr in RATES.items():
        pos = np.array(START)
        m = np.zeros(2)
        v = np.zeros(2)
        for t in range(1, STEPS + 1):
            x, y = pos
            a, b = 1.5 - x + x * y, 2.25 - x + x * y**2
            g = np.clip(np.array([2 * a * (y - 1) + 2 * b * (y**2 - 1), 2 * a * x + 4 * b * x * y]), -10, 10)
            if name == "SGD":
                pos = pos - lr * g
            elif name == "Momentum":
                m = 0.9 * m + g
                pos = pos - lr * m
            elif name == "RMSProp":
                v = 0.9 * v + 0.1 * g**2
                pos = pos - lr * g / (np.sqrt(v) + 1e-8)
            else:
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g**2
                pos = pos - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)


def torch_race() -> None:
    import torch

    makers = {
        "SGD": lambda p, lr: torch.optim.SGD(p, lr=lr),
        "Momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
        "RMSProp": lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.9),
        "Adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
    }
    for name, lr in RATES.items():
        x = torch.tensor(START[0], dtype=torch.float64, requires_grad=True)
        y = torch.tensor(START[1], dtype=torch.float64, requires_grad=True)
        optimizer = makers[name]([x, y], lr)
        for _ in range(STEPS):
            optimizer.zero_grad()
            loss = (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
            loss.backward()
            torch.nn.utils.clip_grad_value_([x, y], 10)
            optimizer.step()


def main() -> None:
    print(f"Every landscape: 4 racers x {STEPS} steps at the suggested learning rate (median of {REPEATS})")
    print()
    print("| landscape | lr | steps taken | median | per step | of which forward + backward | graph nodes |")
    print("|---|---|---|---|---|---|---|")
    for name in names():
        ms = median_ms(lambda name=name: landscape_race(name))
        steps = steps_taken(name)
        graph_us, nodes = forward_backward_us(name)
        print(f"| {name} | {SUGGESTED_LR[name]} | {steps} | {ms:.1f} ms | {ms / steps * 1000:.0f} µs "
              f"| {graph_us:.1f} µs | {nodes} |")
    print()
    print("One optimizer step on two scalars (median of 1000-step runs):")
    print("  " + ", ".join(f"{racer} {optimizer_step_us(racer):.1f} µs" for racer in standard_racers(0.001)))
    print()
    ours = median_ms(tinygrad_opt_race)
    print(f"The post's showdown: beale_like from {START}, clipped to 10, 4 racers x {STEPS} steps "
          f"(median of {REPEATS})")
    print(f"  tinygrad_opt race (Value graph + optim): {ours:7.1f} ms")
    numpy_ms = median_ms(numpy_post_race)
    print(f"  the post's NumPy code (no autograd):     {numpy_ms:7.1f} ms", end="")
    print(f"   tinygrad_opt / NumPy = {ours / numpy_ms:.2f}")
    try:
        import torch  # noqa: F401
    except ImportError:
        print("  PyTorch: not installed, skipped")
        return
    torch_ms = median_ms(torch_race)
    print(f"  PyTorch (autograd + torch.optim):        {torch_ms:7.1f} ms", end="")
    print(f"   tinygrad_opt / PyTorch = {ours / torch_ms:.2f}")


if __name__ == "__main__":
    main()
