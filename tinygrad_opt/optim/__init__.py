"""Optimizers that update `Value` parameters from their `.grad`, with PyTorch's interface.

    opt = optim.Adam(model.parameters(), lr=1e-3)
    opt.zero_grad(); loss.backward(); opt.step()

Ordered from simple to complex: SGD, RMSProp, Adam, AdamW.
"""

from tinygrad_opt.optim.adam import Adam, AdamW
from tinygrad_opt.optim.optimizer import Optimizer
from tinygrad_opt.optim.rmsprop import RMSProp, RMSprop
from tinygrad_opt.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSProp", "RMSprop"]
