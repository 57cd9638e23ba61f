"""The bare recurrence h_t = f_t * h_{t-1} + c_t (f and c given, no MLGRU gates).

Graphs written here with onnx.helper, independently of mfc's exporter, in the four forms
ONNX has for a recurrence: Scan (time-major, ONNX's default axis, and batch-major), Loop
(Gather of step t), a decode step, and unrolled steps. Each must become one ungated
tern.mlgru_scan and match onnxruntime on the same graph.
"""
from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mfc import compiled
from mfc.generate import onnxruntime_session

B, T, H = 2, 5, 8
F32 = TensorProto.FLOAT


def value(name, shape):
    return helper.make_tensor_value_info(name, F32, shape)


def step_body(f, c, h, out, extra_outputs=()):
    """h_new = f * h + c as Mul + Add."""
    return [helper.make_node("Mul", [f, h], ["fh"]), helper.make_node("Add", ["fh", c], [out])]


def scan_model(time_major: bool):
    seq = [T, B, H] if time_major else [B, T, H]
    body = helper.make_graph(
        step_body("f_t", "c_t", "h", "h_new") + [helper.make_node("Identity", ["h_new"], ["y"])],
        "body", [value("h", [B, H]), value("f_t", [B, H]), value("c_t", [B, H])],
        [value("h_new", [B, H]), value("y", [B, H])])
    attrs = {"num_scan_inputs": 2, "body": body}
    if not time_major:
        attrs.update(scan_input_axes=[1, 1], scan_output_axes=[1])
    node = helper.make_node("Scan", ["h0", "f", "c"], ["h_last", "hs"], **attrs)
    graph = helper.make_graph([node], "scan", [value("h0", [B, H]), value("f", seq), value("c", seq)],
                              [value("h_last", [B, H]), value("hs", seq)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), seq


def loop_model():
    seq = [T, B, H]
    body = helper.make_graph(
        [helper.make_node("Gather", ["f", "t"], ["f_t"], axis=0),
         helper.make_node("Gather", ["c", "t"], ["c_t"], axis=0)]
        + step_body("f_t", "c_t", "h", "h_new")
        + [helper.make_node("Identity", ["cond"], ["cond_out"]),
           helper.make_node("Identity", ["h_new"], ["y"])],
        "body", [helper.make_tensor_value_info("t", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond", TensorProto.BOOL, []), value("h", [B, H])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), value("h_new", [B, H]),
         value("y", [B, H])])
    nodes = [helper.make_node("Constant", [], ["trips"], value=helper.make_tensor("", TensorProto.INT64, [], [T])),
             helper.make_node("Constant", [], ["yes"], value=helper.make_tensor("", TensorProto.BOOL, [], [True])),
             helper.make_node("Loop", ["trips", "yes", "h0"], ["h_last", "hs"], body=body)]
    graph = helper.make_graph(nodes, "loop", [value("h0", [B, H]), value("f", seq), value("c", seq)],
                              [value("h_last", [B, H]), value("hs", [T, B, H])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), seq


def decode_model():
    shape = [B, 1, H]
    graph = helper.make_graph(step_body("f", "c", "h_prev", "h"), "step",
                              [value("h_prev", shape), value("f", shape), value("c", shape)],
                              [value("h", shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), shape


def unrolled_model():
    seq = [B, T, H]
    nodes, state = [], "h0"
    for t in range(T):
        consts = {f"s{t}": [t], f"e{t}": [t + 1], "ax": [1]}
        for name, v in consts.items():
            if not any(n.output[0] == name for n in nodes):
                nodes.append(helper.make_node("Constant", [], [name],
                                              value=helper.make_tensor("", TensorProto.INT64, [1], v)))
        nodes += [helper.make_node("Slice", ["f", f"s{t}", f"e{t}", "ax"], [f"f{t}"]),
                  helper.make_node("Slice", ["c", f"s{t}", f"e{t}", "ax"], [f"c{t}"]),
                  helper.make_node("Mul", [f"f{t}", state], [f"fh{t}"]),
                  helper.make_node("Add", [f"fh{t}", f"c{t}"], [f"h_{t}"])]
        state = f"h_{t}"
    graph = helper.make_graph(nodes, "unrolled", [value("h0", [B, 1, H]), value("f", seq), value("c", seq)],
                              [value(state, [B, 1, H])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), seq


FORMS = {
    "scan_time_major": lambda: scan_model(time_major=True),
    "scan_batch_major": lambda: scan_model(time_major=False),
    "loop": loop_model,
    "decode_step": decode_model,
    "unrolled": unrolled_model,
}


@pytest.mark.parametrize("form", FORMS)
def test_bare_recurrence_is_one_ungated_scan(form, tmp_path):
    model, seq = FORMS[form]()
    onnx.checker.check_model(model)
    path = tmp_path / f"{form}.onnx"
    onnx.save(model, path)
    tern = subprocess.run([str(compiled.build_dir() / "bin" / "mfc"), str(path), "--emit=tern",
                           "-o", "-"], capture_output=True, text=True, check=True).stdout
    assert tern.count("tern.mlgru_scan") == 1 and "{ungated}" in tern, tern
    rng = np.random.default_rng(0)
    state_shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    inputs = {model.graph.input[0].name: rng.standard_normal(state_shape).astype(np.float32),
              "f": rng.uniform(0, 1, seq).astype(np.float32),
              "c": rng.standard_normal(seq).astype(np.float32)}
    lib = compiled.load(compiled.compile(path, tmp_path / f"{form}.so"))
    outputs = lib(**inputs)
    expected = onnxruntime_session(str(path)).run(None, inputs)
    for actual, reference in zip(outputs, expected):
        np.testing.assert_allclose(actual, reference, rtol=1e-5, atol=1e-6)


def test_a_product_sum_without_a_state_is_no_recurrence(tmp_path):
    """Nearest negative: y = exp(x) * sqrt(x) + c on [B, 1, H]: no factor is a state (an
    input of the function, a previous step's state or a constant start)."""
    shape = [B, 1, H]
    graph = helper.make_graph(
        [helper.make_node("Exp", ["x"], ["a"]), helper.make_node("Sqrt", ["x"], ["b"])]
        + step_body("a", "c", "b", "y"), "fma",
        [value("x", shape), value("c", shape)], [value("y", shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "fma.onnx"
    onnx.save(model, path)
    tern = subprocess.run([str(compiled.build_dir() / "bin" / "mfc"), str(path), "--emit=tern",
                           "-o", "-"], capture_output=True, text=True, check=True).stdout
    assert "tern.mlgru_scan" not in tern
