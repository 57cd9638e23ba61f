#!/usr/bin/env python3
"""Batch-1 greedy decode of the released HGRN-Bit sizes (370M / 1.3B / 2.7B presets, random
weights) compiled by `mfc --target=cuda`, with the peers that the GPU machine has, side by
side in one run: ms/token, GPU memory, and conformance against the numpy reference model
(python/mfc/reference.py, float32 on the CPU).

Speed does not depend on weight values, so the weights are random with a structure that
makes a compiled library compress to what the `device` tool can carry (64 MiB): every
layer is a copy of layer 0, and the vocabulary rows of the embedding repeat every 1024
rows. The compiled model still holds and reads every layer's own copy (the library's
size is printed); the numpy reference is given the same weights.

    .venv/bin/python bench/cuda_decode_presets.py prepare [--presets 370M]   # here
    python bench/cuda_decode_presets.py run --out DIR [--presets 370M]       # on the GPU

Peers, each in this run when the GPU machine has it: a dense fp16 Llama of the same
hidden size, layers and vocabulary with transformers' static cache compiled with CUDA
graphs (`generate(cache_implementation="static")`), and the same model eager.
"""
import argparse
import json
import lzma
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from mfc import ModelWeights, preset  # noqa: E402

import device_bench  # noqa: E402

ARTIFACTS = ROOT / "bench" / "cuda-artifacts"
VOCAB_PERIOD = 1024
CONFORMANCE_STEPS = 4


def log(message: str) -> None:
    print(message, flush=True)


def repeating_weights(config) -> ModelWeights:
    """Random weights (seed 0) with layers that copy layer 0 and vocabulary rows that repeat."""
    draw = ModelWeights.random(config, seed=0, cache=False)

    def source(name: str) -> np.ndarray:
        value = draw.tensor(re.sub(r"^model\.layers\.\d+\.", "model.layers.0.", name))
        if value.shape[0] == config.vocab_size:
            value = np.resize(value[:VOCAB_PERIOD], value.shape)
        return value

    return ModelWeights(config, source)


def library(name: str) -> Path:
    return ARTIFACTS / f"{name}_decode.cuda.so"


def compressed(name: str) -> Path:
    return ARTIFACTS / f"{name}_decode.cuda.so.xz"


def prepare(presets) -> None:
    from mfc.compiled import compile
    from mfc.export import export_onnx

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in presets:
        config = preset(name)
        workdir = Path("/tmp/mfc-bench-cuda-presets")
        workdir.mkdir(parents=True, exist_ok=True)
        onnx_path, built = workdir / f"{name}_decode.onnx", workdir / f"{name}_decode.cuda.so"
        if not onnx_path.exists():
            log(f"{name}: exporting (hidden {config.hidden_size}, {config.num_hidden_layers} layers)")
            export_onnx(repeating_weights(config), str(onnx_path), form="decode",
                        weight_format="fakequant", external_data="always",
                        progress=lambda done, total: log(f"  layer {done}/{total}"))
        start = time.perf_counter()
        compile(onnx_path, built, target="cuda")
        size = built.stat().st_size
        log(f"{name}: compiled in {time.perf_counter() - start:.0f} s, library {size / 2**20:.0f} MiB")
        packed = lzma.compress(built.read_bytes(), format=lzma.FORMAT_XZ,
                               filters=[{"id": lzma.FILTER_LZMA2, "preset": 1,
                                         "dict_size": 64 << 20}])
        compressed(name).write_bytes(packed)
        log(f"{name}: compressed to {len(packed) / 2**20:.1f} MiB")


def gpu_used_bytes(torch) -> int:
    free, total = torch.cuda.mem_get_info()
    return total - free


def mfc_decode(name: str, config, steps: int, torch, profile: bool):
    from mfc.compiled import load
    from mfc.reference import ReferenceModel

    path = library(name)
    path.write_bytes(lzma.decompress(compressed(name).read_bytes()))
    torch.cuda.synchronize()
    before = gpu_used_bytes(torch)
    model = load(path)
    states = [np.zeros([1 if d < 0 else d for d in p.dims], p.dtype) for p in model.inputs[1:]]
    reference = ReferenceModel(repeating_weights(config))
    ref_states = reference.init_states(1)
    token, tokens, times, worst = 17, [], [], 0.0
    same_tokens, flip = True, None
    for step in range(steps):
        ids = np.array([[token]], np.int64)
        start = time.perf_counter()
        logits, *states = model(ids, *states)
        times.append(time.perf_counter() - start)
        if step < CONFORMANCE_STEPS:
            ref_logits, ref_states = reference.decode_step(ids, ref_states)
            ref = ref_logits.reshape(-1)
            rel = float(np.linalg.norm(logits.reshape(-1) - ref) / np.linalg.norm(ref))
            worst = max(worst, rel)
            # The vocabulary rows repeat, so the reference has exact ties: mfc's greedy
            # token must be one of its maxima.
            chosen = int(np.argmax(logits))
            if ref[chosen] != ref.max() and same_tokens:
                # A flip between near-equal logits (int8 rounding of float sums in
                # another order) or a real difference: how far below the reference's
                # best mfc's choice is there says which.
                flip = {"step": step, "reference_best_minus_chosen": float(ref.max() - ref[chosen]),
                        "max_abs_logit_diff": float(np.max(np.abs(logits.reshape(-1) - ref)))}
                same_tokens = False
        token = int(np.argmax(logits))
        tokens.append(token)
    used = gpu_used_bytes(torch) - before
    if profile:
        print_kernel_profile(torch, lambda: model(np.array([[token]], np.int64), *states))
    return {"ms_per_token": float(np.median(times[1:])) * 1e3, "first_call_ms": times[0] * 1e3,
            "gpu_memory_bytes_after_decode": used, "library_bytes": path.stat().st_size,
            "reference_steps": CONFORMANCE_STEPS, "reference_max_normwise_rel_diff": worst,
            "reference_greedy_tokens_equal": same_tokens, "reference_first_argmax_flip": flip,
            "tokens": tokens}


