#!/usr/bin/env python3
"""The numeric error of the HLS designs' C simulation against the CPU library and against
onnxruntime, on the models that test_hls.py runs. The designs compute norms, gates and
dequantization in IEEE float32 with the C math library (mfc_hls_math.h: sqrt, exp,
division; Vitis HLS maps them to its hls_math cores), ternary products in exact int32; this
measures how far that lands from the CPU library (LLVM-compiled, same operations) and from
onnxruntime's float graph (which also rounds int8 activations, so ties can flip).

    .venv/bin/python bench/hls_csim_error.py [--seeds 3]
"""
import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from mfc.compiled import compile, load  # noqa: E402
from mfc.hls import csim_arguments, random_inputs, run_csim  # noqa: E402

MODELS = {
    "BitLinear": ROOT / "test" / "Dialect" / "Tern" / "pipeline-bitlinear.onnxtxt",
    "MLGRU decode step": ROOT / "test" / "Target" / "HLS" / "Inputs" / "mlgru_decode.onnx",
    "GLU": ROOT / "test" / "Target" / "HLS" / "Inputs" / "glu.onnx",
    "PyTorch LM decode step": ROOT / "test" / "models" / "hgrn_bit_ref" / "torchscript_decode.onnx",
    "bundled LM decode step": ROOT / "examples" / "shakespeare" / "decode.onnx",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print("| design | outputs | csim vs CPU library: max abs (relative there) | CPU library vs onnxruntime: max abs |")
    print("| --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, path in MODELS.items():
            project = compile(path, tmp / f"{path.stem}_prj", target="hls")
            cpu = load(compile(path, tmp / f"{path.stem}.so"))
            is_onnx = path.suffix == ".onnx"
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]) \
                if is_onnx else None
            worst_abs = worst_rel = ort_abs = 0.0
            count = 0
            for seed in range(args.seeds):
                values = random_inputs(cpu, seed)
                outputs = cpu(*values)
                # rtol = atol = 0: every difference counts, and the testbench prints the
                # worst value of each output (got vs expected).
                run = run_csim(project, csim_arguments(project, cpu, values, outputs)
                               + ["--rtol", "0", "--atol", "0"])
                for line in run.stdout.splitlines():
                    match = re.search(r"worst at \d+: (\S+) vs (\S+)\)", line)
                    if match:
                        got, want = float(match.group(1)), float(match.group(2))
                        worst_abs = max(worst_abs, abs(got - want))
                        worst_rel = max(worst_rel, abs(got - want) / max(abs(want), 1e-30))
                        count += 1
                if session is not None:
                    feeds = {p.name: v for p, v in zip(cpu.inputs, values)}
                    for got, want in zip(outputs, session.run(None, feeds)):
                        ort_abs = max(ort_abs, float(np.max(np.abs(got - want))))
            versus_ort = f"{ort_abs:.3g}" if is_onnx else "-"
            print(f"| {name} | {count // args.seeds} | {worst_abs:.3g} ({worst_rel:.3g}) | "
                  f"{versus_ort} |", flush=True)


if __name__ == "__main__":
    main()
