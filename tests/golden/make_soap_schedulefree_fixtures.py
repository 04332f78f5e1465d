"""Write tests/golden/soap.npz and tests/golden/schedulefree.npz: float64 trajectories of
pytorch_optimizer's SOAP and the schedulefree package's SGDScheduleFree / AdamWScheduleFree
on one small fixed problem, for tests/test_optim_soap_schedulefree.py.

Run it from the repository root, in an environment that has torch, pytorch_optimizer and
schedulefree (the test suite itself needs none of them):

    python tests/golden/make_soap_schedulefree_fixtures.py

The problem is a small network with a matrix W1 (4 x 3), a vector b (3), a square
matrix W2 (3 x 3) and a scalar s:

    loss_t = mean((s * tanh(X_t @ W1 + b) @ W2 - Y_t)^2)

where step t uses the minibatch X_t, Y_t: rows 4k .. 4k + 3 of X and Y, k = (t - 1) mod 4.
(With one full batch SOAP's first Adam step would see the very gradient its bases were
made from: the off-diagonal entries of Q_L^T G Q_R would be rounding noise, about 1e-17,
divided by sqrt(v) + eps, about eps = 1e-8, a comparison of noise with noise.)

SOAP preconditions W1 and W2 (b and s get no basis). The 4 x 3 matrix has a 4 x 4
left statistic of rank 3: its one-dimensional null space still fixes the eigenvector
up to sign, so the reference's eigenbasis is determined.
"""

from __future__ import annotations

import contextlib
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import schedulefree
import torch
from pytorch_optimizer import SOAP
from pytorch_optimizer.optimizer import soap as soap_module

HERE = Path(__file__).resolve().parent
STEPS = 30
NAMES = ("W1", "b", "W2", "s")

SOAP_CASES = {
    # The defaults: bases refreshed after Adam steps 10 and 20.
    "defaults": {},
    # Refreshed every 3 steps, its own shampoo_beta, stronger decay, a larger lr.
    "frequent": {"lr": 0.02, "precondition_frequency": 3, "shampoo_beta": 0.8, "weight_decay": 0.1,
                 "betas": (0.9, 0.99)},
    # Only W1's 3-wide axis and W2's axes preconditioned (W1's 4-long axis is too big).
    "max_dim_3": {"lr": 0.01, "precondition_frequency": 4, "max_precondition_dim": 3},
    # Never refreshed: the bases come from the first step's eigendecomposition only.
    "eigh_only": {"lr": 0.01, "precondition_frequency": 1000},
}
SGD_CASES = {
    "sgd_lr_0.2": {"lr": 0.2},
    "sgd_options": {"lr": 0.3, "momentum": 0.8, "weight_decay": 0.05, "warmup_steps": 6, "r": 1.0,
                    "weight_lr_power": 1.0},
}
ADAMW_CASES = {
    "adamw_lr_0.02": {"lr": 0.02},
    "adamw_options": {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.02, "warmup_steps": 5,
                      "r": 0.5, "weight_lr_power": 3.0},
}


class _TorchWithFloat64QR:
    """torch, except that `torch.float32` is float64: the one place pytorch_optimizer's SOAP
    names float32 is the cast before its refreshing QR."""

    def __getattr__(self, name: str):
        return torch.float64 if name == "float32" else getattr(torch, name)


@contextlib.contextmanager
def qr_in_float64():
    """The reference, with its QR computed in float64 instead of float32 (and nothing else changed)."""
    soap_module.torch = _TorchWithFloat64QR()
    try:
        yield
    finally:
        soap_module.torch = torch


def problem() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240601)
    return {
        "X": rng.normal(size=(16, 4)),
        "Y": rng.normal(size=(16, 3)),
        "W1": rng.normal(size=(4, 3)) * 0.7,
        "b": rng.normal(size=3) * 0.3,
        "W2": rng.normal(size=(3, 3)) * 0.7,
        "s": np.array(1.3),
    }


