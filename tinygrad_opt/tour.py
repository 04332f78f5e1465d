"""The tour behind `make demo`: what the project does, run end to end."""

from __future__ import annotations

import numpy as np

from tinygrad_opt.engine import Value


def first_steps(steps: int = 60, seed: int = 0) -> list[float]:
    """Fit y = 3x - 2 + noise with one weight and one bias by plain gradient descent.

    Prints the loss as it falls and returns the losses, one a step.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=32)
    y = 3 * x - 2 + 0.1 * rng.standard_normal(32)
    w, b = Value(0.0, label="w"), Value(0.0, label="b")
    learning_rate = 0.3
    losses = []
    print("Fitting y = 3x - 2 with the engine: forward -> loss -> backward -> step")
    for step in range(steps):
        prediction = x * w + b  # a scalar Value times an array broadcasts
        loss = ((prediction - y) ** 2).mean()
        w.zero_grad()
        b.zero_grad()
        loss.backward()
        w.data -= learning_rate * w.grad
        b.data -= learning_rate * b.grad
        losses.append(loss.item())
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step:3d}  loss {loss.item():.5f}  w {w.data:+.4f}  b {b.data:+.4f}")
    return losses
