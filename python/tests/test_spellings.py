"""Equal spellings of a ternary projection, written with onnx.helper: each converts to
tern ops (per `mfc --report`) and matches onnxruntime on the same graph."""
from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mfc import compiled
from mfc.generate import onnxruntime_session

K, N, M = 16, 8, 3
rng = np.random.default_rng(0)
TERNARY = (rng.integers(-1, 2, (K, N)) * 0.25).astype(np.float32)


def model(nodes, inputs, initializers, out_shape):
    graph = helper.make_graph(nodes, "g", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              initializer=initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def x_input(shape):
    return helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)


SPELLINGS = {
    # Gemm with A transposed, alpha and beta (A = x^T given as [K, M]).
    "gemm_transA_alpha_beta": (
        lambda: model([helper.make_node("Gemm", ["x", "w", "bias"], ["y"], transA=1, transB=1,
                                        alpha=2.0, beta=0.5)],
                      [x_input([K, M])],
                      [numpy_helper.from_array(TERNARY.T.copy(), "w"),
                       numpy_helper.from_array(np.arange(N, dtype=np.float32), "bias")], [M, N]),
        [K, M]),
    # 3-D activations by a 2-D weight, batch dims of 1.
    "matmul_3d_by_2d": (
        lambda: model([helper.make_node("MatMul", ["x", "w"], ["y"])], [x_input([1, 1, K])],
                      [numpy_helper.from_array(TERNARY, "w")], [1, 1, N]),
        [1, 1, K]),
    # Identity and no-op Casts around the projection, weight behind a Transpose.
    "identity_cast_transpose": (
        lambda: model([helper.make_node("Identity", ["x"], ["xi"]),
                       helper.make_node("Cast", ["xi"], ["xc"], to=TensorProto.FLOAT),
                       helper.make_node("Transpose", ["wt"], ["w"], perm=[1, 0]),
                       helper.make_node("MatMul", ["xc", "w"], ["p"]),
                       helper.make_node("Cast", ["p"], ["y"], to=TensorProto.FLOAT)],
                      [x_input([M, K])], [numpy_helper.from_array(TERNARY.T.copy(), "wt")], [M, N]),
        [M, K]),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_spelling_converts_and_matches(spelling, tmp_path):
    build, shape = SPELLINGS[spelling]
    m = build()
    onnx.checker.check_model(m)
    path = tmp_path / f"{spelling}.onnx"
    onnx.save(m, path)
    report = subprocess.run([str(compiled.build_dir() / "bin" / "mfc"), str(path), "--report"],
                            capture_output=True, text=True, check=True).stdout
    assert "total (1 converted)" in report and "not converted: none" in report, report
    x = rng.standard_normal(shape).astype(np.float32)
    (actual,) = compiled.load(compiled.compile(path, tmp_path / f"{spelling}.so"))(x=x)
    (expected,) = onnxruntime_session(str(path)).run(None, {"x": x})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