def print_kernel_profile(torch, step, calls: int = 4) -> None:
    """GPU time per decode step by kernel (CUPTI through torch.profiler), the largest first."""
    totals = {}
    for name, us in device_bench.gpu_operations(torch, step, calls):
        count, total = totals.get(name, (0, 0.0))
        totals[name] = (count + 1, total + us)
    launches = sum(c for c, _ in totals.values()) / calls
    gpu_us = sum(us for _, us in totals.values()) / calls
    log(f"  per step: {launches:.0f} GPU operations, {gpu_us:.0f} us of GPU time; the largest:")
    for name, (count, us) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:15]:
        log(f"  {us / calls:9.1f} us {count / calls:6.1f}x  {name}")


def llama_decode(config, steps: int, torch, compiled: bool):
    """Dense fp16 Llama of the same size through transformers' generate."""
    import transformers

    llama = transformers.LlamaConfig(
        hidden_size=config.hidden_size, intermediate_size=config.mlp_intermediate_size,
        num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.hidden_size // 128,
        num_key_value_heads=config.hidden_size // 128, vocab_size=config.vocab_size,
        max_position_embeddings=4096)
    torch.cuda.reset_peak_memory_stats()
    model = transformers.LlamaForCausalLM(llama).half().cuda().eval()
    ids = torch.tensor([[17]], device="cuda")
    kwargs = dict(do_sample=False, min_new_tokens=steps, max_new_tokens=steps, pad_token_id=0)
    if compiled:
        kwargs["cache_implementation"] = "static"
    for _ in range(2):  # the first calls compile and capture
        model.generate(ids, **kwargs)
    torch.cuda.synchronize()
    start = time.perf_counter()
    model.generate(ids, **kwargs)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"ms_per_token": seconds / steps * 1e3,
            "peak_gpu_memory_bytes": torch.cuda.max_memory_allocated(),
            "transformers": transformers.__version__}


def run(out: Path, presets, steps: int, profile: bool, peers: bool) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    results = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "gpu": gpu, "steps": steps,
               "command": "python bench/cuda_decode_presets.py run --out DIR", "presets": {}}
    log(f"GPU: {gpu}; batch-1 greedy decode, {steps} tokens")
    for name in presets:
        config = preset(name)
        row = {"mfc": mfc_decode(name, config, steps, torch, profile)}
        m = row["mfc"]
        log(f"{name} mfc: {m['ms_per_token']:.3f} ms/token, GPU memory {m['gpu_memory_bytes_after_decode'] / 2**20:.0f} MiB "
            f"(library {m['library_bytes'] / 2**20:.0f} MiB); numpy reference: max rel diff "
            f"{m['reference_max_normwise_rel_diff']:.1e} over {CONFORMANCE_STEPS} steps, "
            f"greedy token a reference argmax: {m['reference_greedy_tokens_equal']}"
            + (f" (first flip {m['reference_first_argmax_flip']})" if m['reference_first_argmax_flip'] else ""))
        for label, compiled in (("llama_fp16_static_cuda_graphs", True),
                                ("llama_fp16_eager", False)) if peers else ():
            try:
                row[label] = llama_decode(config, steps, torch, compiled)
            except Exception as error:  # noqa: BLE001 - a missing peer is reported, not fatal
                row[label] = {"error": f"{type(error).__name__}: {error}"[:300]}
                log(f"{name} {label}: not run ({row[label]['error']})")
                continue
            p = row[label]
            log(f"{name} {label}: {p['ms_per_token']:.3f} ms/token, peak {p['peak_gpu_memory_bytes'] / 2**20:.0f} MiB; "
                f"mfc speed-up {p['ms_per_token'] / m['ms_per_token']:.2f}x")
        results["presets"][name] = row
    (out / "cuda_decode_presets.json").write_text(json.dumps(results, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["prepare", "run"])
    parser.add_argument("--presets", nargs="+", default=["370M"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--profile", action="store_true", help="print GPU time per kernel")
    parser.add_argument("--no-peers", dest="peers", action="store_false")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.presets)
    else:
        run(args.out, args.presets, args.steps, args.profile, args.peers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
