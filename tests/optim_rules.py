"""Independent NumPy transcriptions of each optimizer's published update rule, and a
harness that runs an optimizer and its transcription side by side.

The reference for every optimizer is its golden trajectory from the real library
(tests/test_golden.py). These transcriptions check what fixtures cannot hold: tensors
larger than one chunk and in other layouts, random hyperparameters (hypothesis),
switches no library has (bias_correction=False), wide matrices and other Newton-Schulz
step counts for Muon, and L-BFGS's two-loop recursion against the explicit BFGS matrix.

Each rule is written out of place, in float64, straight from the equations of its
paper (with the conventions the optimizer's docstring names), without looking at
how the optimizer organises its in-place arithmetic.
"""

from __future__ import annotations

import numpy as np

from tinygrad_opt import Value

# A non-quadratic test function: f(x) = sum(log(1 + (x - c)^2) + 0.1 x^4)
C = np.array([0.3, -0.7, 1.1, 0.05])
X0 = np.array([0.5, -1.2, 2.0, -0.4])


def grad_f(x: np.ndarray, c: np.ndarray = C) -> np.ndarray:
    return 2 * (x - c) / (1 + (x - c) ** 2) + 0.4 * x**3


def loss_tensor(p: Value, c: np.ndarray = C) -> Value:
    return (((p - c) ** 2 + 1).log() + 0.1 * p**4).sum()


def loss_scalars(ps: list[Value], c: np.ndarray = C) -> Value:
    total = 0.0
    for p, ci in zip(ps, c, strict=True):
        total = total + ((p - float(ci)) ** 2 + 1).log() + 0.1 * p**4
    return total


def run_engine(make_opt, x0: np.ndarray, steps: int, scalar: bool, c: np.ndarray = C) -> np.ndarray:
    """Minimise f with the optimizer `make_opt(params)`; return the parameters after each step."""
    if scalar:
        params = [Value(float(v)) for v in x0]
    else:
        params = [Value(np.array(x0, dtype=np.float64))]
    opt = make_opt(params)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_scalars(params, c) if scalar else loss_tensor(params[0], c)
        loss.backward()
        opt.step()
        trajectory.append([p.data for p in params] if scalar else params[0].data.copy())
    return np.array(trajectory)


def run_rule(rule, x0: np.ndarray, steps: int, c: np.ndarray = C, **hyper) -> np.ndarray:
    """Minimise f with the transcription `rule(theta, g, state, t, **hyper)`."""
    theta = np.array(x0, dtype=np.float64)
    state: dict = {}
    trajectory = []
    for t in range(1, steps + 1):
        theta = rule(theta, grad_f(theta, c), state, t, **hyper)
        trajectory.append(theta.copy())
    return np.array(trajectory)


def lr_at(lr, t):
    """The learning rate of update t (1-based): a schedule is evaluated at step t - 1."""
    return lr(t - 1) if callable(lr) else lr


# ------------------------------------------------------------------------------- rules
def sgd(theta, g, state, t, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    lr = lr_at(lr, t)
    g = g + weight_decay * theta
    if momentum:
        b = g if t == 1 else momentum * state["b"] + (1 - dampening) * g
        state["b"] = b
        d = g + momentum * b if nesterov else b
    else:
        d = g
    return theta - lr * d


def rmsprop(theta, g, state, t, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False):
    lr = lr_at(lr, t)
    g = g + weight_decay * theta
    v = alpha * state.get("v", 0.0) + (1 - alpha) * g**2
    state["v"] = v
    if centered:
        gbar = alpha * state.get("gbar", 0.0) + (1 - alpha) * g
        state["gbar"] = gbar
        s = np.sqrt(v - gbar**2) + eps
    else:
        s = np.sqrt(v) + eps
    if momentum:
        b = momentum * state.get("b", 0.0) + g / s
        state["b"] = b
        return theta - lr * b
    return theta - lr * g / s


def adam(theta, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         bias_correction=True, decoupled=False):
    lr = lr_at(lr, t)
    beta1, beta2 = betas
    if decoupled:
        theta = theta * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * theta
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    state["m"], state["v"] = m, v
    if amsgrad:
        v = np.maximum(state.get("vmax", 0.0), v)
        state["vmax"] = v
    if bias_correction:
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    else:
        m_hat, v_hat = m, v
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


def adamw(theta, g, state, t, weight_decay=0.01, **hyper):
    return adam(theta, g, state, t, weight_decay=weight_decay, decoupled=True, **hyper)


def adagrad(theta, g, state, t, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10):
    lr = lr_at(lr, t)
    g = g + weight_decay * theta
    G = state.get("G", initial_accumulator_value) + g**2
    state["G"] = G
    return theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(G) + eps)


