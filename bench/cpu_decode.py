#!/usr/bin/env python3
"""Batch-1 decode speed of a compiled MatMul-free LM on this CPU, side by side with
onnxruntime running the same ONNX graph (1 thread and all cores), in one run.

The model is HGRN-Bit with random weights (speed does not depend on their values),
exported by mfc's Python package in the decode-step form (token + per-layer state in,
logits + state out), compiled with `mfc model.onnx -o model.so` and timed through the
C runtime. onnxruntime runs the fake-quant float graph (its fastest form: float GEMV
with MLAS; the QDQ form is rewritten by onnxruntime into MatMulNBits, which changes the
numerics). Before timing, the two outputs are compared, so the speed is of a model that
computes the same thing. Each runtime is timed in its own process, so that one's
spinning worker threads do not slow the other.

    .venv/bin/python bench/cpu_decode.py                      # 370M preset, 24 layers
    .venv/bin/python bench/cpu_decode.py --layers 4 --tokens 50
    .venv/bin/python bench/cpu_decode.py --prefill 512         # one 512-token prompt through
                                                              # the prefill form instead
"""
import argparse
import os
import subprocess
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


def exported_model(preset_name, layers, form, workdir):
    """(config, path) of the preset's ONNX export in `form` (random weights, float
    fake-quant, external data), exported into `workdir` unless it is there already."""
    config = preset(preset_name, **({"num_hidden_layers": layers} if layers else {}))
    workdir.mkdir(parents=True, exist_ok=True)
    name = f"{preset_name}_{config.num_hidden_layers}l_{form}"
    onnx_path = workdir / f"{name}.onnx"
    if not onnx_path.exists():
        log(f"exporting {name} (hidden {config.hidden_size}, {config.num_hidden_layers} layers, "
            f"vocab {config.vocab_size})")
        weights = ModelWeights.random(config, seed=0)
        export_onnx(weights, str(onnx_path), form=form, weight_format="fakequant",
                    external_data="always", progress=lambda done, total: log(f"  layer {done}/{total}"))
    return config, onnx_path


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


def decode_feeds(input_dims, prefill=0):
    """A decode step's token and states, or a prompt of `prefill` tokens (the prefill form
    takes only the token ids)."""
    if prefill:
        return [np.random.default_rng(1).integers(0, 32000, (1, prefill)).astype(np.int64)]
    return [np.array([[17]], np.int64)] + [
        np.random.default_rng(1).standard_normal((1, d)).astype(np.float32) for d in input_dims]


