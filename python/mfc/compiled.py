"""Compile ONNX models with the `mfc` driver and run the libraries from Python.

    lib = mfc.compiled.compile("model.onnx")          # -> model.so
    model = mfc.compiled.load(lib)
    logits, *states = model(input_ids, *states)        # numpy in, numpy out

Runs go through mfc's C runtime (libmfc_runtime.so, include/mfc/Runtime/mfc_runtime.h)
with ctypes. The tools are found under $MFC_BUILD_DIR, else the repository's build/.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

MAX_RANK = 8
ERR_CAPACITY = 6

# ONNX TensorProto.DataType -> numpy dtype (the values mfc's runtime uses). numpy has no
# bfloat16: BFLOAT16 (16) tensors travel as their raw bits in uint16 (bfloat16_bits and
# float32_from_bfloat16 convert).
ONNX_DTYPES = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
    7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
    16: np.uint16,
}


def bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """float32 values rounded to bfloat16 (to nearest, ties to even), as uint16 bits."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def float32_from_bfloat16(bits: np.ndarray) -> np.ndarray:
    """bfloat16 values given as uint16 bits, widened to float32 exactly."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


class MfcError(RuntimeError):
    """A compilation or runtime error, with mfc's diagnostic."""


def build_dir() -> Path:
    return Path(os.environ.get("MFC_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))


def _tool(name: str) -> Path:
    path = build_dir() / "bin" / name
    if not path.exists():
        raise MfcError(f"{path} not found: build mfc first (bash scripts/setup.sh) "
                       "or set MFC_BUILD_DIR")
    return path


def compile(model: Union[str, os.PathLike], output: Optional[Union[str, os.PathLike]] = None,
            target: str = "cpu", extra_args: Sequence[str] = ()) -> Path:
    """Compiles an ONNX model to a shared library with `mfc`; returns its path."""
    model = Path(model)
    output = Path(output) if output else model.with_suffix(".so")
    proc = subprocess.run([str(_tool("mfc")), str(model), f"--target={target}", "-o", str(output),
                           *extra_args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise MfcError(f"mfc failed on {model}:\n{proc.stderr.strip()}")
    return output


class _Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("rank", ctypes.c_int64),
                ("dims", ctypes.c_int64 * MAX_RANK), ("capacity_bytes", ctypes.c_size_t)]


def _runtime() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(build_dir() / "lib" / "libmfc_runtime.so"))
    p, i64, size = ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t
    for name, res, args in [
        ("mfc_model_load", ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(p)]),
        ("mfc_model_free", None, [p]),
        ("mfc_model_last_error", ctypes.c_char_p, [p]),
        ("mfc_model_num_inputs", size, [p]), ("mfc_model_num_outputs", size, [p]),
        ("mfc_model_input_name", ctypes.c_char_p, [p, size]),
        ("mfc_model_output_name", ctypes.c_char_p, [p, size]),
        ("mfc_model_input_type", ctypes.c_int, [p, size]),
        ("mfc_model_output_type", ctypes.c_int, [p, size]),
        ("mfc_model_input_rank", i64, [p, size]), ("mfc_model_output_rank", i64, [p, size]),
        ("mfc_model_input_dims", ctypes.POINTER(i64), [p, size]),
        ("mfc_model_output_dims", ctypes.POINTER(i64), [p, size]),
        ("mfc_model_set_num_threads", ctypes.c_int, [p, size]),
        ("mfc_session_create", ctypes.c_int, [p, ctypes.POINTER(p)]),
        ("mfc_session_free", None, [p]),
        ("mfc_session_last_error", ctypes.c_char_p, [p]),
        ("mfc_session_run", ctypes.c_int, [p, ctypes.POINTER(_Tensor), size,
                                           ctypes.POINTER(_Tensor), size]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


class Port:
    """One input or output of a compiled model: name, numpy dtype, dims (-1 dynamic)."""

    def __init__(self, name: str, dtype: np.dtype, dims: Tuple[int, ...]):
        self.name, self.dtype, self.dims = name, np.dtype(dtype), dims

    def __repr__(self) -> str:
        return f"Port({self.name!r}, {self.dtype}, {list(self.dims)})"


class CompiledModel:
    """A loaded model library with one session; call it with numpy arrays."""

    def __init__(self, path: Union[str, os.PathLike]):
        self._rt = _runtime()
        self._model = ctypes.c_void_p()
        status = self._rt.mfc_model_load(str(Path(path).resolve()).encode(), ctypes.byref(self._model))
        if status != 0:
            message = self._rt.mfc_model_last_error(self._model).decode()
            self._rt.mfc_model_free(self._model)
            self._model = None  # freed: __del__ must not free it again
            raise MfcError(message)
        rt, m = self._rt, self._model

        def ports(kind: str) -> List[Port]:
            count = getattr(rt, f"mfc_model_num_{kind}s")(m)
            result = []
            for i in range(count):
                rank = getattr(rt, f"mfc_model_{kind}_rank")(m, i)
                dims = getattr(rt, f"mfc_model_{kind}_dims")(m, i)
                dtype = ONNX_DTYPES[getattr(rt, f"mfc_model_{kind}_type")(m, i)]
                name = getattr(rt, f"mfc_model_{kind}_name")(m, i).decode()
                result.append(Port(name, dtype, tuple(dims[d] for d in range(rank))))
            return result

        self.inputs, self.outputs = ports("input"), ports("output")
        self._session = ctypes.c_void_p()
        if rt.mfc_session_create(m, ctypes.byref(self._session)) != 0:
            raise MfcError("cannot create a session")
        self._output_shapes: Dict[Tuple, List[Tuple[int, ...]]] = {}

    def set_num_threads(self, threads: int) -> None:
        """Threads the library's kernels use (see mfc_model_set_num_threads): set before
        the first call it also sets how many start; later it can only lower the number."""
        if threads < 1 or self._rt.mfc_model_set_num_threads(self._model, threads) != 0:
            raise MfcError(f"cannot use {threads} threads")

    def __del__(self):
        rt = getattr(self, "_rt", None)
        if rt is not None:
            rt.mfc_session_free(getattr(self, "_session", None))
            rt.mfc_model_free(getattr(self, "_model", None))

    def __call__(self, *arrays: np.ndarray, **named: np.ndarray) -> List[np.ndarray]:
        """Runs the model on inputs given in signature order or by name."""
        if named:
            arrays = tuple(arrays) + tuple(named[p.name] for p in self.inputs[len(arrays):])
        if len(arrays) != len(self.inputs):
            raise MfcError(f"expected {len(self.inputs)} inputs "
                           f"({', '.join(p.name for p in self.inputs)}), got {len(arrays)}")
        inputs = [np.ascontiguousarray(a, dtype=p.dtype) for a, p in zip(arrays, self.inputs)]
        in_tensors = (_Tensor * len(inputs))()
        for t, a in zip(in_tensors, inputs):
            t.data, t.rank, t.capacity_bytes = a.ctypes.data, a.ndim, a.nbytes
            for d, size in enumerate(a.shape):
                t.dims[d] = size
        # Output shapes depend on input shapes; learn them once per input shape (the
        # runtime reports them when the buffers are too small).
        key = tuple(a.shape for a in inputs)
        shapes = self._output_shapes.get(key, [tuple(max(d, 0) for d in p.dims) for p in self.outputs])
        for _ in range(2):
            outputs = [np.empty(s, p.dtype) for s, p in zip(shapes, self.outputs)]
            out_tensors = (_Tensor * len(outputs))()
            for t, a in zip(out_tensors, outputs):
                t.data, t.capacity_bytes = a.ctypes.data, a.nbytes
            status = self._rt.mfc_session_run(self._session, in_tensors, len(inputs),
                                               out_tensors, len(outputs))
            shapes = [tuple(t.dims[d] for d in range(t.rank)) for t in out_tensors]
            if status != ERR_CAPACITY:
                break
        if status != 0:
            raise MfcError(self._rt.mfc_session_last_error(self._session).decode())
        self._output_shapes[key] = shapes
        return outputs


def load(path: Union[str, os.PathLike]) -> CompiledModel:
    return CompiledModel(path)


class CompiledBackend:
    """A compiled decode-step library as a generation backend (see mfc.generate)."""

    def __init__(self, library: Union[str, os.PathLike, CompiledModel]):
        self.model = library if isinstance(library, CompiledModel) else load(library)
        names = [p.name for p in self.model.inputs]
        if names[0] != "input_ids" or not all(n.startswith("h_prev_") for n in names[1:]):
            raise MfcError("not a decode-step library: expected inputs input_ids, h_prev_{l}")
        self._state_dims = [p.dims[1] for p in self.model.inputs[1:]]
        self.vocab_size = self.model.outputs[0].dims[-1]

    def init_states(self, batch: int) -> List[np.ndarray]:
        return [np.zeros((batch, d), np.float32) for d in self._state_dims]

    def step(self, token_ids: np.ndarray, states: List[np.ndarray]):
        logits, *states = self.model(np.asarray(token_ids, np.int64)[:, None], *states)
        return logits[:, 0], states
