"""The compiled CPU libraries (mfc model.onnx -o model.so) against onnxruntime and the
numpy reference: all export forms, exact int32 accumulation, generation, the report."""

import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from _support import assert_close_up_to_rounding_flips, token_ids
from mfc import ReferenceModel, ternarize
from mfc.compiled import CompiledBackend, MfcError, _tool, compile, load
from mfc.export import export_onnx
from mfc.generate import OnnxRuntimeBackend, ReferenceBackend, generate, onnxruntime_session

FORMS = [("prefill", "fakequant"), ("prefill", "qdq"), ("decode", "fakequant"), ("decode", "qdq")]


@pytest.fixture(scope="module")
def libraries(tiny_weights, tmp_path_factory):
    """Each export form of the tiny model, as ONNX and as a compiled library."""
    directory = tmp_path_factory.mktemp("compiled")
    built = {}
    for form, weight_format in FORMS:
        path = directory / f"tiny_{form}_{weight_format}.onnx"
        export_onnx(tiny_weights, str(path), form=form, weight_format=weight_format)
        built[form, weight_format] = (path, compile(path))
    return built


def decode_feeds(config, ids, seed=1):
    rng = np.random.default_rng(seed)
    states = [rng.standard_normal((ids.shape[0], config.input_dim)).astype(np.float32)
              for _ in range(config.num_hidden_layers)]
    return [ids[:, :1], *states]


@pytest.mark.parametrize("form,weight_format", FORMS)
def test_compiled_matches_onnxruntime(libraries, tiny_weights, form, weight_format):
    onnx_path, library = libraries[form, weight_format]
    ids = token_ids(tiny_weights.config.vocab_size, batch=2, seq=9)
    inputs = [ids] if form == "prefill" else decode_feeds(tiny_weights.config, ids)
    session = onnxruntime_session(str(onnx_path))
    expected = session.run(None, dict(zip([i.name for i in session.get_inputs()], inputs)))
    actual = load(library)(*inputs)
    assert [a.shape for a in actual] == [e.shape for e in expected]
    for a, e in zip(actual, expected):
        assert_close_up_to_rounding_flips(a, e)


def test_compiled_prefill_matches_numpy_reference(libraries, tiny_weights):
    ids = token_ids(tiny_weights.config.vocab_size, batch=3, seq=12, seed=4)
    logits, states = ReferenceModel(tiny_weights).prefill(ids)
    actual_logits, *actual_states = load(libraries["prefill", "qdq"][1])(ids)
    assert_close_up_to_rounding_flips(actual_logits, logits)
    for a, e in zip(actual_states, states):
        assert_close_up_to_rounding_flips(a, e)


def test_greedy_generation_same_tokens(libraries, tiny_weights):
    prompt = np.array([[72, 101, 108, 108, 111], [84, 104, 101, 32, 99]])
    compiled = generate(CompiledBackend(libraries["decode", "qdq"][1]), prompt, 24)
    reference = generate(ReferenceBackend(tiny_weights), prompt, 24)
    ort = generate(OnnxRuntimeBackend(str(libraries["decode", "qdq"][0])), prompt, 24)
    np.testing.assert_array_equal(compiled, reference)
    np.testing.assert_array_equal(compiled, ort)


def bitlinear_accumulation_model(codes, step, k):
    """x -> per-token absmax int8 quantization -> MatMul with W = step * T: the raw
    accumulation times step, in float, with no rescaling (fake-quant form)."""
    n = codes.shape[0]
    weight = numpy_helper.from_array((codes.T * step).astype(np.float32), "w")
    consts = [numpy_helper.from_array(np.array(v, np.float32), name) for name, v in
              [("floor", 1e-5), ("q127", 127.0), ("lo", -128.0), ("hi", 127.0)]]
    nodes = [
        helper.make_node("Abs", ["x"], ["abs"]),
        helper.make_node("ReduceMax", ["abs"], ["absmax"], axes=[-1], keepdims=1),
        helper.make_node("Max", ["absmax", "floor"], ["absmax_floor"]),
        helper.make_node("Div", ["q127", "absmax_floor"], ["s"]),
        helper.make_node("Mul", ["x", "s"], ["xs"]),
        helper.make_node("Round", ["xs"], ["r"]),
        helper.make_node("Clip", ["r", "lo", "hi"], ["q"]),
        helper.make_node("MatMul", ["q", "w"], ["acc"], name="bitlinear.matmul"),
    ]
    graph = helper.make_graph(
        nodes, "bitlinear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", k])],
        [helper.make_tensor_value_info("q", TensorProto.FLOAT, ["tokens", k]),
         helper.make_tensor_value_info("acc", TensorProto.FLOAT, ["tokens", n])],
        [weight, *consts])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_int32_accumulation_is_exact(tmp_path):
    """Given the int8 activations the library itself produced, its accumulation equals the
    exact integer sum q @ T (times the weight step), element for element."""
    rng = np.random.default_rng(7)
    k, n = 300, 70  # k not a multiple of 4: packed rows end in padding codes
    ternary = ternarize(rng.standard_normal((n, k)).astype(np.float32))
    path = tmp_path / "bitlinear.onnx"
    onnx.save(bitlinear_accumulation_model(ternary.codes, ternary.step, k), path)
    report = subprocess.run([str(_tool("mfc")), str(path), "--report"], capture_output=True,
                            text=True, check=True).stdout
    assert "bitlinear.matmul" in report and "not converted: none" in report
    x = (rng.standard_normal((5, k)) * 3).astype(np.float32)
    q, acc = load(compile(path))(x)
    assert np.all(q == np.round(q)) and q.min() >= -128 and q.max() <= 127
    exact = q.astype(np.int64) @ ternary.codes.T.astype(np.int64)
    np.testing.assert_array_equal(acc, (exact.astype(np.float32) * np.float32(ternary.step)))


