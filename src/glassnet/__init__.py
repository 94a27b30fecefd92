"""glassnet: neural networks in plain NumPy where every forward and backward step is readable."""

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
    "fit_from_config",
    "mlp",
    "softmax",
]
