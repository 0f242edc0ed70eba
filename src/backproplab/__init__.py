"""backproplab: fully-connected neural networks trained by explicit backpropagation, in NumPy,
with the instruments that show why a network learns or stalls."""

from __future__ import annotations

from typing import Any

from . import activations, data, datasets, initializers, losses, metrics, optimizers
from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .diagnostics import Diagnosis, Finding, diagnose, diagnose_record
from .gradcheck import GradCheckResult, check_gradient, gradcheck
from .layers import Dense, Layer, Parameter, Standardize
from .losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Loss
from .monitor import GradientFlow
from .network import Network
from .optimizers import SGD, Adam, Optimizer, RMSProp
from .persistence import ModelFileError, load, save
from .training import Callback, ConvergenceWarning, DivergenceWarning, History, Stop

# imported on first use, so that `import backproplab` (and every command-line run) does not pay for
# the dashboard's server stack, the sweep runner or the probe when they are not used
_LAZY = {"Dashboard": ("dashboard", "Dashboard"), "Probe": ("probe", "Probe"), "sweep": ("sweep", None)}


def __getattr__(name: str) -> Any:
    value: Any
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("backproplab")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.1.0"
    elif name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        module = importlib.import_module(f".{module_name}", __name__)  # sweep: a callable package
        value = module if attribute is None else getattr(module, attribute)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

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
