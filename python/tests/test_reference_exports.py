"""ONNX that mfc did not write: the public HGRN-Bit reference exported by PyTorch.

test/models/hgrn_bit_ref/ holds the reference model (matmulfreellm's HGRNBitForCausalLM,
vocab 256, hidden 64, 2 layers) exported by torch.onnx.export with the TorchScript and
the dynamo exporter, as decode step and prefill, each also after onnxruntime's basic
offline optimization, onnxsim and onnxslim, with goldens from PyTorch
(test/models/hgrn_bit_ref/README.md says how they were made). Every file must import,
compile and match:
  - onnxruntime on the same file (an independent implementation of the same graph);
  - PyTorch's outputs, except where the exported graph itself differs from PyTorch: the
    dynamo exporter's optimizer drops the 1e-8 RMSNorm epsilon, which flips an int8
    rounding in prefill (results.json records onnxruntime's difference too);
  - for decode steps, PyTorch's 32 greedy tokens.
"""
from __future__ import annotations

import collections
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from mfc import compiled
from mfc.generate import onnxruntime_session

from _support import assert_close_up_to_rounding_flips

DATA = Path(__file__).resolve().parents[2] / "test" / "models" / "hgrn_bit_ref"
EXPORTERS = ("torchscript", "dynamo")
KINDS = ("decode", "prefill")
VARIANTS = ("", "_ortbasic", "_onnxsim", "_onnxslim")
FILES = [f"{e}_{k}{v}" for e in EXPORTERS for k in KINDS for v in VARIANTS]
# Graphs that compute something other than PyTorch's model (see the module docstring).
DIFFERS_FROM_PYTORCH = {f"dynamo_prefill{v}" for v in VARIANTS}


def read_data_set(kind):
    folder = DATA / f"{kind}.data" / "test_data_set_0"

    def read(prefix):
        tensors = []
        for path in sorted(folder.glob(f"{prefix}_*.pb")):
            t = onnx.TensorProto()
            t.ParseFromString(path.read_bytes())
            tensors.append((t.name, numpy_helper.to_array(t)))
        return dict(tensors)

    return read("input"), read("output")


@pytest.fixture(scope="module")
def libraries(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp("ref") / f"{name}.so"
            cache[name] = compiled.load(compiled.compile(DATA / f"{name}.onnx", out))
        return cache[name]

    return get


@pytest.mark.parametrize("name", FILES)
def test_matches_onnxruntime_and_pytorch(name, libraries):
    kind = "decode" if "_decode" in name else "prefill"
    inputs, golden = read_data_set(kind)
    model = libraries(name)
    outputs = dict(zip([p.name for p in model.outputs], model(**inputs)))
    session = onnxruntime_session(str(DATA / f"{name}.onnx"))
    reference = dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))
    assert set(outputs) == set(golden) == set(reference)
    for out_name, value in outputs.items():
        assert_close_up_to_rounding_flips(value, reference[out_name])
        if name not in DIFFERS_FROM_PYTORCH:
            assert_close_up_to_rounding_flips(value, golden[out_name])


def test_dynamo_prefill_differs_from_pytorch_only_by_its_graph():
    """The exception above is the exporter's, not mfc's: onnxruntime differs as much."""
    inputs, golden = read_data_set("prefill")
    session = onnxruntime_session(str(DATA / "dynamo_prefill.onnx"))
    logits = session.run(["logits"], inputs)[0]
    assert np.abs(logits - golden["logits"]).max() > 1e-2


@pytest.mark.parametrize("name", [f for f in FILES if "_decode" in f])
def test_greedy_tokens_equal_pytorch(name, libraries):
    greedy = json.loads((DATA / "greedy_decode.json").read_text())
    model = libraries(name)
    states = {n: np.zeros(greedy["state_shape"], np.float32) for n in greedy["state_input_names"]}
    tokens = []
    for token in greedy["feed"]:
        outputs = dict(zip([p.name for p in model.outputs],
                           model(input_ids=np.array([[token]], np.int64), **states)))
        tokens.append(int(outputs["logits"][0, -1].argmax()))
        states = {i: outputs[o] for i, o in zip(greedy["state_input_names"],
                                                greedy["state_output_names"])}
    assert tokens == greedy["tokens"]


@pytest.mark.parametrize("name", FILES)
def test_tern_ir_is_fused_layers(name):
    """Per layer 6 tern.bitlinear, 1 tern.mlgru_scan and 1 tern.glu, plus the LM head's
    tern.bitlinear and the embedding's checked token index; no loose tern.matmul and no
    float matmul left."""
    proc = subprocess.run([str(compiled.build_dir() / "bin" / "mfc"), str(DATA / f"{name}.onnx"),
                           "--emit=tern", "-o", "-"], capture_output=True, text=True, check=True)
    ops = collections.Counter(re.findall(r"\b(tern\.[a-z_]+|linalg\.matmul|linalg\.batch_matmul)\b",
                                         proc.stdout))
    layers = 2
    assert ops == {"tern.bitlinear": 6 * layers + 1, "tern.mlgru_scan": layers,
                   "tern.glu": layers, "tern.checked_index": 1}, ops


# Other shapes of the same model: a symbolic batch (TorchScript, `dynamic_axes`: Range and
# run-time scatter indices stay in the graph), a static batch of 2 (dynamo: the scatter
# indices are a 1 KiB initializer blob), and two heads (the exporter's transposes move a
# real dim, and the state is [batch, heads, head_dim]). Where the recurrence is not fused
# yet (symbolic batch), the projections still are. Each has the embedding's checked token
# index; the symbolic batch also checks its 8 run-time scatter indices and 21 shapes read
# from tensors: 10 Reshapes' element counts, 6 Expand dims and 5 ConstantOfShape sizes
# (not negative) that the compiler cannot prove (they pass through int64 tensors).
FUSED = {"tern.bitlinear": 13, "tern.glu": 2, "tern.mlgru_scan": 2, "tern.checked_index": 1}
BATCH2 = {
    "torchscript_decode_dynbatch": ("decode_dynbatch.data",
                                    {"tern.bitlinear": 13, "tern.glu": 2, "tern.checked_index": 9,
                                     "tern.check_equal": 21}),
    "dynamo_decode_b2": ("decode_b2.data", FUSED),
    "torchscript_decode_2heads": ("decode_2heads.data", FUSED),
    "torchscript_prefill_2heads": ("prefill_2heads.data", FUSED),
}


@pytest.mark.parametrize("name", BATCH2)
def test_other_shapes(name, libraries):
    data, expected_ops = BATCH2[name]
    inputs, golden = {}, {}
    for path in sorted((DATA / data / "test_data_set_0").glob("*.pb")):
        t = onnx.TensorProto()
        t.ParseFromString(path.read_bytes())
        (inputs if path.name.startswith("input") else golden)[t.name] = numpy_helper.to_array(t)
    model = libraries(name)
    outputs = dict(zip([p.name for p in model.outputs], model(**inputs)))
    session = onnxruntime_session(str(DATA / f"{name}.onnx"))
    reference = dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))
    for out_name, value in golden.items():
        assert_close_up_to_rounding_flips(outputs[out_name], reference[out_name])
        assert_close_up_to_rounding_flips(outputs[out_name], value)
    proc = subprocess.run([str(compiled.build_dir() / "bin" / "mfc"), str(DATA / f"{name}.onnx"),
                           "--emit=tern", "-o", "-"], capture_output=True, text=True, check=True)
    ops = collections.Counter(re.findall(r"\btern\.[a-z_]+\b", proc.stdout))
    assert ops == expected_ops, ops
