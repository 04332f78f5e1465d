"""LARS, SophiaG, Adafactor and Prodigy: each against golden trajectories of its reference
implementation (tests/golden/frontier_*.npz, made by tests/golden/make_frontier_fixtures.py),
validation, state-dict resume, parameter groups, float32, and convergence on a problem
each is meant for."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tinygrad_opt import Value, nn, optim

GOLDEN = Path(__file__).parent / "golden"
KINDS = {"lars": optim.LARS, "sophia": optim.SophiaG, "adafactor": optim.Adafactor, "prodigy": optim.Prodigy}


def load_fixture(kind: str) -> dict:
    with np.load(GOLDEN / f"frontier_{kind}.npz", allow_pickle=False) as archive:
        fixture = {name: archive[name] for name in archive.files}
    fixture["cases"] = json.loads(str(fixture["cases"]))
    return fixture


FIXTURES = {kind: load_fixture(kind) for kind in KINDS}
ALL_CASES = [(kind, case["name"]) for kind, fixture in FIXTURES.items() for case in fixture["cases"]]


# ---------------------------------------------------------------- the problems
def net_params(data: dict, dtype: type = np.float64) -> dict[str, Value]:
    return {name: Value(data[name].astype(dtype)) for name in ("W1", "b1", "W2")}


def net_logits(params: dict[str, Value], X: np.ndarray) -> Value:  # noqa: N803
    return (Value(X) @ params["W1"] + params["b1"]).tanh() @ params["W2"]


def loss_of(params: dict[str, Value], data: dict, problem: str, dtype: type = np.float64) -> Value:
    if problem == "scalars":
        x, y = params["x"], params["y0"]
        return (1 - x) ** 2 + 5 * (y - x**2) ** 2
    return nn.cross_entropy(net_logits(params, data["X"].astype(dtype)), data["y"])


def make_optimizer(kind: str, case: dict, params: dict[str, Value]) -> optim.Optimizer:
    groups = case.get("groups")
    if groups:
        groups = [{**group, "params": [params[name] for name in group["params"]]} for group in groups]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    return KINDS[kind](groups or list(params.values()), **kwargs)


def replay(kind: str, case: dict, fixture: dict) -> dict[str, list]:
    """Our optimizer on the fixture's problem, step for step as the fixture script ran the reference."""
    if case["problem"] == "net":
        params = net_params(fixture)
    else:
        params = {"x": Value(float(fixture["x"])), "y0": Value(float(fixture["y0"]))}
    opt = make_optimizer(kind, case, params)
    trajectory = {name: [np.copy(p.data)] for name, p in params.items()}
    every = int(fixture["hessian_every"])
    labels = iter(fixture.get(f"{case['name']}/hessian_labels", []))
    for step in range(int(fixture["steps"])):
        opt.zero_grad()
        loss_of(params, fixture, case["problem"]).backward()
        if kind == "sophia":
            opt.step(bs=case["bs"])
        else:
            opt.step()
        if kind == "sophia" and step % every == every - 1:
            opt.zero_grad()
            if case["problem"] == "net":
                nn.cross_entropy(net_logits(params, fixture["X"]), next(labels)).backward()
            else:
                loss_of(params, fixture, case["problem"]).backward()
            opt.update_hessian()
        for name, p in params.items():
            trajectory[name].append(np.copy(p.data))
    return trajectory


# --------------------------------------------------------- golden trajectories
@pytest.mark.parametrize(("kind", "name"), ALL_CASES, ids=[f"{k}-{n}" for k, n in ALL_CASES])
def test_trajectory_equals_the_reference_implementation(kind, name):
    fixture = FIXTURES[kind]
    case = next(case for case in fixture["cases"] if case["name"] == name)
    ours = replay(kind, case, fixture)
    for param, points in ours.items():
        want = fixture[f"{name}/{param}"]
        assert np.abs(want[-1] - want[0]).max() > 1e-3  # the case really moves its parameters
        np.testing.assert_allclose(np.array(points), want, rtol=1e-10, atol=1e-14,
                                   err_msg=f"{kind} {name}: {param}")


def test_fixtures_record_the_reference_versions():
    for fixture in FIXTURES.values():
        versions = json.loads(str(fixture["versions"]))
        assert set(versions) == {"torch", "pytorch-optimizer", "prodigyopt", "sophia.py sha256"}
