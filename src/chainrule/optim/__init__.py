"""``chainrule.optim``: optimizers (SGD, RMSprop, Adam, AdamW) and learning-rate schedules.

Update rules, option names and state names follow ``torch.optim``; every update is done
in place.

>>> from chainrule import nn, optim
>>> model = nn.MLP(2, [100], 3)
>>> opt = optim.Adam(model.parameters(), lr=1e-2)
>>> sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
>>> loss = nn.CrossEntropyLoss()(model(X), y)
>>> opt.zero_grad(); loss.backward(); opt.step(); sched.step()
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.registry import OPTIMIZERS, make_optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = [
    "OPTIMIZERS", "SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler",
    "make_optimizer",
]
