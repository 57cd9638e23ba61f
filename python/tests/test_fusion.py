"""The tern fusion passes on ONNX blocks (a BitLinear, the GLU channel mixer, the MLGRU token
mixer as Scan and as decode step, the recurrence unrolled and as a Loop, MatMulInteger, an
absmean-quantized weight) and on the
exported 2-layer LM: `mfc --emit=tern` shows the fused ops, and the compiled CPU library
matches onnxruntime running the original graph."""

import re
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from _support import assert_close_up_to_rounding_flips
from mfc.compiled import _tool, compile, load
from mfc.config import preset
from mfc.export import IR_VERSION, OPSET, LayerEmitter, ScanRecurrence, StepRecurrence, export_onnx
from mfc.generate import onnxruntime_session
from mfc.onnx_graph import GraphBuilder
from mfc.weights import ModelWeights

FLOAT = TensorProto.FLOAT


@pytest.fixture(scope="module")
def weights():
    # Two layers: layer 1's forget gate has a lower bound, layer 0's has none.
    return ModelWeights.random(preset("micro", num_hidden_layers=2), seed=5)


def save(b: GraphBuilder, path) -> str:
    model = helper.make_model(b.graph("block"), opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path))
    return str(path)


def fused_ops(path) -> dict:
    """Counts of the tern ops and of remaining contractions in `mfc --emit=tern`."""
    ir = subprocess.run([str(_tool("mfc")), "--emit=tern", str(path), "-o", "-"],
                        check=True, capture_output=True, text=True).stdout
    counts = {op: len(re.findall(rf"= tern\.{op} ", ir))
              for op in ("bitlinear", "quantize_act", "matmul", "mlgru_scan", "glu")}
    counts["reductions"] = ir.count('"reduction"')
    return counts


def run_both(path, inputs):
    session = onnxruntime_session(str(path))
    expected = session.run(None, dict(zip([i.name for i in session.get_inputs()], inputs)))
    return load(compile(path))(*inputs), expected


@pytest.mark.parametrize("weight_format", ["fakequant", "qdq"])
def test_bitlinear(weights, tmp_path, weight_format):
    b = GraphBuilder()
    x = b.input("x", FLOAT, ["batch", "seq", weights.config.hidden_size])
    LayerEmitter(b, weights, weight_format).bitlinear(x, "model.layers.0.attn.i_proj", output="y")
    b.output("y", FLOAT, ["batch", "seq", weights.config.hidden_size])
    path = save(b, tmp_path / "bitlinear.onnx")
    # The whole chain (norm, quantization, product, rescale) is one op; no reduction is left.
    assert fused_ops(path) == dict(bitlinear=1, quantize_act=0, matmul=0, mlgru_scan=0, glu=0,
                                   reductions=0)
    x = np.random.default_rng(0).standard_normal((3, 5, weights.config.hidden_size)).astype(np.float32)
    (actual,), (expected,) = run_both(path, [x])
    assert_close_up_to_rounding_flips(actual, expected)


def test_glu_channel_mixer(weights, tmp_path):
    b = GraphBuilder()
    x = b.input("x", FLOAT, ["batch", 1, weights.config.hidden_size])
    y = LayerEmitter(b, weights, "fakequant").channel_mixer(x, 0)
    b.output(y, FLOAT, ["batch", 1, weights.config.hidden_size])
    path = save(b, tmp_path / "glu.onnx")
    assert fused_ops(path) == dict(bitlinear=2, quantize_act=0, matmul=0, mlgru_scan=0, glu=1,
                                   reductions=0)
    x = np.random.default_rng(1).standard_normal((4, 1, weights.config.hidden_size)).astype(np.float32)
    (actual,), (expected,) = run_both(path, [x])
    assert_close_up_to_rounding_flips(actual, expected)


@pytest.mark.parametrize("form", ["prefill", "decode"])
def test_mlgru_token_mixer(weights, tmp_path, form):
    config = weights.config
    b = GraphBuilder()
    seq = "seq" if form == "prefill" else 1
    x = b.input("x", FLOAT, ["batch", seq, config.hidden_size])
    recurrence = (ScanRecurrence(b, x, config.input_dim) if form == "prefill"
                  else StepRecurrence(b, config.input_dim))
    y = LayerEmitter(b, weights, "fakequant").token_mixer(x, 1, recurrence)
    b.output(y, FLOAT, ["batch", seq, config.hidden_size])
    b.output("h_1", FLOAT, ["batch", config.input_dim])
    path = save(b, tmp_path / f"mlgru_{form}.onnx")
    counts = fused_ops(path)
    # i, f, g, o projections; the recurrence; the output gate's RMSNorm stays a reduction.
    assert (counts["bitlinear"], counts["mlgru_scan"], counts["matmul"]) == (4, 1, 0)
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((2, 7 if form == "prefill" else 1, config.hidden_size)).astype(np.float32)]
    if form == "decode":
        inputs.append(rng.standard_normal((2, config.input_dim)).astype(np.float32))
    actual, expected = run_both(path, inputs)
    for a, e in zip(actual, expected):
        assert_close_up_to_rounding_flips(a, e)


