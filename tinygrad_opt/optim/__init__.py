"""Optimizers that update `Value` parameters from their `.grad`, with PyTorch's interface.

    opt = optim.Adam(model.parameters(), lr=1e-3)
    opt.zero_grad(); loss.backward(); opt.step()

From simple to complex: SGD, Adagrad, RMSProp, Adam, AdamW, NAdam, RAdam, Lion,
LAMB, Muon, LBFGS; then what the post left out and today's frontier: LARS,
Adafactor, SophiaG (with `sample_labels` for its Hessian estimate), Prodigy,
ScheduleFreeSGD, ScheduleFreeAdamW, SOAP. Learning-rate schedules are in
`optim.schedules`, gradient clipping is `optim.clip_grad_norm` and
`optim.clip_grad_value`.
"""

from tinygrad_opt.optim import schedules
from tinygrad_opt.optim.adafactor import Adafactor
from tinygrad_opt.optim.adagrad import Adagrad
from tinygrad_opt.optim.adam import Adam, AdamW
from tinygrad_opt.optim.clip import clip_grad_norm, clip_grad_value
from tinygrad_opt.optim.lamb import LAMB
from tinygrad_opt.optim.lars import LARS
from tinygrad_opt.optim.lbfgs import LBFGS
from tinygrad_opt.optim.lion import Lion
from tinygrad_opt.optim.muon import Muon
from tinygrad_opt.optim.nadam import NAdam
from tinygrad_opt.optim.optimizer import Optimizer
from tinygrad_opt.optim.prodigy import Prodigy
from tinygrad_opt.optim.radam import RAdam
from tinygrad_opt.optim.rmsprop import RMSProp, RMSprop
from tinygrad_opt.optim.schedulefree import ScheduleFreeAdamW, ScheduleFreeSGD
from tinygrad_opt.optim.sgd import SGD
from tinygrad_opt.optim.soap import SOAP
from tinygrad_opt.optim.sophia import SophiaG, sample_labels

__all__ = [
    "LAMB", "LBFGS", "SGD", "Adagrad", "Adam", "AdamW", "Lion", "Muon", "NAdam", "Optimizer", "RAdam",
    "RMSProp", "RMSprop", "clip_grad_norm", "clip_grad_value", "schedules",
    "LARS", "Adafactor", "SophiaG", "sample_labels", "Prodigy", "SOAP", "ScheduleFreeAdamW",
    "ScheduleFreeSGD",
]
