"""glassnet: neural networks in plain NumPy where every forward and backward step is readable.

The workflow in one call: ``run = glassnet.train("penguins.csv", target="species")``, then
``run.test_accuracy``, ``run.model.predict(rows)``, ``run.save("runs/penguins")`` and
``glassnet.load_run("runs/penguins")``; the layers, losses and ``fit`` beneath it are here too.
"""

from glassnet._version import __version__
from glassnet.errors import ConfigError, DataError, DivergenceError, GlassnetError, ModelFileError
from glassnet.models import checkpoint
from glassnet.models.model import Model
from glassnet.nn.gradcheck import gradcheck
from glassnet.nn.layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Param,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    mlp,
)
from glassnet.nn.losses import MeanSquaredError, SoftmaxCrossEntropy, softmax
from glassnet.nn.optim import SGD, Adam
from glassnet.training.config import TrainConfig, fit_from_config
from glassnet.training.history import History, StopTraining
from glassnet.training.loop import evaluate, fit
from glassnet.workflow import Run, load_run, resume, run_preset, sweep, train

__all__ = [
    "Adam",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "Dropout",
    "GlassnetError",
    "History",
    "Identity",
    "LeakyReLU",
    "Linear",
    "MeanSquaredError",
    "Model",
    "ModelFileError",
    "Param",
    "ReLU",
    "Run",
    "SGD",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "StopTraining",
    "Tanh",
    "TrainConfig",
    "__version__",
    "checkpoint",
    "evaluate",
    "fit",
    "gradcheck",
    "load_run",
    "fit_from_config",
    "mlp",
    "resume",
    "run_preset",
    "softmax",
    "sweep",
    "train",
]
