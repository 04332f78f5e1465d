"""Golden trajectories of LARS, SophiaG, Adafactor and Prodigy from their reference implementations.

    python tests/golden/make_frontier_fixtures.py PATH_TO_SOPHIA_CHECKOUT

Needs PyTorch (for `torch.optim.Adafactor`), the `pytorch-optimizer` package (its
`LARS`), the `prodigyopt` package (its `Prodigy`) and a checkout of the Sophia
authors' repository, https://github.com/Liuhong99/Sophia, whose file `sophia.py`
holds the released `SophiaG` (it is not a package: the script imports it from
that file). It writes `tests/golden/frontier_<optimizer>.npz`, read by
tests/test_optim_frontier.py, which needs none of these libraries.

Each fixture holds, in float64, a small fixed problem and, for each case (a set of
hyperparameters, sometimes with two parameter groups), the trajectory of every
parameter over STEPS steps (row 0 is the start). Two problems:

* "net": a two-layer tanh network, logits = tanh(X W1 + b1) W2, with the mean
  cross-entropy on fixed labels y: two matrices and a vector.
* "scalars": two scalars on f(x, y) = (1 - x)^2 + 5 (y - x^2)^2.

SophiaG's Hessian estimate is refreshed every HESSIAN_EVERY steps from the gradient
of the cross-entropy on labels sampled from the model's softmax (the
Gauss-Newton-Bartlett estimator); the sampled labels are stored with the case, so
the test replays exactly the same estimates. The case list, the data and the
library versions are stored in each file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

HERE = Path(__file__).resolve().parent
STEPS = 25
HESSIAN_EVERY = 2

CASES = {
    "lars": [
        dict(name="default", problem="net", kwargs=dict(lr=1.0)),
        dict(name="decay_nesterov", problem="net",
             kwargs=dict(lr=2.0, momentum=0.8, weight_decay=0.01, trust_coefficient=0.02, nesterov=True)),
        dict(name="dampening_groups", problem="net", kwargs=dict(lr=1.5, dampening=0.3, weight_decay=0.05),
             groups=[dict(params=["W1", "W2"], trust_coefficient=0.01), dict(params=["b1"], lr=0.3)]),
        dict(name="no_momentum", problem="net", kwargs=dict(lr=3.0, momentum=0.0, weight_decay=0.001)),
        dict(name="scalars", problem="scalars", kwargs=dict(lr=0.01, momentum=0.9)),
    ],
    "sophia": [
        dict(name="default", problem="net", kwargs=dict(lr=0.05), bs=16),
        dict(name="tuned", problem="net", kwargs=dict(lr=0.1, betas=(0.9, 0.95), rho=0.1, weight_decay=0.0),
             bs=16),
        dict(name="groups", problem="net", kwargs=dict(lr=0.05, rho=0.02), bs=8,
             groups=[dict(params=["W1", "W2"], weight_decay=0.2), dict(params=["b1"], lr=0.02)]),
        dict(name="scalars", problem="scalars", kwargs=dict(lr=0.02, rho=0.05, weight_decay=0.0), bs=1),
    ],
    "adafactor": [
        dict(name="default", problem="net", kwargs=dict()),
        dict(name="tuned", problem="net",
             kwargs=dict(lr=0.1, beta2_decay=-0.5, eps=(1e-30, 1e-2), d=2.0, weight_decay=0.01)),
        dict(name="groups", problem="net", kwargs=dict(lr=0.05),
             groups=[dict(params=["W1", "W2"], weight_decay=0.1), dict(params=["b1"], lr=0.2, d=1.5)]),
        dict(name="scalars", problem="scalars", kwargs=dict(lr=0.1)),
    ],
    "prodigy": [
        dict(name="default", problem="net", kwargs=dict()),
        dict(name="coupled_bias_correction", problem="net",
             kwargs=dict(weight_decay=0.01, decouple=False, use_bias_correction=True, d0=1e-4)),
        dict(name="decoupled_safeguard_growth", problem="net",
             kwargs=dict(lr=0.5, betas=(0.95, 0.99), beta3=0.9, weight_decay=0.05, safeguard_warmup=True,
                         d0=1e-4, d_coef=2.0, growth_rate=1.5)),
        dict(name="no_first_moment", problem="net", kwargs=dict(betas=(0.0, 0.99), eps=1e-6)),
        dict(name="groups", problem="net", kwargs=dict(d0=1e-5),
             groups=[dict(params=["W1", "W2"], weight_decay=0.1), dict(params=["b1"], eps=1e-4)]),
        dict(name="scalars", problem="scalars", kwargs=dict()),
    ],
}


def problem_data() -> dict[str, np.ndarray]:
    """The network's data and starting weights, and the scalars' start."""
    rng = np.random.default_rng(20231)
    return {
        "X": rng.normal(size=(16, 4)),
        "y": rng.integers(0, 3, size=16),
        "W1": rng.normal(size=(4, 5)) * 0.5,
        "b1": rng.normal(size=5) * 0.1,
        "W2": rng.normal(size=(5, 3)) * 0.5,
        "x": np.array(-1.0),
        "y0": np.array(1.5),
    }


def make_params(data: dict[str, np.ndarray], problem: str) -> dict[str, torch.Tensor]:
    names = ["W1", "b1", "W2"] if problem == "net" else ["x", "y0"]
    return {name: torch.tensor(data[name], dtype=torch.float64, requires_grad=True) for name in names}


def logits_of(params: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:  # noqa: N803
    return torch.tanh(X @ params["W1"] + params["b1"]) @ params["W2"]


def loss_of(params: dict[str, torch.Tensor], data: dict[str, np.ndarray], problem: str) -> torch.Tensor:
    if problem == "scalars":
        x, y = params["x"], params["y0"]
        return (1 - x) ** 2 + 5 * (y - x**2) ** 2
    X = torch.tensor(data["X"])  # noqa: N806
    return F.cross_entropy(logits_of(params, X), torch.tensor(data["y"]))


def make_optimizer(kind: str, case: dict, params: dict[str, torch.Tensor], sophia_class: type):
    if case.get("groups"):
        groups = [{**group, "params": [params[name] for name in group["params"]]} for group in case["groups"]]
    else:
        groups = list(params.values())
    kwargs = case["kwargs"]
    if kind == "lars":
        from pytorch_optimizer import LARS

        return LARS(groups, **kwargs)
    if kind == "sophia":
        return sophia_class(groups, **kwargs)
    if kind == "adafactor":
        return torch.optim.Adafactor(groups, **kwargs)
    from prodigyopt import Prodigy

    return Prodigy(groups, **kwargs)


def run(kind: str, case: dict, data: dict[str, np.ndarray], sophia_class: type) -> dict[str, np.ndarray]:
    """One case's trajectories (and, for SophiaG, the labels its Hessian estimates used)."""
    params = make_params(data, case["problem"])
    optimizer = make_optimizer(kind, case, params, sophia_class)
    trajectory = {name: [p.detach().numpy().copy()] for name, p in params.items()}
    sampled = []
    rng = np.random.default_rng(7)
    for step in range(STEPS):
        optimizer.zero_grad()
        loss_of(params, data, case["problem"]).backward()
        if kind == "sophia":
            optimizer.step(bs=case["bs"])
        else:
            optimizer.step()
        if kind == "sophia" and step % HESSIAN_EVERY == HESSIAN_EVERY - 1:
            optimizer.zero_grad()
            if case["problem"] == "net":  # Gauss-Newton-Bartlett: labels from the model's own softmax
                logits = logits_of(params, torch.tensor(data["X"]))
                probabilities = torch.softmax(logits, dim=-1).detach().numpy()
                labels = np.array([rng.choice(3, p=row) for row in probabilities])
                sampled.append(labels)
                F.cross_entropy(logits, torch.tensor(labels)).backward()
            else:  # two scalars have no labels: the loss's own gradient stands in
                loss_of(params, data, case["problem"]).backward()
            optimizer.update_hessian()
        for name, p in params.items():
            trajectory[name].append(p.detach().numpy().copy())
    result = {f"{case['name']}/{name}": np.array(points) for name, points in trajectory.items()}
    if sampled:
        result[f"{case['name']}/hessian_labels"] = np.array(sampled)
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    sophia_file = Path(argv[0]) / "sophia.py"
    if not sophia_file.is_file():
        print(f"no sophia.py in {argv[0]!r}: give a checkout of https://github.com/Liuhong99/Sophia")
        return 2
    sys.path.insert(0, str(sophia_file.parent))
    from sophia import SophiaG

    torch.set_num_threads(1)
    data = problem_data()
    versions = {
        "torch": torch.__version__,
        "pytorch-optimizer": version("pytorch-optimizer"),
        "prodigyopt": version("prodigyopt"),
        "sophia.py sha256": hashlib.sha256(sophia_file.read_bytes()).hexdigest(),
    }
    for kind, cases in CASES.items():
        arrays = {}
        for case in cases:
            arrays.update(run(kind, case, data, SophiaG))
        path = HERE / f"frontier_{kind}.npz"
        np.savez_compressed(path, **data, **arrays, cases=json.dumps(cases), versions=json.dumps(versions),
                            steps=STEPS, hessian_every=HESSIAN_EVERY)
        print(f"wrote {path.relative_to(HERE.parent.parent)}: {len(cases)} cases, {STEPS} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