def nadam(theta, g, state, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False):
    lr = lr_at(lr, t)
    beta1, beta2 = betas

    def mu(i):
        return beta1 * (1 - 0.5 * 0.96 ** (i * momentum_decay))

    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * theta
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    state["m"], state["v"] = m, v
    prod_t = np.prod([mu(i) for i in range(1, t + 1)])
    prod_next = prod_t * mu(t + 1)
    v_hat = v / (1 - beta2**t)
    direction = (1 - mu(t)) / (1 - prod_t) * g + mu(t + 1) / (1 - prod_next) * m
    return theta - lr * direction / (np.sqrt(v_hat) + eps)


def radam(theta, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
          decoupled_weight_decay=False):
    lr = lr_at(lr, t)
    beta1, beta2 = betas
    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * theta
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    state["m"], state["v"] = m, v
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho > 5:
        l_t = np.sqrt(1 - beta2**t) / (np.sqrt(v) + eps)
        r_t = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return theta - lr * m_hat * r_t * l_t
    return theta - lr * m_hat


def lion(theta, g, state, t, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    lr = lr_at(lr, t)
    beta1, beta2 = betas
    m = state.get("m", np.zeros_like(theta))
    c = beta1 * m + (1 - beta1) * g
    theta = theta - lr * (np.sign(c) + weight_decay * theta)
    state["m"] = beta2 * m + (1 - beta2) * g
    return theta


def lamb(theta, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, bias_correction=True,
         per_element=False):
    """LAMB on one parameter tensor; `per_element` treats every entry as its own scalar parameter."""
    lr = lr_at(lr, t)
    beta1, beta2 = betas
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    state["m"], state["v"] = m, v
    m_hat, v_hat = (m / (1 - beta1**t), v / (1 - beta2**t)) if bias_correction else (m, v)
    r = m_hat / (np.sqrt(v_hat) + eps) + weight_decay * theta
    if per_element:
        theta_norm, r_norm = np.abs(theta), np.abs(r)
    else:
        theta_norm, r_norm = np.linalg.norm(theta), np.linalg.norm(r)
    ratio = np.where((theta_norm > 0) & (r_norm > 0), theta_norm / np.where(r_norm > 0, r_norm, 1), 1.0)
    return theta - lr * ratio * r


def newton_schulz(G, steps=5, a=3.4445, b=-4.775, c=2.0315, eps=1e-7):
    """Jordan et al.'s quintic iteration X <- a X + b (X X^T) X + c (X X^T)^2 X on the wide orientation."""
    X = G.T if G.shape[0] > G.shape[1] else G
    X = X / max(np.sqrt(np.sum(X * X)), eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + b * (A @ X) + c * (A @ (A @ X))
    return X.T if G.shape[0] > G.shape[1] else X


def muon(theta, g, state, t, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_steps=5,
         adjust_lr_fn=None):
    """Muon on one matrix: EMA momentum, Nesterov blend, orthogonalise, decoupled decay."""
    lr = lr_at(lr, t)
    B = momentum * state.get("B", 0.0) + (1 - momentum) * g
    state["B"] = B
    U = (1 - momentum) * g + momentum * B if nesterov else B
    rows, cols = theta.shape
    if adjust_lr_fn == "match_rms_adamw":
        scale = 0.2 * np.sqrt(max(rows, cols))
    else:
        scale = np.sqrt(max(1, rows / cols))
    return theta * (1 - lr * weight_decay) - lr * scale * newton_schulz(U, ns_steps)


def lbfgs(x, grad, iterations, lr=1.0, history_size=100):
    """L-BFGS with a fixed step, the inverse Hessian built as an explicit matrix by the BFGS
    update H <- V^T H V + rho s s^T, V = I - rho y s^T (Nocedal & Wright, eq. 6.17 and 7.19),
    from H^0 = gamma I over the kept pairs. Returns x after each iteration."""
    n = x.size
    pairs = []
    gamma = 1.0
    g = grad(x)
    g_prev, t = g, 0.0
    trajectory = []
    for k in range(iterations):
        if k == 0:
            d = -g
        else:
            s, y = t * d, g - g_prev
            if y @ s > 1e-10:
                pairs = (pairs + [(s, y)])[-history_size:]
                gamma = (y @ s) / (y @ y)
            H = gamma * np.eye(n)
            for s_i, y_i in pairs:
                rho = 1 / (y_i @ s_i)
                V = np.eye(n) - rho * np.outer(y_i, s_i)
                H = V.T @ H @ V + rho * np.outer(s_i, s_i)
            d = -H @ g
        g_prev = g
        t = lr * min(1.0, 1.0 / np.sum(np.abs(g))) if k == 0 else lr
        x = x + t * d
        g = grad(x)
        trajectory.append(x)
    return np.array(trajectory)
