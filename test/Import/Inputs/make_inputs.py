#!/usr/bin/env python3
"""Regenerates the binary ONNX inputs of the importer tests (IR 8, opset 17).

  named_nodes.onnx       MatMul + Relu with node names (locations, truncation)
  external_data.onnx     weight in external_data.bin (external data that loads)
  external_missing.onnx  weight in external_missing.bin, which is not checked in
  external_short.onnx    8192-float weight whose external_short.bin holds 16 bytes
  large_initializer.onnx initializer with a 2^41 dimension (and no data)
  blob_indices.onnx      ScatterElements whose 128 int64 indices (1 KiB, raw data) import
                         as a dense_resource blob, as the dynamo exporter writes them

Run from this directory: ../../../.venv/bin/python make_inputs.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inputs, outputs, initializers=(), check=True):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    if check:
        onnx.checker.check_model(m)
    return m


def named_nodes():
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "w")
    return model(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="blk0.attn.q_proj"),
         helper.make_node("Relu", ["h"], ["y"], name="blk0.act")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [w])


def external(name, count):
    w = numpy_helper.from_array(np.ones(count, dtype=np.float32), "w")
    m = model([helper.make_node("Add", ["x", "w"], ["y"], name="add")],
              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [count])],
              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [count])], [w])
    onnx.save(m, name + ".onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location=name + ".bin", size_threshold=0)


def large_initializer():
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 41], raw_data=b"")
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [w],
                 check=False)


def blob_indices():
    idx = np.concatenate([np.zeros(64), np.full(64, 2)]).astype(np.int64).reshape(1, 1, 2, 64)
    return model(
        [helper.make_node("ScatterElements", ["z", "idx", "u"], ["o"], axis=2, name="scatter")],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 1, 3, 64]),
         helper.make_tensor_value_info("u", TensorProto.FLOAT, [1, 1, 2, 64])],
        [helper.make_tensor_value_info("o", TensorProto.FLOAT, [1, 1, 3, 64])],
        [numpy_helper.from_array(idx, "idx")])


onnx.save(named_nodes(), "named_nodes.onnx")
onnx.save(blob_indices(), "blob_indices.onnx")
onnx.save(large_initializer(), "large_initializer.onnx")
external("external_data", 4)
external("external_missing", 4)
os.remove("external_missing.bin")
external("external_short", 8192)
with open("external_short.bin", "r+b") as f:
    f.truncate(16)
