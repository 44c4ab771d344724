"""The op contract: one small class per primitive, forward and VJP side by side.

    class Exp(Function):
        saves_output = True
        def forward(self, x):            # arrays in, an array out
            return np.exp(x)
        def backward(self, grad):        # Tensors in, one Tensor (or None) per input out
            return grad * self.saved_output()   # dL/dx = dL/dy * exp(x)

``forward`` gets NumPy arrays and may keep arrays it needs on ``self`` (masks, shapes, index
arrays: constants with respect to differentiation). Values that backward uses *as functions
of the inputs* are declared: ``saves_inputs = True`` keeps the input tensors,
``saves_output = True`` keeps the output; backward reads them through ``saved_inputs()`` /
``saved_output()``, which check the version counters, so modifying a saved tensor in place
raises instead of giving a silently wrong gradient. Because backward is written with tensor
ops, it is differentiable again (``create_graph=True``).

The engine, not the op, undoes broadcasting, checks shapes and dtypes and accumulates.
``once_differentiable = True`` marks ops whose backward is array code (fused kernels):
differentiating through their backward raises a clear error.
"""
from __future__ import annotations

import numpy as np

from ..autograd import engine
from ..autograd.engine import AutogradError, Node, grad_edge, init_node
from ..tensor import Tensor


class Function(Node):
    """Base class of every primitive op. Subclasses define ``forward`` and ``backward``."""

    saves_inputs = False
    saves_output = False
    once_differentiable = False
    nondifferentiable_outputs: tuple = ()  # e.g. the indices output of max(dim)

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grads):
        raise NotImplementedError

    def __call__(self, *inputs):
        """Run forward on the inputs' arrays; record a graph node if a gradient is needed.

        Inputs are Tensors, or arrays/NumPy scalars that act as constants.
        """
        arrays = []
        record = False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x._data)
                if x._requires_grad:
                    record = True
                elif (x._base is not None and x._version[0] != x._view_version
                      and engine.GRAD_ENABLED):
                    # A view made before its base got history in place: it has that history
                    # now (PyTorch's rule), e.g. row = buf[1]; buf[1] = w ** 2; row * 2.
                    from .inplace import refresh_view
                    refresh_view(x)
                    record = record or x._requires_grad
            else:
                arrays.append(x)
        try:
            out = self.forward(*arrays)
        except ValueError as e:  # NumPy's broadcasting error, said in our terms
            if "broadcast" not in str(e):
                raise
            from ._util import ShapeError, describe
            raise ShapeError(
                f"{type(self).__name__.lower()}: the shapes of the inputs "
                f"({', '.join(describe(x) for x in inputs)}) cannot be broadcast together"
            ) from None
        if engine.ANOMALY_MODE:  # debugging only: find the op that first makes a nan or inf
            from ..autograd.anomaly import check_forward
            check_forward(self, arrays, out)
        if record and engine.GRAD_ENABLED:
            return self._record(inputs, arrays, out)
        if type(out) is tuple:
            return tuple(Tensor._make(o) for o in out)
        return Tensor._make(out)

    def _record(self, inputs, arrays, out):
        edges = []
        meta = []  # (shape, dtype) of each input that gets a gradient, for the engine's checks
        for x, a in zip(inputs, arrays):
            if isinstance(x, Tensor) and x._requires_grad:
                if x._base is not None and x._version[0] != x._view_version:
                    from .inplace import refresh_view  # a view whose memory changed since
                    refresh_view(x)
                fn = x.grad_fn
                edges.append((fn, x._output_nr) if fn is not None else grad_edge(x))
                meta.append((a.shape, a.dtype))
            else:
                edges.append(None)
                meta.append(None)
        init_node(self, tuple(edges), tuple(meta))
        if self.saves_inputs:
            self._saved = tuple([
                (x, x._version[0]) if isinstance(x, Tensor) else (x, None) for x in inputs])
        if type(out) is tuple:
            self.n_outputs = len(out)
            self._output_meta = tuple((o.shape, o.dtype) for o in out)
            results = tuple(
                Tensor._make(o) if i in self.nondifferentiable_outputs or o.dtype.kind not in "fc"
                else Tensor._make(o, self, i, True)
                for i, o in enumerate(out))
            if self.saves_output:
                self._saved_out = tuple((o, r._version, r._version[0])
                                        for o, r in zip(out, results))
            return results
        if out.dtype.kind not in "fc":  # integer/bool results carry no gradient
            return Tensor._make(out)
        result = Tensor._make(out, self, 0, True)
        if self.saves_output:
            self._saved_out = ((result._data, result._version, 0),)
        return result

    # -- what backward reads ---------------------------------------------------------------
    def saved_inputs(self) -> tuple:
        """The input tensors as forward saw them; raises if one was modified in place since."""
        return tuple([self.saved_input(i) for i in range(len(self._saved))])

    def saved_input(self, i: int) -> Tensor:
        """Input ``i`` as forward saw it (checked alone: an op that only needs some of its
        inputs for the gradients asked for must not fail because another one changed)."""
        t, version = self._saved[i]
        if version is None:  # a constant (a Python number or an array)
            return Tensor._make(t)
        if t._version[0] != version:
            raise _modified_error(t, self, f"input {i}", t._version[0], version)
        return t

    def saved_output(self, nr: int = 0) -> Tensor:
        """Output ``nr`` as a tensor attached to this node (so backward stays differentiable)."""
        data, counter, version = self._saved_out[nr]
        if counter[0] != version:
            raise _modified_error(Tensor._make(data), self, f"output {nr}", counter[0], version)
        return Tensor._make(data, self, nr, True)

    @property
    def needs_input_grad(self) -> tuple:
        return tuple(e is not None for e in self.next_functions)

    @property
    def saved_tensors(self) -> tuple:
        """PyTorch's name: the saved inputs, then the saved outputs."""
        if self._released:
            raise AutogradError(f"{self.name()}: saved tensors were freed after backward")
        inputs = self.saved_inputs() if self.saves_inputs else ()
        outputs = tuple(self.saved_output(i) for i in range(len(self._saved_out))) \
            if self.saves_output else ()
        return inputs + outputs


def _modified_error(t, node, which, now, expected) -> AutogradError:
    return AutogradError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t._data.dtype} tensor of shape {list(t.shape)}], which is {which} of "
        f"{node.name()}, is at version {now}; expected version {expected} instead. Hint: "
        "clone() the tensor before modifying it in place.")


def as_array(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)
