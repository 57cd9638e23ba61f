#!/usr/bin/env python3
"""Compile time and peak memory of `mfc model.onnx -o model.so` on the presets' decode
step (random weights, float fake-quant ONNX with external data, as bench/cpu_decode.py
exports them), beside what onnxruntime spends to create a session on the same file (its
graph optimizations and weight loading: the peer's "compile").

Every measurement is a fresh child under GNU `/usr/bin/time`, whose maximum resident set
size is that child's peak RSS; the ONNX data file is read once before, so that both find
it in the page cache.

    .venv/bin/python bench/compile_cost.py                       # 370M and 1.3B
    .venv/bin/python bench/compile_cost.py --presets 2.7B        # ~11 GB of export on disk
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "python"))
from cpu_decode import exported_model, log  # noqa: E402
from mfc.compiled import _tool  # noqa: E402

SESSION = "import onnxruntime, sys; onnxruntime.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])"


def measured(command):
    """(seconds, peak RSS in MiB) of `command` run to completion under /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *command], check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        return seconds, int(report.read().split()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["370M", "1.3B"])
    parser.add_argument("--workdir", default="/tmp/mfc-bench-decode")
    args = parser.parse_args()
    rows = []
    for preset_name in args.presets:
        config, onnx_path = exported_model(preset_name, None, "decode", Path(args.workdir))
        data = sorted(onnx_path.parent.glob(onnx_path.name + "*"))
        onnx_mib = sum(f.stat().st_size for f in data) / 2**20
        for f in data:  # into the page cache
            with open(f, "rb") as stream:
                while stream.read(1 << 24):
                    pass
        with tempfile.TemporaryDirectory() as out:
            log(f"{preset_name}: mfc {onnx_path.name} -o model.so")
            mfc = measured([str(_tool("mfc")), str(onnx_path), "-o", os.path.join(out, "model.so")])
        log(f"{preset_name}: onnxruntime session")
        ort = measured([sys.executable, "-c", SESSION, str(onnx_path)])
        rows.append((preset_name, config.num_hidden_layers, onnx_mib, mfc, ort))
        log(f"  mfc {mfc[0]:.1f} s, {mfc[1]:.0f} MiB; onnxruntime {ort[0]:.1f} s, {ort[1]:.0f} MiB")

    print(f"CPU: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    print("| preset | layers | ONNX MiB | mfc compile s | mfc peak MiB | onnxruntime session s "
          "| onnxruntime peak MiB | time ratio | memory ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, layers, onnx_mib, (mfc_s, mfc_mib), (ort_s, ort_mib) in rows:
        print(f"| {name} | {layers} | {onnx_mib:.0f} | {mfc_s:.1f} | {mfc_mib:.0f} | {ort_s:.1f} "
              f"| {ort_mib:.0f} | {mfc_s / ort_s:.2f}x | {mfc_mib / ort_mib:.2f}x |")


if __name__ == "__main__":
    main()
