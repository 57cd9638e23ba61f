#!/usr/bin/env python3
"""Batch-1 decode speed of a compiled MatMul-free LM on this CPU, side by side with
onnxruntime running the same ONNX graph (1 thread and all cores), in one run.

The model is HGRN-Bit with random weights (speed does not depend on their values),
exported by mfc's Python package in the decode-step form (token + per-layer state in,
logits + state out), compiled with `mfc model.onnx -o model.so` and timed through the
C runtime. onnxruntime runs the fake-quant float graph (its fastest form: float GEMV
with MLAS; the QDQ form is rewritten by onnxruntime into MatMulNBits, which changes the
numerics). Before timing, the two outputs are compared, so the speed is of a model that
computes the same thing.

    .venv/bin/python bench/cpu_decode.py                      # 370M preset, 24 layers
    .venv/bin/python bench/cpu_decode.py --layers 4 --tokens 50
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from mfc import ModelWeights, preset  # noqa: E402
from mfc.compiled import compile, load  # noqa: E402
from mfc.export import export_onnx  # noqa: E402
from mfc.generate import onnxruntime_session  # noqa: E402


def log(message):
    print(message, file=sys.stderr, flush=True)


def time_steps(step, tokens):
    """Seconds per call of step(), median of 3 rounds of `tokens` calls after a warm-up."""
    step()
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(tokens):
            step()
        rounds.append((time.perf_counter() - start) / tokens)
    return float(np.median(rounds))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="370M")
    parser.add_argument("--layers", type=int, help="override num_hidden_layers")
    parser.add_argument("--tokens", type=int, default=20, help="decode steps per round")
    parser.add_argument("--workdir", default="/tmp/mfc-bench-decode")
    args = parser.parse_args()

    overrides = {"num_hidden_layers": args.layers} if args.layers else {}
    config = preset(args.preset, **overrides)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    name = f"{args.preset}_{config.num_hidden_layers}l_decode"
    onnx_path, library = workdir / f"{name}.onnx", workdir / f"{name}.so"
    if not onnx_path.exists():
        log(f"exporting {name} (hidden {config.hidden_size}, {config.num_hidden_layers} layers, "
            f"vocab {config.vocab_size})")
        weights = ModelWeights.random(config, seed=0)
        export_onnx(weights, str(onnx_path), form="decode", weight_format="fakequant",
                    external_data="always", progress=lambda done, total: log(f"  layer {done}/{total}"))
    log("compiling with mfc")
    start = time.perf_counter()
    compile(onnx_path, library)
    compile_seconds = time.perf_counter() - start

    model = load(library)
    feeds = [np.array([[17]], np.int64)] + [
        np.random.default_rng(1).standard_normal((1, p.dims[1])).astype(np.float32)
        for p in model.inputs[1:]]
    sessions = {threads: onnxruntime_session(str(onnx_path), threads) for threads in (1, os.cpu_count())}
    names = [i.name for i in sessions[1].get_inputs()]
    expected = sessions[1].run(None, dict(zip(names, feeds)))
    actual = model(*feeds)
    rel = np.linalg.norm(actual[0] - expected[0]) / np.linalg.norm(expected[0])
    same_token = int(actual[0].argmax()) == int(expected[0].argmax())
    log(f"logits: normwise relative difference to onnxruntime {rel:.1e}, same argmax: {same_token}")

    log("timing")
    results = [("mfc (compiled, %d threads)" % os.cpu_count(), time_steps(lambda: model(*feeds), args.tokens))]
    for threads, session in sessions.items():
        results.append((f"onnxruntime ({threads} thread{'s' if threads > 1 else ''})",
                        time_steps(lambda s=session: s.run(None, dict(zip(names, feeds))), args.tokens)))

    onnx_bytes = sum(f.stat().st_size for f in workdir.glob(f"{name}.onnx*"))
    print(f"model: {args.preset} preset, {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
          f"vocab {config.vocab_size}; batch 1 decode; CPU: {os.cpu_count()} cores")
    print(f"weights: ONNX (float) {onnx_bytes / 2**20:.1f} MiB, compiled library "
          f"{library.stat().st_size / 2**20:.1f} MiB; mfc compile time {compile_seconds:.1f} s")
    print(f"{'runtime':32} {'ms/token':>10} {'tokens/s':>10} {'mfc speedup':>12}")
    mfc_seconds = results[0][1]
    for label, seconds in results:
        print(f"{label:32} {seconds * 1e3:10.2f} {1 / seconds:10.1f} {seconds / mfc_seconds:11.2f}x")
    if rel > 0.05 or not same_token:
        print("WARNING: outputs differ from onnxruntime beyond rounding flips", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
