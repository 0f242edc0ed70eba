"""backproplab: fully-connected neural networks trained by explicit backpropagation, in NumPy,
with the instruments that show why a network learns or stalls."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import activations, data, datasets, initializers, losses, metrics, optimizers, sweep  # sweep: a callable package
from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .dashboard import Dashboard
from .diagnostics import Diagnosis, Finding, diagnose, diagnose_record
from .gradcheck import GradCheckResult, check_gradient, gradcheck
from .layers import Dense, Layer, Parameter, Standardize
from .losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Loss
from .monitor import GradientFlow
from .network import Network
from .optimizers import SGD, Adam, Optimizer, RMSProp
from .persistence import ModelFileError, load, save
from .probe import Probe
from .training import Callback, ConvergenceWarning, DivergenceWarning, History, Stop

try:
    __version__ = version("backproplab")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0"

__all__ = [
    "Adam",
    "BinaryCrossEntropy",
    "Callback",
    "ConvergenceWarning",
    "CrossEntropy",
    "Dashboard",
    "Dense",
    "Diagnosis",
    "DivergenceWarning",
    "Finding",
    "GradCheckResult",
    "GradientFlow",
    "History",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Loss",
    "MAE",
    "MSE",
    "ModelFileError",
    "Network",
    "Optimizer",
    "Parameter",
    "Probe",
    "RMSProp",
    "ReLU",
    "SGD",
    "Sigmoid",
    "Softmax",
    "Standardize",
    "Stop",
    "Tanh",
    "__version__",
    "activations",
    "check_gradient",
    "data",
    "datasets",
    "diagnose",
    "diagnose_record",
    "gradcheck",
    "initializers",
    "load",
    "losses",
    "metrics",
    "optimizers",
    "save",
    "sweep",
]