@pytest.mark.parametrize("form", ["prefill", "decode"])
@pytest.mark.parametrize("weight_format", ["fakequant", "qdq"])
@pytest.mark.parametrize("hidden", [32, 256])  # 256: the per-unit constants are resource blobs
def test_two_layer_lm_is_fully_fused(weights, tmp_path, form, weight_format, hidden):
    if hidden != weights.config.hidden_size:
        weights = ModelWeights.random(preset("micro", num_hidden_layers=2, hidden_size=hidden,
                                             intermediate_size=2 * hidden), seed=5)
    path = tmp_path / "lm.onnx"
    export_onnx(weights, str(path), form=form, weight_format=weight_format)
    # 6 projections per layer and the head; one recurrence and one GLU per layer.
    counts = fused_ops(path)
    assert (counts["bitlinear"], counts["matmul"], counts["quantize_act"], counts["mlgru_scan"],
            counts["glu"]) == (13, 0, 0, 2, 2)
    # (onnxruntime agreement of the compiled LM: test_compiled.py)


# K: all scalar code; one 256-weight block of the vector kernels; blocks and a tail;
# many blocks (the row kernels accumulate across them).
@pytest.mark.parametrize("k", [96, 256, 1000, 2816])
def test_matmul_integer_is_exact(tmp_path, k):
    rng = np.random.default_rng(3)
    w = rng.integers(-1, 2, (k, 40)).astype(np.int8)
    b = GraphBuilder()
    x = b.input("x", TensorProto.INT8, ["n", k])
    b.op("MatMulInteger", [x, b.initializer("w", w)], "y")
    b.output("y", TensorProto.INT32, ["n", 40])
    path = save(b, tmp_path / "matmul_integer.onnx")
    assert fused_ops(path)["matmul"] == 1
    # 11 tokens: a group of 8 that shares a pass over the weights (VNNI), then 3 alone.
    x = rng.integers(-128, 128, (11, k)).astype(np.int8)
    x[[0, 9]] = -128  # the extremes, whose sums the kernels must carry exactly
    x[[1, 10]] = 127
    (actual,), (expected,) = run_both(path, [x])
    np.testing.assert_array_equal(actual, expected)
    np.testing.assert_array_equal(actual, x.astype(np.int32) @ w.astype(np.int32))


@pytest.mark.parametrize("shift", [0.7, -0.7])  # zero points below and above 128
def test_matmul_integer_after_dynamic_quantization_is_exact(tmp_path, shift):
    """onnxruntime's dynamic quantization: DynamicQuantizeLinear (uint8, a zero point computed
    at run time) feeding MatMulInteger by ternary int8 weights."""
    rng = np.random.default_rng(8)
    w = rng.integers(-1, 2, (64, 24)).astype(np.int8)
    b = GraphBuilder()
    x = b.input("x", FLOAT, ["n", 64])
    q, scale, zero_point = b.op("DynamicQuantizeLinear", [x], "quantize",
                                outputs=["q", "scale", "zero_point"])
    b.op("MatMulInteger", [q, b.initializer("w", w), zero_point], "y")
    b.output("y", TensorProto.INT32, ["n", 24])
    path = save(b, tmp_path / "dynamic.onnx")
    assert fused_ops(path)["matmul"] == 1
    x = (rng.standard_normal((7, 64)) + shift).astype(np.float32)
    (actual,), (expected,) = run_both(path, [x])
    np.testing.assert_array_equal(actual, expected)


