"""The post's NumPy code, transcribed: its four optimizers, its hand-written gradients, its loop.

The tests race the project's optimizers (through autograd) against this transcription.
"""

import numpy as np


class SGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return [p - self.lr * g for p, g in zip(params, grads, strict=True)]


class SGDMomentum:
    def __init__(self, lr=0.01, beta=0.9):
        self.lr, self.beta, self.velocity = lr, beta, None

    def step(self, params, grads):
        if self.velocity is None:
            self.velocity = [np.zeros_like(g) for g in grads]
        updated = []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            self.velocity[i] = self.beta * self.velocity[i] + g
            updated.append(p - self.lr * self.velocity[i])
        return updated


class RMSProp:
    def __init__(self, lr=0.01, beta=0.9, eps=1e-8):
        self.lr, self.beta, self.eps, self.sq_avg = lr, beta, eps, None

    def step(self, params, grads):
        if self.sq_avg is None:
            self.sq_avg = [np.zeros_like(g) for g in grads]
        updated = []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            self.sq_avg[i] = self.beta * self.sq_avg[i] + (1 - self.beta) * g**2
            updated.append(p - self.lr * g / (np.sqrt(self.sq_avg[i]) + self.eps))
        return updated


class Adam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = None
        self.t = 0

    def step(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grads]
            self.v = [np.zeros_like(g) for g in grads]
        self.t += 1
        updated = []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g**2
            m_hat = self.m[i] / (1 - self.beta1**self.t)
            v_hat = self.v[i] / (1 - self.beta2**self.t)
            updated.append(p - self.lr * m_hat / (np.sqrt(v_hat) + self.eps))
        return updated


def bowl_grad(pos):
    return np.array([2 * pos[0], 2 * pos[1]])


def ravine_grad(pos):
    return np.array([100 * pos[0], 2 * pos[1]])


def beale_like_grad(pos):
    x, y = pos
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y**2
    return np.array([2 * a * (-1 + y) + 2 * b * (-1 + y**2), 2 * a * x + 2 * b * (2 * x * y)])


def run(grad_fn, opt, start, steps, clip=None):
    """The post's loop; returns the (steps + 1, 2) positions."""
    pos = np.array(start, dtype=float)
    trajectory = [pos.copy()]
    for _ in range(steps):
        grad = grad_fn(pos)
        if clip is not None:
            grad = np.clip(grad, -clip, clip)
        pos = np.array(opt.step([pos[0], pos[1]], [grad[0], grad[1]]))
        trajectory.append(pos.copy())
    return np.array(trajectory)


# The showdown's four racers as the post builds them.
SHOWDOWN = {
    "SGD": lambda: SGD(lr=0.0005),
    "Momentum": lambda: SGDMomentum(lr=0.0005, beta=0.9),
    "RMSProp": lambda: RMSProp(lr=0.005, beta=0.9),
    "Adam": lambda: Adam(lr=0.01, beta1=0.9, beta2=0.999),
}