def loss_fn(params: list[torch.Tensor], X: torch.Tensor, Y: torch.Tensor, t: int) -> torch.Tensor:  # noqa: N803
    """The loss of step t (1, 2, ...) on its minibatch."""
    W1, b, W2, s = params  # noqa: N806
    rows = slice(4 * ((t - 1) % 4), 4 * ((t - 1) % 4) + 4)
    return ((s * torch.tanh(X[rows] @ W1 + b) @ W2 - Y[rows]) ** 2).mean()


def run(make_optimizer, start: dict[str, np.ndarray], schedule_free: bool = False) -> dict[str, np.ndarray]:
    """STEPS steps from `start`; the parameters after each step (y for schedule-free, and x)."""
    X, Y = torch.tensor(start["X"]), torch.tensor(start["Y"])  # noqa: N806
    params = [torch.tensor(start[name], requires_grad=True) for name in NAMES]
    optimizer = make_optimizer(params)
    if schedule_free:
        optimizer.train()
    trajectory = {name: [start[name].copy()] for name in NAMES}
    averages = {name: [start[name].copy()] for name in NAMES}
    losses = []
    for t in range(1, STEPS + 1):
        optimizer.zero_grad()
        loss = loss_fn(params, X, Y, t)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        for name, p in zip(NAMES, params, strict=True):
            trajectory[name].append(p.detach().numpy().copy())
            if schedule_free:  # the package's eval(), on a copy: x = y + (1 - 1/beta) (z - y)
                group = optimizer.param_groups[0]
                beta = group["momentum"] if "momentum" in group else group["betas"][0]
                x = p.detach().clone().lerp_(optimizer.state[p]["z"], 1 - 1 / beta)
                averages[name].append(x.numpy().copy())
    out = {name: np.array(values) for name, values in trajectory.items()}
    out["loss"] = np.array(losses)
    if schedule_free:
        out.update({f"x_{name}": np.array(values) for name, values in averages.items()})
    return out


def save(path: Path, cases: dict[str, dict], runs: dict[str, dict[str, np.ndarray]],
         start: dict[str, np.ndarray], reference: str) -> None:
    arrays = {f"start/{name}": value for name, value in start.items()}
    for case, result in runs.items():
        arrays.update({f"{case}/{name}": value for name, value in result.items()})
    arrays["cases"] = np.array(json.dumps(cases))
    arrays["versions"] = np.array(json.dumps({
        "reference": reference, "torch": torch.__version__, "numpy": np.__version__,
        "pytorch_optimizer": version("pytorch_optimizer"), "schedulefree": version("schedulefree"),
        "steps": STEPS,
    }))
    np.savez_compressed(path, **arrays)
    print(f"wrote {path.relative_to(HERE.parent.parent)}: {len(runs)} cases of {STEPS} steps")


def main() -> None:
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    start = problem()
    soap_runs = {case: run(lambda params, h=hyper: SOAP(params, **h), start)
                 for case, hyper in SOAP_CASES.items()}
    with qr_in_float64():  # the same cases, to check everything but the float32 rounding tightly
        soap_runs.update({f"{case}_qr64": run(lambda params, h=hyper: SOAP(params, **h), start)
                          for case, hyper in SOAP_CASES.items()})
    save(HERE / "soap.npz", SOAP_CASES, soap_runs, start, "pytorch_optimizer.SOAP")
    sgd, adamw = schedulefree.SGDScheduleFree, schedulefree.AdamWScheduleFree
    free_runs = {case: run(lambda params, h=hyper: sgd(params, **h), start, schedule_free=True)
                 for case, hyper in SGD_CASES.items()}
    free_runs.update({case: run(lambda params, h=hyper: adamw(params, **h), start, schedule_free=True)
                      for case, hyper in ADAMW_CASES.items()})
    save(HERE / "schedulefree.npz", {**SGD_CASES, **ADAMW_CASES}, free_runs, start,
         "schedulefree.SGDScheduleFree, schedulefree.AdamWScheduleFree")


if __name__ == "__main__":
    main()