def test_absmean_quantized_weight(tmp_path):
    rng = np.random.default_rng(4)
    w = rng.standard_normal((64, 24)).astype(np.float32)
    b = GraphBuilder()
    x = b.input("x", FLOAT, ["n", 64])
    mean = b.op("ReduceMean", [b.op("Abs", [b.initializer("w", w)], "abs")], "mean", keepdims=0)
    s = b.op("Div", [b.constant(1.0), b.op("Max", [mean, b.constant(1e-5)], "floor")], "s")
    t = b.op("Clip", [b.op("Round", [b.op("Mul", ["w", s], "scaled")], "round"),
                      b.constant(-1.0), b.constant(1.0)], "t")
    b.op("MatMul", [x, b.op("Div", [t, s], "wq")], "y")
    b.output("y", FLOAT, ["n", 24])
    path = save(b, tmp_path / "absmean.onnx")
    # The chain, reductions included, is evaluated at compile time.
    assert fused_ops(path) == dict(bitlinear=0, quantize_act=0, matmul=1, mlgru_scan=0, glu=0,
                                   reductions=0)
    x = rng.standard_normal((6, 64)).astype(np.float32)
    (actual,), (expected,) = run_both(path, [x])
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def mlgru_gates(b: GraphBuilder, seq: int, hidden: int):
    """Graph inputs i, f_pre, h0 and the gates f = sigmoid(f_pre), c = silu(i) * (1 - f)."""
    i = b.input("i", FLOAT, ["batch", seq, hidden])
    f_pre = b.input("f_pre", FLOAT, ["batch", seq, hidden])
    h0 = b.input("h0", FLOAT, ["batch", hidden])
    f = b.op("Sigmoid", [f_pre], "f")
    silu = b.op("Mul", [i, b.op("Sigmoid", [i], "i.sigmoid")], "i.silu")
    c = b.op("Mul", [silu, b.op("Sub", [b.constant(1.0), f], "one_minus_f")], "c")
    return f, c, h0


def assert_recurrence_matches(path, batch: int, seq: int, hidden: int, seed: int):
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal((batch, seq, hidden)).astype(np.float32) for _ in range(2)]
    inputs.append(rng.standard_normal((batch, hidden)).astype(np.float32))
    actual, expected = run_both(path, inputs)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)


def test_unrolled_recurrence(tmp_path):
    """h_t = f_t * h_{t-1} + c_t written out for t = 0..3 (Slice, Squeeze, Unsqueeze, Concat):
    the steps become one tern.mlgru_scan over the sequence."""
    seq, hidden = 4, 8
    b = GraphBuilder()
    f, c, h = mlgru_gates(b, seq, hidden)
    axis = b.constant([1], np.int64)
    states = []
    for t in range(seq):
        def step(x, name):
            window = [b.constant([t], np.int64), b.constant([t + 1], np.int64), axis]
            return b.op("Squeeze", [b.op("Slice", [x, *window], f"{name}{t}.slice"), axis], f"{name}{t}")
        h = b.op("Add", [b.op("Mul", [step(f, "f"), h], f"step{t}.mul"), step(c, "c")], f"step{t}.add")
        states.append(b.op("Unsqueeze", [h, axis], f"h{t}.unsqueeze"))
    b.op("Concat", states, "hs", axis=1)
    b.output("hs", FLOAT, ["batch", seq, hidden])
    b.output(h, FLOAT, ["batch", hidden])
    path = save(b, tmp_path / "unrolled.onnx")
    assert fused_ops(path)["mlgru_scan"] == 1
    assert_recurrence_matches(path, batch=3, seq=seq, hidden=hidden, seed=6)


def test_loop_recurrence(tmp_path):
    """The recurrence as an ONNX Loop over the sequence (Gather of step t, states stacked as
    Loop scan outputs, then Transpose back to [batch, seq, hidden]): one tern.mlgru_scan."""
    seq, hidden = 5, 8
    b = GraphBuilder()
    f, c, h0 = mlgru_gates(b, seq, hidden)
    body = GraphBuilder()
    t = body.input("t", TensorProto.INT64, [])
    keep_going = body.input("cond", TensorProto.BOOL, [])
    h_prev = body.input("h_prev", FLOAT, ["batch", hidden])
    decayed = body.op("Mul", [body.op("Gather", [f, t], "f_t", axis=1), h_prev], "mul")
    h = body.op("Add", [decayed, body.op("Gather", [c, t], "c_t", axis=1)], "h")
    body.output(body.op("Identity", [keep_going], "cond_out"), TensorProto.BOOL, [])
    body.output(h, FLOAT, ["batch", hidden])
    body.output(body.op("Identity", [h], "h_scan"), FLOAT, ["batch", hidden])
    b.op("Loop", [b.constant(seq, np.int64), "", h0], "loop", outputs=["h_final", "stacked"],
         body=body.graph("step"))
    b.op("Transpose", ["stacked"], "hs", perm=[1, 0, 2])
    b.output("hs", FLOAT, ["batch", seq, hidden])
    b.output("h_final", FLOAT, ["batch", hidden])
    path = save(b, tmp_path / "loop.onnx")
    counts = fused_ops(path)
    assert counts["mlgru_scan"] == 1
    assert_recurrence_matches(path, batch=2, seq=seq, hidden=hidden, seed=7)
