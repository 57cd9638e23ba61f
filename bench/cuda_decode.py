#!/usr/bin/env python3
"""Batch-1 greedy decode of models compiled for an NVIDIA GPU (`mfc --target=cuda`)
against the same models compiled for the CPU, side by side in one run: conformance
(per-step logits, greedy tokens) and ms/token of each; and a prefill graph's outputs
(logits and final states of a prompt) on both.

The libraries are built on a machine with mfc (LLVM 22) and run on one with a GPU:

    .venv/bin/python bench/cuda_decode.py prepare      # compiles into bench/cuda-artifacts/
    python bench/cuda_decode.py run --out DIR           # on the GPU machine; DIR/cuda_decode.json

`run` needs numpy and libmfc_runtime.so (MFC_BUILD_DIR/lib, default build/lib).
"""
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from mfc.compiled import compile, load  # noqa: E402

import device_bench  # noqa: E402

ARTIFACTS = ROOT / "bench" / "cuda-artifacts"
# Decode-step models: (input_ids, state...) -> (logits, state...).
MODELS = {
    "shakespeare": ROOT / "examples" / "shakespeare" / "decode.onnx",
    "hgrn_bit_ref": ROOT / "test" / "models" / "hgrn_bit_ref" / "torchscript_decode.onnx",
}
# Prefill models: input_ids [1, seq] -> (logits, final states...).
PREFILL_MODELS = {
    "hgrn_bit_ref_prefill": ROOT / "test" / "models" / "hgrn_bit_ref" / "dynamo_prefill.onnx",
}


def prepare() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, model in {**MODELS, **PREFILL_MODELS}.items():
        for target in ("cpu", "cuda"):
            start = time.perf_counter()
            out = compile(model, ARTIFACTS / f"{name}.{target}.so", target=target)
            print(f"compiled {name} for {target} in {time.perf_counter() - start:.1f} s: {out}",
                  flush=True)


def greedy(model, first_token: int, steps: int):
    """Greedy decode from `first_token`: per-step logits, the tokens, ms per step."""
    states = [np.zeros([1 if d < 0 else d for d in p.dims], p.dtype) for p in model.inputs[1:]]
    token, logits_seen, tokens, times = first_token, [], [], []
    for _ in range(steps):
        ids = np.array([[token]], np.int64)
        start = time.perf_counter()
        logits, *states = model(ids, *states)
        times.append((time.perf_counter() - start) * 1e3)
        logits_seen.append(logits.reshape(-1))
        token = int(np.argmax(logits))
        tokens.append(token)
    return np.stack(logits_seen), tokens, times


def run(out: Path, steps: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    results = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "gpu": gpu,
               "host": platform.node(), "steps": steps, "models": {}}
    print(f"GPU: {gpu}", flush=True)
    print(f"{'model':<14} {'cpu ms/tok':>10} {'cuda ms/tok':>11} {'first call':>10} "
          f"{'max |dlogit|':>12} {'rel':>9} {'tokens equal':>12}")
    for name in MODELS:
        cpu = load(ARTIFACTS / f"{name}.cpu.so")
        cuda = load(ARTIFACTS / f"{name}.cuda.so")
        logits_cpu, tokens_cpu, times_cpu = greedy(cpu, 65, steps)
        logits_gpu, tokens_gpu, times_gpu = greedy(cuda, 65, steps)
        diff = float(np.max(np.abs(logits_cpu - logits_gpu)))
        rel = float(np.linalg.norm(logits_cpu - logits_gpu) / np.linalg.norm(logits_cpu))
        row = {"cpu_ms_per_token": float(np.median(times_cpu)),
               "cuda_ms_per_token": float(np.median(times_gpu[1:])),
               "cuda_first_call_ms": times_gpu[0], "max_abs_logit_diff": diff,
               "normwise_relative_diff": rel, "tokens_equal": tokens_cpu == tokens_gpu,
               "tokens_cpu": tokens_cpu, "tokens_cuda": tokens_gpu}
        results["models"][name] = row
        print(f"{name:<14} {row['cpu_ms_per_token']:>10.3f} {row['cuda_ms_per_token']:>11.3f} "
              f"{row['cuda_first_call_ms']:>10.1f} {diff:>12.3e} {rel:>9.2e} "
              f"{str(row['tokens_equal']):>12}", flush=True)
    for name in PREFILL_MODELS:
        cpu = load(ARTIFACTS / f"{name}.cpu.so")
        cuda = load(ARTIFACTS / f"{name}.cuda.so")
        seq = cpu.inputs[0].dims[1]
        prompt = np.random.default_rng(0).integers(0, 256, (1, seq))
        outputs = list(zip(cpu(prompt), cuda(prompt)))
        diffs = [float(np.linalg.norm(a - b) / np.linalg.norm(a)) for a, b in outputs]
        row = {"prompt_tokens": int(seq), "normwise_relative_diff_per_output": diffs,
               "argmax_equal": bool(np.array_equal(np.argmax(outputs[0][0], -1),
                                                   np.argmax(outputs[0][1], -1)))}
        results["models"][name] = row
        print(f"{name}: {seq}-token prompt, outputs' relative diff (logits, states...) "
              f"{', '.join(f'{d:.1e}' for d in diffs)}; argmax equal {row['argmax_equal']}",
              flush=True)
    (out / "cuda_decode.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(device_bench.main(__doc__, prepare, run, "steps", 32))
