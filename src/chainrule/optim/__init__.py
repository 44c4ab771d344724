"""chainrule.optim: optimizers and learning-rate schedules (PyTorch's names and algorithms).

    opt = chainrule.optim.Adam(model.parameters(), lr=1e-3)
    sched = chainrule.optim.lr_scheduler.StepLR(opt, step_size=10)
    for epoch in range(n_epochs):
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        sched.step()

Each update is a fused in-place kernel (``chainrule.ops.optim_kernels``) that follows
PyTorch's documented algorithm in the same order of operations.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
           "LBFGS",
           "SGD",
           "Adadelta",
           "Adagrad",
           "Adam",
           "AdamW",
           "Optimizer",
           "RMSprop",
           "lr_scheduler",
]
