"""A small ONNX graph builder and the two places initializers can go.

`InlineInitializers` keeps tensor bytes inside the protobuf (models under 2 GiB).
`ExternalDataWriter` streams each large tensor straight into a side file as it is produced
and puts only its location in the protobuf, so a model is never held twice in memory (once
as numpy arrays, once serialized) and the 2 GiB protobuf limit does not apply.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Outputs = Union[str, List[str]]


class InlineInitializers:
    def add(self, name: str, array: np.ndarray) -> TensorProto:
        return numpy_helper.from_array(np.asarray(array, order="C"), name)


class ExternalDataWriter:
    """Writes tensors of at least `size_threshold` bytes to `data_path`, aligned for mmap.

    `location` is the path ONNX records, relative to the directory of the .onnx file.
    """

    ALIGNMENT = 4096

    def __init__(self, data_path: str, location: str, size_threshold: int = 1024):
        self.location = location
        self.size_threshold = size_threshold
        self._file = open(data_path, "wb")

    def add(self, name: str, array: np.ndarray) -> TensorProto:
        array = np.asarray(array, order="C")  # not ascontiguousarray: it turns 0-d scalars into 1-d
        if array.nbytes < self.size_threshold:
            return numpy_helper.from_array(array, name)
        end = self._file.tell()
        offset = (end + self.ALIGNMENT - 1) // self.ALIGNMENT * self.ALIGNMENT
        self._file.write(b"\0" * (offset - end))
        self._file.write(memoryview(array.astype(array.dtype.newbyteorder("<"), copy=False)).cast("B"))
        tensor = TensorProto(
            name=name, dims=array.shape, data_type=helper.np_dtype_to_tensor_dtype(array.dtype)
        )
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.location), ("offset", offset), ("length", array.nbytes)):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, str(value)
        return tensor

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "ExternalDataWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def tensor_info(name: str, elem_type: int, shape: Sequence[Union[int, str]]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, list(shape))


class GraphBuilder:
    """Collects nodes and initializers. Node names are unique and say where a node sits in
    the model (e.g. 'layers.0.attn.i_proj.matmul'); a single output takes the node's name."""

    def __init__(self, initializers: Optional[Union[InlineInitializers, ExternalDataWriter]] = None):
        self._initializer_sink = initializers or InlineInitializers()
        self.nodes: List[onnx.NodeProto] = []
        self.initializers: List[TensorProto] = []
        self._value_names: set = set()
        self._node_names: set = set()
        self._constants: Dict[tuple, str] = {}
        self.inputs: List[onnx.ValueInfoProto] = []
        self.outputs: List[onnx.ValueInfoProto] = []

    @staticmethod
    def _claim(name: str, taken: set) -> str:
        if name in taken:
            raise ValueError(f"duplicate ONNX name {name!r}")
        taken.add(name)
        return name

    def input(self, name: str, elem_type: int, shape: Sequence[Union[int, str]]) -> str:
        self.inputs.append(tensor_info(self._claim(name, self._value_names), elem_type, shape))
        return name

    def output(self, name: str, elem_type: int, shape: Sequence[Union[int, str]]) -> None:
        self.outputs.append(tensor_info(name, elem_type, shape))

    def initializer(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self._initializer_sink.add(self._claim(name, self._value_names), array))
        return name

    def constant(self, value: Union[float, int, Sequence[float]], dtype: Any = np.float32) -> str:
        """A shared small constant (scalar or 1-D), created on first use."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constants:
            text = "_".join(f"{v:g}" if array.dtype.kind == "f" else str(v) for v in array.reshape(-1))
            self._constants[key] = self.initializer(f"const.{array.dtype.name}.{text}", array)
        return self._constants[key]

    def op(
        self,
        op_type: str,
        inputs: Sequence[str],
        name: str,
        outputs: Optional[Sequence[str]] = None,
        **attrs: Any,
    ) -> Outputs:
        """Append a node; returns its output name (or names, when `outputs` lists several)."""
        output_names = [self._claim(o, self._value_names) for o in (outputs or [name])]
        node_name = self._claim(name, self._node_names)
        self.nodes.append(helper.make_node(op_type, list(inputs), output_names, name=node_name, **attrs))
        return output_names[0] if len(output_names) == 1 else output_names

    def graph(self, name: str, doc: str = "") -> onnx.GraphProto:
        return helper.make_graph(
            self.nodes, name, self.inputs, self.outputs, self.initializers, doc_string=doc
        )