def time_one_runtime(args):
    """Child process: print seconds per decode step of one runtime."""
    if args.time == "mfc":
        model = load(args.library)
        feeds = decode_feeds([p.dims[1] for p in model.inputs[1:]], args.prefill)
        step = lambda: model(*feeds)  # noqa: E731
    else:
        session = onnxruntime_session(args.model, args.threads)
        inputs = session.get_inputs()
        feeds = dict(zip([i.name for i in inputs],
                         decode_feeds([i.shape[1] for i in inputs[1:]], args.prefill)))
        step = lambda: session.run(None, feeds)  # noqa: E731
    print(time_steps(step, args.tokens))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time", choices=["mfc", "onnxruntime"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--library", help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="370M")
    parser.add_argument("--layers", type=int, help="override num_hidden_layers")
    parser.add_argument("--tokens", type=int, default=20, help="decode steps per round")
    parser.add_argument("--workdir", default="/tmp/mfc-bench-decode")
    parser.add_argument("--prefill", type=int, default=0, metavar="N",
                        help="time one N-token prompt through the prefill form instead")
    args = parser.parse_args()
    if args.time:
        return time_one_runtime(args)

    form = "prefill" if args.prefill else "decode"
    config, onnx_path = exported_model(args.preset, args.layers, form, Path(args.workdir))
    name, workdir = onnx_path.stem, onnx_path.parent
    library = onnx_path.with_suffix(".so")
    log("compiling with mfc")
    start = time.perf_counter()
    compile(onnx_path, library)
    compile_seconds = time.perf_counter() - start
    # The same model without the run-time check of the token index, to measure its cost.
    unchecked = workdir / f"{name}_unchecked.so"
    compile(onnx_path, unchecked, extra_args=["--unchecked-indices"])

    model = load(library)
    feeds = decode_feeds([p.dims[1] for p in model.inputs[1:]], args.prefill)
    session = onnxruntime_session(str(onnx_path), 1)
    names = [i.name for i in session.get_inputs()]
    expected = session.run(None, dict(zip(names, feeds)))
    actual = model(*feeds)
    if args.prefill:
        # The first position shows that both compute the same function; later ones drift
        # apart as int8 rounding flips feed the recurrence (random weights), so those are
        # reported, not checked.
        rel = np.linalg.norm(actual[0][0, 0] - expected[0][0, 0]) / np.linalg.norm(expected[0][0, 0])
        same_token = int(actual[0][0, 0].argmax()) == int(expected[0][0, 0].argmax())
        agree = float(np.mean(actual[0][0].argmax(-1) == expected[0][0].argmax(-1)))
        drift = np.linalg.norm(actual[0] - expected[0]) / np.linalg.norm(expected[0])
        log(f"logits at the first position: normwise relative difference to onnxruntime "
            f"{rel:.1e}, same argmax: {same_token}; over all {args.prefill} positions "
            f"{drift:.1e}, argmax agrees at {agree:.0%}")
    else:
        rel = np.linalg.norm(actual[0] - expected[0]) / np.linalg.norm(expected[0])
        same_token = int(actual[0].argmax()) == int(expected[0].argmax())
        log(f"logits: normwise relative difference to onnxruntime {rel:.1e}, same argmax: {same_token}")

    log("timing, each runtime in a fresh process")
    cores = os.cpu_count()
    runtimes = [("mfc", cores, library, f"mfc (compiled, {cores} threads)"),
                ("mfc", 1, library, "mfc (compiled, 1 thread)"),
                ("mfc", cores, unchecked, f"mfc --unchecked-indices, {cores} threads"),
                ("onnxruntime", 1, library, "onnxruntime (1 thread)"),
                ("onnxruntime", cores, library, f"onnxruntime ({cores} threads)")]
    results = []
    for runtime, threads, runtime_library, label in runtimes:
        log(f"timing {label}")
        # The compiled library's kernel threads (runtime/kernels/thread_pool.c).
        env = dict(os.environ, MFC_NUM_THREADS=str(threads))
        out = subprocess.run([sys.executable, __file__, "--time", runtime, "--threads", str(threads),
                              "--tokens", str(1 if args.prefill else args.tokens),
                              "--prefill", str(args.prefill), "--model", str(onnx_path),
                              "--library", str(runtime_library)],
                             capture_output=True, text=True, check=True, env=env)
        results.append((label, float(out.stdout.split()[-1])))

    onnx_bytes = sum(f.stat().st_size for f in workdir.glob(f"{name}.onnx*"))
    what = f"a prompt of {args.prefill} tokens (prefill form)" if args.prefill else "batch 1 decode"
    print(f"model: {args.preset} preset, {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
          f"vocab {config.vocab_size}; {what}; CPU: {os.cpu_count()} cores")
    print(f"weights: ONNX (float) {onnx_bytes / 2**20:.1f} MiB, compiled library "
          f"{library.stat().st_size / 2**20:.1f} MiB; mfc compile time {compile_seconds:.1f} s")
    per = args.prefill or 1  # tokens per timed call
    print(f"{'runtime':40} {'ms/call':>10} {'tokens/s':>10} {'mfc speedup':>12}")
    mfc_seconds = results[0][1]
    for label, seconds in results:
        print(f"{label:40} {seconds * 1e3:10.2f} {per / seconds:10.1f} {seconds / mfc_seconds:11.2f}x")
    if rel > 0.05 or not same_token:
        print("WARNING: outputs differ from onnxruntime beyond rounding flips", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