def test_report_on_mlgru_lm(libraries):
    onnx_path, _ = libraries["prefill", "fakequant"]
    report = subprocess.run([str(_tool("mfc")), str(onnx_path), "--report"],
                            capture_output=True, text=True, check=True).stdout
    # 2 layers x (i, f, g, o, gate, down) + LM head, all ternary.
    assert "total (13 converted)" in report
    assert "multiplies per token in the converted accumulations: 0" in report
    assert "fused ops: 13 tern.bitlinear 2 tern.mlgru_scan 2 tern.glu" in report
    assert "not converted: none" in report
    assert "layers.1.mlp.down_proj.matmul" in report and "lm_head.matmul" in report


def test_wrong_input_shape_is_an_error(libraries):
    model = load(libraries["decode", "qdq"][1])
    with pytest.raises(MfcError, match="h_prev_0"):
        model(np.zeros((1, 1), np.int64), np.zeros((1, 3), np.float32), np.zeros((1, 64), np.float32))


def test_compile_error_is_reported(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(MfcError, match="not a valid ONNX model"):
        compile(bad)


def loop_model(stop_after):
    """Loop: x += iteration (as float) while iteration < stop_after; scan output 2 * x."""
    f, i64, b = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
    body = helper.make_graph(
        [helper.make_node("Cast", ["iter"], ["iter_f"], to=f),
         helper.make_node("Add", ["x_in", "iter_f"], ["x_out"]),
         helper.make_node("Add", ["x_out", "x_out"], ["y"]),
         helper.make_node("Less", ["iter", "stop"], ["cond_out"])],
        "body",
        [helper.make_tensor_value_info("iter", i64, []), helper.make_tensor_value_info("cond_in", b, []),
         helper.make_tensor_value_info("x_in", f, ["n"])],
        [helper.make_tensor_value_info("cond_out", b, []), helper.make_tensor_value_info("x_out", f, ["n"]),
         helper.make_tensor_value_info("y", f, ["n"])])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["M", "cond", "x0"], ["x_final", "ys"], body=body, name="loop")],
        "loop_graph",
        [helper.make_tensor_value_info("x0", f, ["n"])],
        [helper.make_tensor_value_info("x_final", f, ["n"]), helper.make_tensor_value_info("ys", f, [None, "n"])],
        [numpy_helper.from_array(np.array(6, np.int64), "M"),
         numpy_helper.from_array(np.array(True), "cond"),
         numpy_helper.from_array(np.array(stop_after, np.int64), "stop")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("stop_after", [10, 2])  # runs all 6 trips / stops on the condition
def test_loop_matches_onnxruntime(tmp_path, stop_after):
    path = tmp_path / "loop.onnx"
    onnx.save(loop_model(stop_after), path)
    x0 = np.array([0.5, -1.0, 2.0], np.float32)
    expected = onnxruntime_session(str(path)).run(None, {"x0": x0})
    actual = load(compile(path))(x0)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("sign", [1, -1])
def test_accumulation_does_not_overflow_partial_sums(tmp_path, sign):
    """The largest possible sums (|x| = 128 and 127 against all-equal weights over a long
    row) must come out exact: the kernels' narrow partial sums are flushed in time."""
    k, n = 8192 + 44, 6
    codes = np.full((n, k), sign, np.int8)
    codes[1] = -codes[1]
    codes[2, ::3] = 0
    path = tmp_path / "extreme.onnx"
    onnx.save(bitlinear_accumulation_model(codes, np.float32(1.0), k), path)
    x = np.full((2, k), 1000.0, np.float32)
    x[1] = -1000.0  # quantizes to 127 and -127 (the absmax scale maps |x| to 127)
    q, acc = load(compile(path))(x)
    exact = q.astype(np.int64) @ codes.T.astype(np.int64)
    assert np.abs(exact).max() > 10**6  # far beyond int16
    np.testing.assert_array_equal(acc, exact.astype(np.float32))


def test_exp_is_within_one_ulp_of_the_exact_value(tmp_path):
    """Exp on the CPU is a polynomial (mfc-cpu-approximate-math), not libm's expf: within
    one unit in the last place of exp computed in float64 wherever the result is a normal
    float up to x = 88.5, within four in the last 0.2 before it overflows (the
    approximation scales by 2^127 there), and inf, 0 and NaN where libm gives them
    (results below the normal range, x < -87.3, flush to 0)."""
    count = 1 << 18
    graph = helper.make_graph(
        [helper.make_node("Exp", ["x"], ["y"], name="exp")], "exp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [count])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [count])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "exp.onnx")
    library = load(compile(tmp_path / "exp.onnx"))
    x = np.linspace(-87.3, 88.7, count, dtype=np.float32)
    (y,) = library(x)
    exact = np.exp(x.astype(np.float64))
    ulps = np.abs(y.astype(np.float64) - exact) / np.spacing(exact.astype(np.float32))
    below = x < 88.5
    assert ulps[below].max() <= 1.01, f"worst {ulps[below].max():.3f} ulp below 88.5"
    assert ulps.max() <= 4.0, f"worst {ulps.max():.3f} ulp at x = {x[ulps.argmax()]}"
    special = np.zeros(count, np.float32)
    special[:6] = [np.inf, -np.inf, np.nan, 89.0, -104.0, 0.0]
    (y,) = library(special)
    np.testing.assert_array_equal(y[:6], [np.inf, 0.0, np.nan, np.inf, 0.0, 1.0])
