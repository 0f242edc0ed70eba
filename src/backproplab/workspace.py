r"""The Workspace: every per-batch training buffer of a Network, and their memory layout, in one place.

Like scikit-learn's ``activations``/``deltas`` lists, built once per batch shape and reused, but
also deciding the layout. A batch enters the first layer row-major. A Dense layer's outputs are
feature-major (see :class:`~backproplab.layers.BufferedLayer`), so the activation after it keeps
that layout, and writes its output straight into the next Dense layer's input buffer: the
workspace hands the activation that array as its ``output``, and tells the Dense layer that its
input arrives in place. A layer of the user's own (anything else with the layer protocol) returns
arrays of its own, assumed row-major; the layers around it then copy, and nothing else changes.

Sets of buffers are kept for up to :data:`MAX_SETS` batch shapes (an epoch's last, smaller batch
alternates with the others).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .layers import BufferedLayer, Dense
from .registry import is_builtin

__all__ = ["Workspace", "MAX_SETS"]

#: buffer sets kept for different batch shapes
MAX_SETS = 4


class Workspace:
    """The training buffers of the layers ``body`` (a Network's training layers), by batch shape.

    Parameters
    ----------
    body : sequence of layers
        The layers a training pass runs, in order.

    Attributes
    ----------
    orders : list of {"C", "F"}
        The memory order of each layer's training input.
    output_order : {"C", "F"}
        The memory order of the training output, in which targets should be given to the loss.
    """

    def __init__(self, body: Sequence[Any]) -> None:
        self.body = list(body)
        self.orders: list[Literal["C", "F"]] = []
        order: Literal["C", "F"] = "C"  # of the batch gathered by fit
        for layer in self.body:
            self.orders.append(order)
            if isinstance(layer, Dense):
                order = "F"
            elif not isinstance(layer, BufferedLayer):
                order = "C"  # a custom layer: assume row-major outputs
        self.output_order: Literal["C", "F"] = order
        self._sets: dict[tuple[int, np.dtype], list[dict[str, Any] | None]] = {}
        self._grads: dict[tuple[int, ...], np.ndarray] = {}
        reference = weakref.ref(self)
        for layer in self.body:
            if isinstance(layer, BufferedLayer):
                layer._workspace = reference

    def _writes_into_next(self, index: int) -> bool:
        """Whether layer ``index`` writes its training output into the next layer's input buffer."""
        layer = self.body[index]
        following = self.body[index + 1] if index + 1 < len(self.body) else None
        # only our own classes are known to write where they are told (a subclass might not)
        return (self.orders[index] == "F" and isinstance(following, Dense) and is_builtin(layer)
                and getattr(layer, "writes_output", False))

    def _build(self, rows: int, dtype: np.dtype) -> list[dict[str, Any] | None]:
        """Buffers for every layer, for batches of ``rows`` rows; Dense layers first, since the
        activation before one writes into its input buffer."""
        sets: list[dict[str, Any] | None] = [None] * len(self.body)
        for index, layer in enumerate(self.body):
            if isinstance(layer, Dense):
                written = index > 0 and self._writes_into_next(index - 1)
                sets[index] = layer.training_buffers((rows, layer.in_features), dtype, "F", copy_input=not written)
        for index, layer in enumerate(self.body):
            if not isinstance(layer, BufferedLayer) or isinstance(layer, Dense):
                continue
            writes = self._writes_into_next(index)
            following = self.body[index + 1] if writes else None
            output = following.input_buffer_of(sets[index + 1]) if following is not None else None
            # the next Dense layer's input gradient is a scratch array nothing reads after this layer
            scratch = index + 1 < len(self.body) and isinstance(self.body[index + 1], Dense) and self.orders[index] == "F"
            shape = (rows, self._width(index, output))
            sets[index] = layer.training_buffers(shape, dtype, self.orders[index], output, grad_out_scratch=scratch)
        return sets

    def _width(self, index: int, output: np.ndarray | None) -> int:
        """The feature count at the input of layer ``index`` (0 when unknown: a layer of the user's own
        before it with no Dense in between; such a layer allocates at its first call instead)."""
        if output is not None:
            return int(output.shape[1])
        for layer in reversed(self.body[:index]):
            if isinstance(layer, Dense):
                return layer.out_features
            if not isinstance(layer, BufferedLayer):
                return 0
        return 0

    def attach(self, layer: BufferedLayer, shape: tuple[int, ...], dtype: np.dtype) -> None:
        """Give ``layer`` its buffers for inputs of ``shape`` and ``dtype`` (called by the layer when
        its input's shape changes)."""
        index = next(i for i, other in enumerate(self.body) if other is layer)
        key = (shape[0], np.dtype(dtype))
        sets = self._sets.get(key)
        if sets is None:
            if len(self._sets) >= MAX_SETS:
                self._sets.clear()
            sets = self._sets[key] = self._build(shape[0], key[1])
        buffers = sets[index]
        if buffers is None or not _fits(layer, buffers, shape):
            # a width the workspace could not know in advance (after a custom layer): a set of its own
            buffers = sets[index] = layer.training_buffers(shape, dtype, self.orders[index])
        layer.use_buffers(shape, dtype, buffers)

    def output_gradient(self, output: np.ndarray) -> np.ndarray:
        """The buffer the loss writes ``dL/d output`` into, for a training output like ``output``."""
        grad = self._grads.get(output.shape)
        if grad is None:
            if len(self._grads) >= MAX_SETS:
                self._grads.clear()
            grad = self._grads[output.shape] = np.empty_like(output)
        return grad

    def first_input(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
        """The first layer's input buffer for batches of ``shape``, when the first layer is Dense
        (filled by the caller, then run with ``Network.forward_backward_staged``); else None."""
        first = self.body[0] if self.body else None
        return first.input_buffer(shape, dtype) if type(first) is Dense else None


def _fits(layer: BufferedLayer, buffers: dict[str, Any], shape: tuple[int, ...]) -> bool:
    if isinstance(layer, Dense):
        return True
    grad = buffers.get("_grad")
    return grad is not None and grad.shape == shape
