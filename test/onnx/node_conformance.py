#!/usr/bin/env python3
"""Runs every ONNX node test whose ops mfc claims, and reports counts.

Each node test (libonnx-testdata: /usr/share/libonnx-testdata/data/node/<test>/) is
imported (`mfc --emit=import`), then, unless --import-only, compiled for the CPU
(`mfc model.onnx -o model.so`) and run on its test_data_set_* folders with `mfc-run`,
which compares every output with ONNX's expected output (rtol 1e-4, atol 1e-5). A test
counts as
  passed       every stage succeeded (with --import-only: the import succeeded),
  failed       a stage exited non-zero although every op is claimed (the diagnostic
               or mismatch is printed),
  crashed      a stage died on a signal (never acceptable),
  unsupported  the model uses an op, opset or type mfc does not claim.
Exit status is non-zero on any crash or failure.

mfc compiles for static ranks, so operands that decide the result's rank or layout
(Squeeze axes, Slice starts, Reshape shape, ...) must be constants. Node tests pass
them as graph inputs; like onnx-mlir's test runner, this script freezes such inputs
to the values of test_data_set_0 (as initializers) and reports how many tests needed it.
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys

import tempfile

import onnx

# (op_type, input index) of operands that must be compile-time constants.
STATIC_OPERANDS = {
    ("Squeeze", 1), ("Unsqueeze", 1), ("Split", 1),
    ("CumSum", 1), ("ReduceSum", 1), ("ReduceMean", 1), ("ReduceMax", 1),
    ("Slice", 3), ("Slice", 4),
    ("ScatterND", 1), ("ScatterElements", 1),
}
# Tests of claimed ops that use a feature mfc does not support, with the reason. They
# count as unsupported, and a listed test that starts passing is reported.
KNOWN_GAPS = {
    "test_dequantizelinear_blocked": "blocked quantization (block_size)",
    "test_quantizelinear_blocked_asymmetric": "blocked quantization (block_size)",
    "test_quantizelinear_blocked_symmetric": "blocked quantization (block_size)",
    "test_dequantizelinear_int16": "int16 quantized types (opset 21) are unknown to libonnx 1.12's type inference",
    "test_dequantizelinear_uint16": "int16 quantized types (opset 21) are unknown to libonnx 1.12's type inference",
    "test_quantizelinear_int16": "int16 quantized types (opset 21) are unknown to libonnx 1.12's type inference",
    "test_quantizelinear_uint16": "int16 quantized types (opset 21) are unknown to libonnx 1.12's type inference",
    "test_range_float16_type_positive_delta": "float16 Range (opset 27) is unknown to libonnx 1.12's type inference",
    "test_reduce_max_bool_inputs": "bool ReduceMax (opset 20) is unknown to libonnx 1.12's type inference",
    "test_reduce_max_empty_set_bool": "bool ReduceMax (opset 20) is unknown to libonnx 1.12's type inference",
    "test_range_float16_type_positive_delta_expanded": "a Loop whose scan output has an unknown rank",
    "test_range_float_type_positive_delta_expanded": "a Loop whose scan output has an unknown rank",
    "test_range_int32_type_negative_delta_expanded": "a Loop whose scan output has an unknown rank",
    **{f"test_scatternd_{r}": "scatter with a reduction"
       for r in ("add", "multiply", "max", "min", "max_with_element_indices",
                 "min_with_element_indices")},
    **{f"test_scatter_elements_with_{r}": "scatter with a reduction"
       for r in ("duplicate_indices", "reduction_max", "reduction_min", "reduction_mul")},
    "test_scatter_elements_without_axis": "ScatterElements of single elements (only whole slices along the axis)",
    "test_flexattention_fp16_expanded_ver26": "float16 result 1 ulp off: mfc-run's rtol 1e-4 is finer than float16",
}
# bfloat16 is not claimed: ONNX 1.12's test data stores it as uint16 with other shapes.
SUPPORTED_ELEM_TYPES = {
    onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
    onnx.TensorProto.BOOL, onnx.TensorProto.INT8,
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
    """Turns graph inputs feeding STATIC_OPERANDS into initializers; returns their names."""
    names = {node.input[i] for node in model.graph.node
             for (op, i) in STATIC_OPERANDS
             if node.op_type == op and i < len(node.input) and node.input[i]}
    inputs = [v.name for v in model.graph.input]
    for index, name in enumerate(inputs):
        if name not in names:
            continue
        tensor = onnx.TensorProto()
        with open(os.path.join(test_dir, "test_data_set_0", f"input_{index}.pb"), "rb") as f:
            tensor.ParseFromString(f.read())
        tensor.name = name
        model.graph.initializer.append(tensor)
    kept = [v for v in model.graph.input if v.name not in names]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    return {n for n in names if n in inputs}


def run(command):
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def outcome(stage, proc):
    """None when `proc` succeeded, else (status, detail) naming the stage."""
    if proc.returncode < 0:
        return "crashed", f"{stage}: signal {-proc.returncode}: {proc.stderr.strip()[-500:]}"
    if proc.returncode != 0:
        text = (proc.stderr.strip() or proc.stdout.strip())
        return "failed", f"{stage}: {text[-800:]}"
    return None


def data_sets_without(test_dir, input_names, frozen, tmp):
    """The test's data sets, minus the inputs frozen into the model. Frozen values come
    from test_data_set_0, so only that set is valid then."""
    sets = sorted(d for d in os.listdir(test_dir) if d.startswith("test_data_set_"))
    if not frozen:
        return [os.path.join(test_dir, d) for d in sets]
    src, dst = os.path.join(test_dir, sets[0]), os.path.join(tmp, sets[0])
    os.makedirs(dst)
    kept = [i for i, name in enumerate(input_names) if name not in frozen]
    for new_index, old_index in enumerate(kept):
        shutil.copy(os.path.join(src, f"input_{old_index}.pb"),
                    os.path.join(dst, f"input_{new_index}.pb"))
    for f in os.listdir(src):
        if f.startswith("output_"):
            shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    return [dst]


def classify(mfc, mfc_run, ops, test_dir, import_only):
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
    input_names = [v.name for v in model.graph.input]
    frozen = freeze_static_operands(model, test_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if frozen:
            path = os.path.join(tmp, "model.onnx")
            onnx.save(model, path)
        failure = outcome("import", run([mfc, "--emit=import", path, "-o", os.devnull]))
        if failure or import_only:
            return failure or _passed(frozen)
        library = os.path.join(tmp, "model.so")
        failure = outcome("compile", run([mfc, path, "-o", library]))
        if failure:
            return failure
        for data_set in data_sets_without(test_dir, input_names, frozen, tmp):
            failure = outcome("run", run([mfc_run, library, "--test-data-set", data_set]))
            if failure:
                return failure
    return _passed(frozen)


def _passed(frozen):
    return ("passed", f"{len(frozen)} input(s) frozen as constants") if frozen else ("passed", "")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mfc", required=True, help="path to the mfc binary")
    parser.add_argument("--mfc-run", help="path to mfc-run (default: next to mfc)")
    parser.add_argument("--import-only", action="store_true",
                        help="only import, do not compile and run")
    parser.add_argument("--filter", default="", help="only tests whose name contains this")
    parser.add_argument("--node-tests", default="/usr/share/libonnx-testdata/data/node")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every test")
    args = parser.parse_args()

    ops = claimed_ops(args.mfc)
    mfc_run = args.mfc_run or os.path.join(os.path.dirname(args.mfc), "mfc-run")
    tests = sorted(d for d in os.listdir(args.node_tests)
                   if args.filter in d
                   and os.path.exists(os.path.join(args.node_tests, d, "model.onnx")))
    if not tests:
        sys.exit(f"no node tests under {args.node_tests}")
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(
            lambda t: (t, *classify(args.mfc, mfc_run, ops, os.path.join(args.node_tests, t),
                                    args.import_only)), tests))

    counts = {k: 0 for k in ("passed", "failed", "crashed", "unsupported")}
    frozen = 0
    gaps = 0
    for index, (test, status, detail) in enumerate(results):
        if test in KNOWN_GAPS and status == "failed":
            gaps += 1
            status, detail = "unsupported", f"known gap: {KNOWN_GAPS[test]}"
            results[index] = (test, status, detail)
        elif test in KNOWN_GAPS and status == "passed":
            print(f"NOTE         {test} passes: remove it from KNOWN_GAPS")
    for test, status, detail in results:
        counts[status] += 1
        frozen += "frozen" in detail
        if status in ("failed", "crashed") or (args.verbose and detail):
            print(f"{status.upper():12} {test}: {detail}")
    what = "imported" if args.import_only else "imported, compiled and matched ONNX's outputs"
    print(f"ONNX node tests: {len(tests)} total, {counts['passed']} {what} "
          f"({frozen} with shape inputs frozen), {counts['failed']} failed, "
          f"{counts['crashed']} crashed, {counts['unsupported']} use unclaimed ops, types or "
          f"features ({gaps} of them known gaps of claimed ops)")
    return 1 if counts["failed"] or counts["crashed"] else 0


if __name__ == "__main__":
    sys.exit(main())
