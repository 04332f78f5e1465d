"""SOAP: Adam run in the eigenbasis of Shampoo's preconditioner."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_lr, check_number


class SOAP(Optimizer):
    r"""SOAP: ShampoO with Adam in the Preconditioner's eigenbasis.

    For a matrix parameter with gradient G_t, t = 1, 2, ... with L_0 = R_0 = 0,
    m_0 = v_0 = 0 (beta_s = shampoo_beta, or beta2 when it is None):

        L_t <- beta_s * L_{t-1} + (1 - beta_s) * G_t G_t^T     (Shampoo's left statistic)
        R_t <- beta_s * R_{t-1} + (1 - beta_s) * G_t^T G_t     (and its right one)
        t = 1:  Q_L, Q_R <- eigenvectors of L_1, R_1 (by decreasing eigenvalue); no step yet
        t > 1, with s = t - 1 (the count of Adam steps) and G, L, R, Q from before this step:
            G'      <- Q_L^T G_t Q_R                            (the gradient in the eigenbasis)
            m_t     <- beta1 * m_{t-1} + (1 - beta1) * G_t      (m in the parameter's basis)
            v_t     <- beta2 * v_{t-1} + (1 - beta2) * G'^2     (v in the eigenbasis)
            N_t     <- Q_L (Q_L^T m_t Q_R / (sqrt(v_t) + eps)) Q_R^T
            theta_t <- theta_{t-1} - lr * sqrt(1 - beta2^s) / (1 - beta1^s) * N_t
            theta_t <- theta_t * (1 - lr * lambda)
            then L_t, R_t as above, and if s is a multiple of f, one power iteration:
            Q <- QR(L_t Q), columns ordered by the estimates diag(Q^T L_t Q), v's rows
                 (columns for R) reordered alike

    A tensor of any order has one such statistic and basis per axis of size <= the
    largest preconditioned size (the others are left in the parameter's basis). Vectors
    and scalars have no basis: for them SOAP is AdamW with its first step skipped.

    Arguments -> symbols: `lr` -> lr (eta), `betas` -> (beta1, beta2), `shampoo_beta`
    -> beta_s, `weight_decay` -> lambda (decoupled), `precondition_frequency` -> f,
    `max_precondition_dim` -> the largest axis size given a basis, `eps` -> eps.

    Paper: Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade (2024),
    "SOAP: Improving and Stabilizing Shampoo using Adam".

    Conventions: the numbers of pytorch_optimizer's SOAP with its defaults
    (merge_dims=False, precondition_1d=False, correct_bias=True,
    normalize_gradient=False; those options are not offered here): the first step
    only measures the gradient, weight decay comes after the Adam step, m is kept in
    the parameter's basis and rotated each step. That implementation computes the
    refreshing QR in float32 whatever the parameter's precision; here it is done in
    the parameter's own precision, so float64 runs differ from it by float32 rounding
    (about 1e-7) from the first refresh on. An eigenvector is defined only up to
    sign; the update does not depend on the signs.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 3e-3, betas: tuple[float, float] = (0.95, 0.95),
                 shampoo_beta: float | None = None, weight_decay: float = 0.01,
                 precondition_frequency: int = 10, max_precondition_dim: int = 10000,
                 eps: float = 1e-8) -> None:
        defaults = dict(lr=lr, betas=betas, shampoo_beta=shampoo_beta, weight_decay=weight_decay,
                        precondition_frequency=precondition_frequency,
                        max_precondition_dim=max_precondition_dim, eps=eps)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["betas"] = check_betas(group["betas"])
        if group["shampoo_beta"] is not None:
            group["shampoo_beta"] = check_number("shampoo_beta", group["shampoo_beta"], 0.0, 1.0)
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        for name in ("precondition_frequency", "max_precondition_dim"):
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Invalid {name}: {value!r} (expected a whole number >= 1)")
        group["eps"] = check_number("epsilon (eps)", group["eps"])

    @staticmethod
    def _axes(theta: np.ndarray, group: dict[str, Any]) -> list[int]:
        """The axes that get a preconditioner: all axes of size <= max_precondition_dim of a
        tensor of order >= 2 (vectors and scalars get none)."""
        if theta.ndim < 2:
            return []
        return [axis for axis, size in enumerate(theta.shape) if size <= group["max_precondition_dim"]]

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        state = {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}
        for axis in self._axes(theta, group):
            size = theta.shape[axis]
            state[f"preconditioner_{axis}"] = np.zeros((size, size), theta.dtype)  # L, R, ...
            state[f"eigenbasis_{axis}"] = np.zeros((size, size), theta.dtype)  # Q_L, Q_R, ...
        return state

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        (beta1, beta2), eps, t = group["betas"], group["eps"], group["step"]
        beta_s = beta2 if group["shampoo_beta"] is None else group["shampoo_beta"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        axes = self._axes(theta, group)
        bases = {axis: state[f"eigenbasis_{axis}"] for axis in axes}
        if t > 1:  # the first step only measured the gradient to make the bases
            s = t - 1  # Adam steps so far, this one included
            G_rotated = rotate(grad, bases)  # G' = Q_L^T G Q_R
            m[...] = beta1 * m + (1 - beta1) * grad
            v[...] = beta2 * v + (1 - beta2) * G_rotated**2
            N = rotate_back(rotate(m, bases) / (np.sqrt(v) + eps), bases)  # Adam's step, turned back
            step_size = lr * math.sqrt(1 - beta2**s) / (1 - beta1**s)
            theta -= step_size * N
            theta *= 1 - lr * group["weight_decay"]
        for axis in axes:
            L = state[f"preconditioner_{axis}"]
            L[...] = beta_s * L + (1 - beta_s) * gram(grad, axis)
        if t == 1:
            for axis, Q in bases.items():
                _, eigenvectors = np.linalg.eigh(state[f"preconditioner_{axis}"])
                Q[...] = eigenvectors[:, ::-1]  # by decreasing eigenvalue
        elif (t - 1) % group["precondition_frequency"] == 0:
            for axis, Q in bases.items():
                LQ = state[f"preconditioner_{axis}"] @ Q  # one power iteration
                estimates = np.sum(Q * LQ, axis=0)  # diag(Q^T L Q): the eigenvalues, about
                order = np.argsort(-estimates, kind="stable")
                v[...] = np.take(v, order, axis=axis)  # v's coordinates follow Q's columns
                Q[...] = np.linalg.qr(LQ[:, order])[0]


def gram(G: np.ndarray, axis: int) -> np.ndarray:
    """G G^T along `axis`: the sum over every other axis of G[.., i, ..] G[.., j, ..]
    (G G^T for axis 0 of a matrix, G^T G for axis 1)."""
    others = [a for a in range(G.ndim) if a != axis]
    return np.tensordot(G, G, axes=(others, others))


def rotate(X: np.ndarray, bases: dict[int, np.ndarray]) -> np.ndarray:
    """X in the eigenbasis: Q_a^T applied along each axis a (Q_L^T X Q_R for a matrix)."""
    for axis, Q in bases.items():
        X = np.moveaxis(np.tensordot(X, Q, axes=([axis], [0])), -1, axis)
    return X


def rotate_back(X: np.ndarray, bases: dict[int, np.ndarray]) -> np.ndarray:
    """X back in the parameter's basis: Q_a applied along each axis a (Q_L X Q_R^T for a matrix)."""
    for axis, Q in bases.items():
        X = np.moveaxis(np.tensordot(X, Q, axes=([axis], [1])), -1, axis)
    return X
