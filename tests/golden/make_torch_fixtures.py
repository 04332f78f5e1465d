"""Make the golden fixtures of tests/test_golden.py from the reference libraries.

Regenerate them (from the repository's root, in an environment with torch and optax; the
test suite itself needs neither):

    python tests/golden/make_torch_fixtures.py

It writes, next to this file:

    optimizers.npz  float64 trajectories of every optimizer on one small problem
                    (torch.optim; optax for Lion and LAMB, which torch does not have)
    muon.npz        torch.optim.Muon on the problem's matrix, torch.optim.AdamW on the rest:
                    as torch runs it (Newton-Schulz in bfloat16), and with torch's
                    bfloat16 cast made a no-op (float64 throughout)
    lbfgs.npz       torch.optim.LBFGS, without a line search and with strong Wolfe
    losses.npz      torch.nn.functional losses: values and gradients
    schedules.npz   torch.optim.lr_scheduler (and optax) learning rates, step by step

Every file records the library versions under `versions` and each case's settings as
JSON under `<case>/settings`. All numbers are float64 (optax runs with jax_enable_x64).

The problem (the test builds the same loss with the project's engine):

    loss(W, b, a, c) = mean((X W + b - Y)^2) + 0.05 sum(W^4) + sum(log(1 + (b - B0)^2))
                       + (a - 1)^2 (1 + c^2) + 0.1 (c - 0.5)^4

with W a 3x2 matrix, b a vector of 2, and a, c scalars (0-d tensors), so each optimizer
runs its tensor path and its scalar path in one run. Gradients come from torch autograd.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
STEPS = 25
torch.set_default_dtype(torch.float64)


def versions() -> str:
    import jax
    import optax

    return json.dumps(
        {
            "torch": torch.__version__,
            "optax": optax.__version__,
            "jax": jax.__version__,
            "numpy": np.__version__,
        }
    )


# ----------------------------------------------------------------------- the problem
rng = np.random.default_rng(20261130)
PROBLEM = {
    "X": rng.normal(size=(8, 3)),
    "Y": rng.normal(size=(8, 2)),
    "B0": np.array([0.4, -0.6]),
    "W0": rng.normal(size=(3, 2)),
    "b0": np.array([1.5, -1.2]),
    "a0": np.array(-0.8),
    "c0": np.array(1.3),
}
NAMES = ("W", "b", "a", "c")


def torch_loss(W, b, a, c):
    X, Y, B0 = (torch.tensor(PROBLEM[k]) for k in ("X", "Y", "B0"))
    return (
        ((X @ W + b - Y) ** 2).mean()
        + 0.05 * (W**4).sum()
        + torch.log(1 + (b - B0) ** 2).sum()
        + (a - 1) ** 2 * (1 + c**2)
        + 0.1 * (c - 0.5) ** 4
    )


def start_params():
    return [torch.tensor(PROBLEM[k + "0"], requires_grad=True) for k in NAMES]


def record(out, name, settings, trajectory, losses):
    """Store a run: `trajectory` is a list (one per step, the start included) of parameter lists."""
    out[f"{name}/settings"] = np.array(json.dumps(settings))
    for i, key in enumerate(NAMES):
        out[f"{name}/{key}"] = np.array([step[i] for step in trajectory])
    out[f"{name}/loss"] = np.array(losses)


def run_torch(make_opt, make_scheduler=None):
    params = start_params()
    opt = make_opt(params)
    scheduler = make_scheduler(opt) if make_scheduler else None
    trajectory, losses = [[p.detach().numpy().copy() for p in params]], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch_loss(*params)
        loss.backward()
        losses.append(loss.item())
        opt.step()
        if scheduler:
            scheduler.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, losses


def run_optax(transform):
    import jax.numpy as jnp

    params = start_params()
    state = transform.init({k: jnp.asarray(p.detach().numpy()) for k, p in zip(NAMES, params, strict=True)})
    trajectory, losses = [[p.detach().numpy().copy() for p in params]], []
    for _ in range(STEPS):
        for p in params:
            p.grad = None
        loss = torch_loss(*params)
        loss.backward()
        losses.append(loss.item())
        as_tree = {k: jnp.asarray(p.detach().numpy()) for k, p in zip(NAMES, params, strict=True)}
        grads = {k: jnp.asarray(p.grad.numpy()) for k, p in zip(NAMES, params, strict=True)}
        updates, state = transform.update(grads, state, as_tree)
        with torch.no_grad():
            for k, p in zip(NAMES, params, strict=True):
                p += torch.tensor(np.asarray(updates[k]))
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, losses


# -------------------------------------------------------------------------- optimizers
# (case name, our class, our keyword arguments, the reference's constructor)
TORCH_CASES = [
    ("sgd", "SGD", dict(lr=0.05)),
    ("sgd_momentum", "SGD", dict(lr=0.05, momentum=0.9)),
    ("sgd_dampening", "SGD", dict(lr=0.05, momentum=0.8, dampening=0.3)),
    ("sgd_nesterov_decay", "SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("sgd_weight_decay", "SGD", dict(lr=0.05, weight_decay=0.2)),
    ("adagrad", "Adagrad", dict(lr=0.1)),
    (
        "adagrad_decays",
        "Adagrad",
        dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-3),
    ),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop_alpha_eps", "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-3)),
    ("rmsprop_centered", "RMSprop", dict(lr=0.01, centered=True)),
    ("rmsprop_momentum", "RMSprop", dict(lr=0.01, momentum=0.9)),
    ("rmsprop_all", "RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
    ("adam", "Adam", dict(lr=0.05)),
    ("adam_betas_eps", "Adam", dict(lr=0.05, betas=[0.5, 0.9], eps=1e-3)),
    ("adam_amsgrad", "Adam", dict(lr=0.05, amsgrad=True)),
    ("adam_weight_decay", "Adam", dict(lr=0.05, weight_decay=0.1)),
    ("adam_amsgrad_weight_decay", "Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    ("adamw", "AdamW", dict(lr=0.05)),
    ("adamw_amsgrad", "AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("nadam", "NAdam", dict(lr=0.05)),
    ("nadam_decays", "NAdam", dict(lr=0.05, betas=[0.8, 0.99], momentum_decay=0.1, weight_decay=0.1)),
    ("nadam_decoupled", "NAdam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True)),
    ("radam", "RAdam", dict(lr=0.05)),
    ("radam_decay", "RAdam", dict(lr=0.05, betas=[0.9, 0.9], eps=1e-4, weight_decay=0.1)),
    (
        "radam_decoupled",
        "RAdam",
        dict(lr=0.05, betas=[0.8, 0.95], weight_decay=0.1, decoupled_weight_decay=True),
    ),
]


def optimizer_fixtures(out):
    for name, cls, kwargs in TORCH_CASES:
        torch_kwargs = {k: tuple(v) if k == "betas" else v for k, v in kwargs.items()}
        trajectory, losses = run_torch(lambda ps, c=cls, kw=torch_kwargs: getattr(torch.optim, c)(ps, **kw))
        record(
            out, name, {"class": cls, "kwargs": kwargs, "reference": f"torch.optim.{cls}"}, trajectory, losses
        )

    # A schedule as the learning rate: the torch scheduler is stepped after each update.
    scheduled = [
        (
            "adam_exponential_lr",
            "Adam",
            dict(lr=0.05),
            ["exponential", 0.05, 0.9],
            lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
        ),
        (
            "sgd_momentum_step_lr",
            "SGD",
            dict(lr=0.05, momentum=0.9),
            ["step_decay", 0.05, 4, 0.5],
            lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
        ),
    ]
    for name, cls, kwargs, schedule, make_scheduler in scheduled:
        trajectory, losses = run_torch(
            lambda ps, c=cls, kw=kwargs: getattr(torch.optim, c)(ps, **kw), make_scheduler
        )
        settings = {
            "class": cls,
            "kwargs": {**kwargs, "lr": schedule},
            "reference": f"torch.optim.{cls} with lr_scheduler {schedule[0]}",
        }
        record(out, name, settings, trajectory, losses)

    import optax

    lion_cases = [
        ("lion", dict(lr=0.01, betas=[0.9, 0.99], weight_decay=0.0)),
        ("lion_decay", dict(lr=0.01, betas=[0.5, 0.9], weight_decay=0.5)),
    ]
    for name, kwargs in lion_cases:
        (b1, b2) = kwargs["betas"]
        transform = optax.lion(kwargs["lr"], b1=b1, b2=b2, weight_decay=kwargs["weight_decay"])
        trajectory, losses = run_optax(transform)
        record(out, name, {"class": "Lion", "kwargs": kwargs, "reference": "optax.lion"}, trajectory, losses)
    lamb_cases = [
        ("lamb", dict(lr=0.05, betas=[0.9, 0.999], eps=1e-6, weight_decay=0.0)),
        ("lamb_decay", dict(lr=0.05, betas=[0.8, 0.9], eps=1e-3, weight_decay=0.1)),
    ]
    for name, kwargs in lamb_cases:
        (b1, b2) = kwargs["betas"]
        transform = optax.lamb(
            kwargs["lr"], b1=b1, b2=b2, eps=kwargs["eps"], weight_decay=kwargs["weight_decay"]
        )
        trajectory, losses = run_optax(transform)
        record(out, name, {"class": "LAMB", "kwargs": kwargs, "reference": "optax.lamb"}, trajectory, losses)


# -------------------------------------------------------------------------------- Muon
def muon_fixtures(out):
    """torch.optim.Muon on W, torch.optim.AdamW on b, a, c (our Muon hands them to AdamW)."""
    cases = [
        ("muon", dict(lr=0.02, weight_decay=0.1, momentum=0.95, nesterov=True)),
        (
            "muon_plain_match_rms",
            dict(lr=0.02, weight_decay=0.0, momentum=0.9, nesterov=False, adjust_lr_fn="match_rms_adamw"),
        ),
    ]
    adamw = dict(adamw_lr=0.05, adamw_betas=[0.9, 0.999], adamw_eps=1e-8, adamw_weight_decay=0.01)
    for name, kwargs in cases:
        for precision in ("bfloat16", "float64"):
            params = start_params()
            muon = torch.optim.Muon([params[0]], **kwargs)
            rest = torch.optim.AdamW(
                params[1:],
                lr=adamw["adamw_lr"],
                betas=tuple(adamw["adamw_betas"]),
                eps=adamw["adamw_eps"],
                weight_decay=adamw["adamw_weight_decay"],
            )
            trajectory, losses = [[p.detach().numpy().copy() for p in params]], []
            original = torch.Tensor.bfloat16
            if precision == "float64":  # torch's Newton-Schulz with its bfloat16 cast made a no-op
                torch.Tensor.bfloat16 = lambda self: self.clone()
            try:
                for _ in range(STEPS):
                    muon.zero_grad()
                    rest.zero_grad()
                    loss = torch_loss(*params)
                    loss.backward()
                    losses.append(loss.item())
                    muon.step()
                    rest.step()
                    trajectory.append([p.detach().numpy().copy() for p in params])
            finally:
                torch.Tensor.bfloat16 = original
            reference = "torch.optim.Muon + torch.optim.AdamW"
            if precision == "float64":
                reference += " (Newton-Schulz in float64: torch's bfloat16 cast replaced by a copy)"
            record(
                out,
                f"{name}_{precision}",
                {"class": "Muon", "kwargs": {**kwargs, **adamw}, "reference": reference},
                trajectory,
                losses,
            )


# ------------------------------------------------------------------------------- L-BFGS
def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def lbfgs_fixtures(out):
    """Rosenbrock from (-1.5, 2) and the problem above, with and without strong Wolfe.

    For each step() the fixture keeps the parameters after it and, for the line search,
    how many of its trial points lay below an earlier, larger trial step of the same
    search (those come from the zoom phase: bracketing only ever extends the step).
    max_eval=26 with max_iter=1 gives torch's line search its own default budget of 25
    (torch caps it at max_eval minus the evaluations so far); the last case, with the
    defaults, runs out of that budget within a step.
    """
    cases = [
        (
            "rosenbrock_strong_wolfe",
            "rosenbrock",
            dict(lr=1.0, max_iter=1, max_eval=26, history_size=10, line_search_fn="strong_wolfe"),
            40,
        ),
        ("rosenbrock_fixed_step", "rosenbrock", dict(lr=0.1, max_iter=1, history_size=10), 40),
        (
            "problem_strong_wolfe",
            "problem",
            dict(lr=1.0, max_iter=1, max_eval=26, history_size=5, line_search_fn="strong_wolfe"),
            15,
        ),
        ("problem_fixed_step", "problem", dict(lr=0.5, max_iter=3, history_size=5), 8),
        # the defaults, max_iter=20 and max_eval=25: each line search gets what is left of the 25
        ("rosenbrock_strong_wolfe_budget", "rosenbrock", dict(line_search_fn="strong_wolfe"), 4),
        # max_iter=1 alone makes max_eval 1: no trial beyond the first, which is worse than the
        # start here, so torch stays where it is; with max_eval=3, two more trials
        ("rosenbrock_line_search_budget_0", "rosenbrock", dict(max_iter=1, line_search_fn="strong_wolfe"), 3),
        ("rosenbrock_line_search_budget_2", "rosenbrock",
         dict(max_iter=1, max_eval=3, line_search_fn="strong_wolfe"), 6),
    ]
    for name, problem, kwargs, calls in cases:
        trajectory, zoom_evals, final_loss = run_lbfgs(problem, kwargs, calls)
        out[f"{name}/settings"] = np.array(
            json.dumps({"problem": problem, "kwargs": kwargs, "reference": "torch.optim.LBFGS"})
        )
        out[f"{name}/trajectory"] = np.array(trajectory)
        out[f"{name}/zoom_evaluations"] = np.array(zoom_evals)
        out[f"{name}/final_loss"] = np.array(final_loss)


def run_lbfgs(problem, kwargs, calls):
    if problem == "rosenbrock":
        params = [torch.tensor(-1.5, requires_grad=True), torch.tensor(2.0, requires_grad=True)]
        loss_fn = rosenbrock
    else:
        params = start_params()
        loss_fn = torch_loss
    opt = torch.optim.LBFGS(params, **kwargs)
    evaluated = []

    def flat():
        return np.concatenate([p.detach().numpy().ravel() for p in params])

    def closure():
        opt.zero_grad()
        loss = loss_fn(*params)
        loss.backward()
        evaluated.append(flat())
        return loss

    trajectory, zoom_evals = [flat()], []
    for _ in range(calls):
        evaluated.clear()
        opt.step(closure)
        trajectory.append(flat())
        zoom_evals.append(count_zoom(evaluated))
    return trajectory, zoom_evals, loss_fn(*params).item()


def count_zoom(evaluated):
    """Trial points of one line search whose step is below that of an earlier trial."""
    if len(evaluated) < 3:
        return 0
    start, first_trial = evaluated[0], evaluated[1]
    direction = first_trial - start
    steps = [float((x - start) @ direction / (direction @ direction)) for x in evaluated[1:]]
    return sum(1 for i, t in enumerate(steps) if i and t < max(steps[:i]) - 1e-12)


# ------------------------------------------------------------------------------- losses
def loss_fixtures(out):
    import torch.nn.functional as F

    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 3)) * 1.5
    y = rng.normal(size=(4, 3))
    logits = rng.normal(size=(5, 4)) * 2
    labels = np.array([0, 3, 1, 1, 2])
    probs = 1 / (1 + np.exp(-rng.normal(size=(6,)) * 2))
    binary = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    soft = rng.uniform(size=(6,))
    scores = rng.normal(size=(6,))
    signs = np.array([1.0, -1.0, -1.0, 1.0, 1.0, -1.0])
    pos_weight = np.array(2.5)
    cases = [  # (name, our function, torch function of (input tensor, target tensor), input, target, options)
        ("mse", "mse_loss", lambda i, t, **kw: F.mse_loss(i, t, **kw), x, y, {}),
        ("l1", "l1_loss", lambda i, t, **kw: F.l1_loss(i, t, **kw), x, y, {}),
        ("huber", "huber_loss", lambda i, t, **kw: F.huber_loss(i, t, **kw), x, y, {}),
        (
            "huber_delta",
            "huber_loss",
            lambda i, t, **kw: F.huber_loss(i, t, delta=0.4, **kw),
            x,
            y,
            {"delta": 0.4},
        ),
        (
            "cross_entropy",
            "cross_entropy",
            lambda i, t, **kw: F.cross_entropy(i, t, **kw),
            logits,
            labels,
            {},
        ),
        (
            "cross_entropy_smoothing",
            "cross_entropy",
            lambda i, t, **kw: F.cross_entropy(i, t, label_smoothing=0.1, **kw),
            logits,
            labels,
            {"label_smoothing": 0.1},
        ),
        (
            "nll",
            "nll_loss",
            lambda i, t, **kw: F.nll_loss(i, t, **kw),
            logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)),
            labels,
            {},
        ),
        (
            "bce",
            "binary_cross_entropy",
            lambda i, t, **kw: F.binary_cross_entropy(i, t, **kw),
            probs,
            binary,
            {},
        ),
        (
            "bce_soft",
            "binary_cross_entropy",
            lambda i, t, **kw: F.binary_cross_entropy(i, t, **kw),
            probs,
            soft,
            {},
        ),
        (
            "bce_with_logits",
            "binary_cross_entropy_with_logits",
            lambda i, t, **kw: F.binary_cross_entropy_with_logits(i, t, **kw),
            scores * 3,
            soft,
            {},
        ),
        (
            "bce_with_logits_pos_weight",
            "binary_cross_entropy_with_logits",
            lambda i, t, **kw: F.binary_cross_entropy_with_logits(
                i, t, pos_weight=torch.tensor(pos_weight), **kw
            ),
            scores * 3,
            binary,
            {"pos_weight": float(pos_weight)},
        ),
        # PyTorch has no binary hinge loss: relu(1 - y s) in torch ops, differentiated by torch
        (
            "hinge",
            "hinge_loss",
            lambda i, t, reduction: {"mean": torch.mean, "sum": torch.sum, "none": lambda z: z}[reduction](
                torch.relu(1 - t * i)
            ),
            scores,
            signs,
            {},
        ),
    ]
    for name, ours, reference, inputs, target, options in cases:
        for reduction in ("mean", "sum", "none"):
            i = torch.tensor(inputs, requires_grad=True)
            t = torch.tensor(target)
            value = reference(i, t, reduction=reduction)
            value.sum().backward()  # for "none": the gradient of the sum of the per-element losses
            key = f"{name}_{reduction}"
            out[f"{key}/settings"] = np.array(
                json.dumps({"function": ours, "options": options, "reduction": reduction})
            )
            out[f"{key}/input"] = inputs
            out[f"{key}/target"] = target
            out[f"{key}/value"] = value.detach().numpy()
            out[f"{key}/grad"] = i.grad.numpy()


# ---------------------------------------------------------------------------- schedules
def schedule_fixtures(out):
    """The learning rate each scheduler gives before each of its first steps."""
    from torch.optim import lr_scheduler as S

    def torch_lrs(make, n, lr=0.1):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        scheduler = make(opt)
        lrs = []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        return lrs

    cases = [  # (name, our schedule and its arguments, torch scheduler, steps)
        ("step_decay", ["step_decay", 0.1, 3, 0.5], lambda o: S.StepLR(o, step_size=3, gamma=0.5), 20),
        ("exponential", ["exponential", 0.1, 0.9], lambda o: S.ExponentialLR(o, gamma=0.9), 30),
        ("cosine", ["cosine", 0.1, 10, 0.001], lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 11),
        (
            "linear_warmup",
            ["linear_warmup", 0.1, 4, 0.025],
            lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
            10,
        ),
        (
            "one_cycle",
            ["one_cycle", 0.1, 20, 0.3, 25.0, 1e4],
            lambda o: S.OneCycleLR(
                o,
                max_lr=0.1,
                total_steps=20,
                pct_start=0.3,
                anneal_strategy="cos",
                div_factor=25.0,
                final_div_factor=1e4,
                cycle_momentum=False,
            ),
            20,
        ),
        (
            "one_cycle_short_warmup",
            ["one_cycle", 0.5, 37, 0.1, 10.0, 100.0],
            lambda o: S.OneCycleLR(
                o,
                max_lr=0.5,
                total_steps=37,
                pct_start=0.1,
                anneal_strategy="cos",
                div_factor=10.0,
                final_div_factor=100.0,
                cycle_momentum=False,
            ),
            37,
        ),
        (
            "cyclical",
            ["cyclical", 0.01, 0.1, 4, 6],
            lambda o: S.CyclicLR(
                o,
                base_lr=0.01,
                max_lr=0.1,
                step_size_up=4,
                step_size_down=6,
                mode="triangular",
                cycle_momentum=False,
            ),
            25,
        ),
    ]
    for name, ours, make, n in cases:
        out[f"{name}/settings"] = np.array(
            json.dumps({"schedule": ours, "reference": "torch.optim.lr_scheduler"})
        )
        out[f"{name}/lr"] = np.array(torch_lrs(make, n))

    import optax

    optax_cases = [
        (
            "warmup_cosine",
            ["warmup_cosine", 0.1, 5, 20, 0.001, 0.01],
            optax.warmup_cosine_decay_schedule(0.01, 0.1, 5, 20, end_value=0.001),
            25,
        ),
        (
            "join",
            ["join_linear_exponential"],
            optax.join_schedules(
                [optax.linear_schedule(0.0, 0.1, 5), optax.exponential_decay(0.1, 1, 0.8)], [5]
            ),
            15,
        ),
    ]
    for name, ours, schedule, n in optax_cases:
        out[f"{name}/settings"] = np.array(json.dumps({"schedule": ours, "reference": "optax"}))
        out[f"{name}/lr"] = np.array([float(schedule(step)) for step in range(n)])

    # ReduceLROnPlateau: the rate after each metric, for a metric that stalls, improves, stalls.
    metrics = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.7, 0.71, 0.72,
               0.73, 0.74, 0.75, 0.76, 0.77, 0.78]  # fmt: skip
    plateau_cases = [
        (
            "plateau",
            dict(mode="min", factor=0.5, patience=2, threshold=1e-4, threshold_mode="rel", cooldown=0),
        ),
        (
            "plateau_cooldown_floor",
            dict(mode="min", factor=0.3, patience=1, threshold=0.05, threshold_mode="abs", cooldown=2,
                 min_lr=0.005),
        ),
        ("plateau_max", dict(mode="max", factor=0.5, patience=1, threshold=0.05, threshold_mode="abs")),
    ]
    for name, kwargs in plateau_cases:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = S.ReduceLROnPlateau(opt, **kwargs)
        sign = -1.0 if kwargs["mode"] == "max" else 1.0  # a rising metric, all negative, for "max"
        lrs = []
        for metric in sign * np.array(metrics):
            scheduler.step(metric)
            lrs.append(opt.param_groups[0]["lr"])
        out[f"{name}/settings"] = np.array(
            json.dumps(
                {"initial": 0.1, "kwargs": kwargs, "reference": "torch.optim.lr_scheduler.ReduceLROnPlateau"}
            )
        )
        out[f"{name}/metrics"] = sign * np.array(metrics)
        out[f"{name}/lr"] = np.array(lrs)


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    for filename, make in [
        ("optimizers.npz", optimizer_fixtures),
        ("muon.npz", muon_fixtures),
        ("lbfgs.npz", lbfgs_fixtures),
        ("losses.npz", loss_fixtures),
        ("schedules.npz", schedule_fixtures),
    ]:
        out = {"versions": np.array(versions())}
        if filename in ("optimizers.npz", "muon.npz"):
            out.update({f"problem/{k}": v for k, v in PROBLEM.items()})
        make(out)
        np.savez_compressed(HERE / filename, **out)
        print(f"{filename}: {len(out)} arrays, {(HERE / filename).stat().st_size} bytes")


if __name__ == "__main__":
    main()
