#!/usr/bin/env python3
"""Imports every ONNX node test whose ops the importer claims, and reports counts.

A node test (libonnx-testdata: /usr/share/libonnx-testdata/data/node/<test>/model.onnx)
counts as
  imported     `mfc --emit=import` succeeded,
  failed       it exited non-zero with a diagnostic although every op is claimed,
  crashed      it died on a signal (never acceptable),
  unsupported  the model uses an op or opset the importer does not claim.
Exit status is non-zero on any crash or failure.

mfc compiles for static ranks, so operands that decide the result's rank or layout
(Squeeze axes, Slice starts, Reshape shape, ...) must be constants. Node tests pass
them as graph inputs; like onnx-mlir's test runner, this script freezes such inputs
to the values of test_data_set_0 (as initializers) and reports how many tests needed it.
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys

import tempfile

import onnx

# (op_type, input index) of operands that must be compile-time constants.
STATIC_OPERANDS = {
    ("Squeeze", 1), ("Unsqueeze", 1), ("Reshape", 1), ("Expand", 1), ("Split", 1),
    ("CumSum", 1), ("ReduceSum", 1), ("ReduceMean", 1), ("ReduceMax", 1),
    ("Slice", 1), ("Slice", 2), ("Slice", 3), ("Slice", 4),
}
SUPPORTED_ELEM_TYPES = {
    onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
    onnx.TensorProto.BFLOAT16, onnx.TensorProto.BOOL, onnx.TensorProto.INT8,
    onnx.TensorProto.UINT8, onnx.TensorProto.INT16, onnx.TensorProto.UINT16,
    onnx.TensorProto.INT32, onnx.TensorProto.UINT32, onnx.TensorProto.INT64,
    onnx.TensorProto.UINT64,
}


def claimed_ops(mfc):
    out = subprocess.run([mfc, "--list-supported-ops"], check=True, capture_output=True,
                         text=True).stdout
    ops = {}
    for line in out.splitlines():
        name, opsets = line.split()
        lo, hi = opsets.split("-")
        ops[name] = (int(lo), int(hi))
    return ops


def model_ops(model):
    """(op_type, domain) of every node, subgraphs included."""
    def walk(graph):
        for node in graph.node:
            yield node.op_type, node.domain
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    yield from walk(attr.g)
    return set(walk(model.graph))


def default_opset(model):
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
               default=0)


def unsupported_io(model):
    """Name of a graph input/output that is not a tensor of a supported type, if any."""
    for value in list(model.graph.input) + list(model.graph.output):
        t = value.type
        if not t.HasField("tensor_type") or t.tensor_type.elem_type not in SUPPORTED_ELEM_TYPES:
            return value.name
    return None


def freeze_static_operands(model, test_dir):
    """Turns graph inputs feeding STATIC_OPERANDS into initializers; returns their count."""
    names = {node.input[i] for node in model.graph.node
             for (op, i) in STATIC_OPERANDS
             if node.op_type == op and i < len(node.input) and node.input[i]}
    inputs = [v.name for v in model.graph.input]
    frozen = 0
    for index, name in enumerate(inputs):
        if name not in names:
            continue
        tensor = onnx.TensorProto()
        with open(os.path.join(test_dir, "test_data_set_0", f"input_{index}.pb"), "rb") as f:
            tensor.ParseFromString(f.read())
        tensor.name = name
        model.graph.initializer.append(tensor)
        frozen += 1
    kept = [v for v in model.graph.input if v.name not in names]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    return frozen


def classify(mfc, ops, test_dir):
    path = os.path.join(test_dir, "model.onnx")
    model = onnx.load(path, load_external_data=False)
    opset = default_opset(model)
    bad_io = unsupported_io(model)
    if bad_io:
        return "unsupported", f"graph value '{bad_io}' is not a tensor of a supported type"
    for op, domain in model_ops(model):
        if domain not in ("", "ai.onnx") or op not in ops:
            return "unsupported", f"{op} not claimed"
        lo, hi = ops[op]
        if not lo <= opset <= hi:
            return "unsupported", f"{op} at opset {opset} (claimed {lo}-{hi})"
    frozen = freeze_static_operands(model, test_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if frozen:
            path = os.path.join(tmp, "model.onnx")
            onnx.save(model, path)
        proc = subprocess.run([mfc, "--emit=import", path, "-o", os.devnull],
                              capture_output=True, text=True, timeout=60)
    if proc.returncode < 0:
        return "crashed", f"signal {-proc.returncode}: {proc.stderr.strip()[-500:]}"
    if proc.returncode != 0:
        return "failed", proc.stderr.strip()[:500]
    return ("imported", f"{frozen} input(s) frozen as constants") if frozen else ("imported", "")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mfc", required=True, help="path to the mfc binary")
    parser.add_argument("--node-tests", default="/usr/share/libonnx-testdata/data/node")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every test")
    args = parser.parse_args()

    ops = claimed_ops(args.mfc)
    tests = sorted(d for d in os.listdir(args.node_tests)
                   if os.path.exists(os.path.join(args.node_tests, d, "model.onnx")))
    if not tests:
        sys.exit(f"no node tests under {args.node_tests}")
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(
            lambda t: (t, *classify(args.mfc, ops, os.path.join(args.node_tests, t))), tests))

    counts = {k: 0 for k in ("imported", "failed", "crashed", "unsupported")}
    frozen = 0
    for test, status, detail in results:
        counts[status] += 1
        frozen += "frozen" in detail
        if status in ("failed", "crashed") or (args.verbose and detail):
            print(f"{status.upper():12} {test}: {detail}")
    print(f"ONNX node tests: {len(tests)} total, {counts['imported']} imported, "
          f"{counts['failed']} failed, {counts['crashed']} crashed, "
          f"{counts['unsupported']} use unclaimed ops")
    return 1 if counts["failed"] or counts["crashed"] else 0


if __name__ == "__main__":
    sys.exit(main())
