#!/usr/bin/env python3
"""Writes ONNX's own node tests at the opsets of the installed `onnx` package.

Debian's libonnx-testdata (ONNX 1.12) stops at opset 17. The PyPI `onnx` wheel carries
the generators of its node tests (onnx.backend.test.case.node), which build each model
at the opset the package defines and compute the expected outputs with ONNX's
reference code. This script writes those whose default-domain opset is newer than
--min-opset, in libonnx-testdata's layout (<dir>/<test>/model.onnx,
test_data_set_N/input_K.pb, output_K.pb), for node_conformance.py --node-tests <dir>.
"""
import argparse
import os
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node as node_cases


def default_opset(model):
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
               default=0)


def to_tensor(value, name):
    tensor = value if isinstance(value, onnx.TensorProto) else numpy_helper.from_array(
        np.asarray(value), name)
    tensor.name = name
    return tensor


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--min-opset", type=int, default=18,
                        help="only tests at this default-domain opset or newer")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases(None)
    written = 0
    for case in cases:
        model = case.model
        if default_opset(model) < args.min_opset:
            continue
        tensors_only = all(v.type.HasField("tensor_type")
                           for v in list(model.graph.input) + list(model.graph.output))
        if not tensors_only:
            continue
        test_dir = os.path.join(args.output, case.name)
        os.makedirs(test_dir, exist_ok=True)
        with open(os.path.join(test_dir, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            data_dir = os.path.join(test_dir, f"test_data_set_{i}")
            os.makedirs(data_dir, exist_ok=True)
            for kind, values, infos in (("input", inputs, model.graph.input),
                                        ("output", outputs, model.graph.output)):
                for j, (value, info) in enumerate(zip(values, infos)):
                    with open(os.path.join(data_dir, f"{kind}_{j}.pb"), "wb") as f:
                        f.write(to_tensor(value, info.name).SerializeToString())
        written += 1
    print(f"wrote {written} node tests (opset >= {args.min_opset}, onnx {onnx.__version__}) "
          f"to {args.output}")


if __name__ == "__main__":
    main()
