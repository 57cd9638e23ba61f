#!/usr/bin/env python3
"""Decode and prefill of the released HGRN-Bit sizes (370M / 1.3B / 2.7B presets, random
weights) compiled by `mfc --target=cuda`, with the peers that the GPU machine has, side by
side in one run: batch-1 greedy decode (ms/token, GPU memory), batch-64 decode throughput
(tokens/s), prefill of a 2048-token prompt (ms), and conformance against the numpy
reference model (python/mfc/reference.py, float32 on the CPU).

Speed does not depend on weight values, so the weights are random with a structure that
makes a compiled library compress to what the `device` tool can carry (64 MiB): every
layer is a copy of layer 0, and the vocabulary rows of the embedding repeat every 1024
rows. The compiled model still holds and reads every layer's own copy (the library's
size is printed); the numpy reference is given the same weights.

    .venv/bin/python bench/cuda_decode_presets.py prepare [--presets 370M]   # here
    python bench/cuda_decode_presets.py run --out DIR [--presets 370M] [--batch 64] [--prefill 2048]

Peers, each in this run when the GPU machine has it: a dense fp16 Llama of the same
hidden size, layers and vocabulary with transformers' static cache compiled with CUDA
graphs (`generate(cache_implementation="static")`), and the same model eager (decode at
batch 1 and 64); for prefill the Llama's forward over the prompt (fp16, SDPA attention,
logits left on the GPU; mfc's library returns them in host memory, a copy it includes).
"""
import argparse
import json
import lzma
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from mfc import ModelWeights, preset  # noqa: E402

import device_bench  # noqa: E402

ARTIFACTS = ROOT / "bench" / "cuda-artifacts"
VOCAB_PERIOD = 1024
CONFORMANCE_STEPS = 4
CONFORMANCE_PROMPT = 160  # 2.5 chunks of the CUDA scan (64 steps each); --conformance-prompt
FORMS = ("decode", "prefill")


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


def library(name: str, form: str) -> Path:
    return ARTIFACTS / f"{name}_{form}.cuda.so"


def compressed(name: str, form: str) -> Path:
    return ARTIFACTS / f"{name}_{form}.cuda.so.xz"


def unpack(name: str, form: str) -> Path:
    path = library(name, form)
    path.write_bytes(lzma.decompress(compressed(name, form).read_bytes()))
    return path


def prepare(presets) -> None:
    from mfc.compiled import compile
    from mfc.export import export_onnx

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in presets:
        config = preset(name)
        workdir = Path("/tmp/mfc-bench-cuda-presets")
        workdir.mkdir(parents=True, exist_ok=True)
        for form in FORMS:
            onnx_path, built = workdir / f"{name}_{form}.onnx", workdir / f"{name}_{form}.cuda.so"
            if not onnx_path.exists():
                log(f"{name} {form}: exporting (hidden {config.hidden_size}, "
                    f"{config.num_hidden_layers} layers)")
                export_onnx(repeating_weights(config), str(onnx_path), form=form,
                            weight_format="fakequant", external_data="always",
                            progress=lambda done, total: log(f"  layer {done}/{total}"))
            start = time.perf_counter()
            compile(onnx_path, built, target="cuda")
            size = built.stat().st_size
            log(f"{name} {form}: compiled in {time.perf_counter() - start:.0f} s, "
                f"library {size / 2**20:.0f} MiB")
            packed = lzma.compress(built.read_bytes(), format=lzma.FORMAT_XZ,
                                   filters=[{"id": lzma.FILTER_LZMA2, "preset": 1,
                                             "dict_size": 64 << 20}])
            compressed(name, form).write_bytes(packed)
            log(f"{name} {form}: compressed to {len(packed) / 2**20:.1f} MiB")


def gpu_used_bytes(torch) -> int:
    free, total = torch.cuda.mem_get_info()
    return total - free


def mfc_decode(name: str, config, steps: int, torch, profile: bool):
    from mfc.compiled import load
    from mfc.reference import ReferenceModel

    path = unpack(name, "decode")
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
        print_kernel_profile(device_bench.gpu_operations(
            torch, lambda: model(np.array([[token]], np.int64), *states), 4), calls=4)
    return {"ms_per_token": float(np.median(times[1:])) * 1e3, "first_call_ms": times[0] * 1e3,
            "gpu_memory_bytes_after_decode": used, "library_bytes": path.stat().st_size,
            "reference_steps": CONFORMANCE_STEPS, "reference_max_normwise_rel_diff": worst,
            "reference_greedy_tokens_equal": same_tokens, "reference_first_argmax_flip": flip,
            "tokens": tokens}


def print_kernel_profile(operations, calls: int) -> None:
    """GPU time per call by kernel, the largest first, from `calls` calls' operations."""
    totals = {}
    for name, us in operations:
        count, total = totals.get(name, (0, 0.0))
        totals[name] = (count + 1, total + us)
    launches = sum(c for c, _ in totals.values()) / calls
    gpu_us = sum(us for _, us in totals.values()) / calls
    log(f"  per step: {launches:.0f} GPU operations, {gpu_us:.0f} us of GPU time; the largest:")
    for name, (count, us) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:15]:
        log(f"  {us / calls:9.1f} us {count / calls:6.1f}x  {name}")


def mfc_batched_decode(name: str, batch: int, steps: int):
    """Greedy decode of `batch` sequences at once: tokens/s over all of them."""
    from mfc.compiled import load

    model = load(library(name, "decode"))
    states = [np.zeros([batch if d < 0 else d for d in p.dims], p.dtype) for p in model.inputs[1:]]
    ids = np.random.default_rng(0).integers(0, VOCAB_PERIOD, (batch, 1))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        logits, *states = model(ids, *states)
        times.append(time.perf_counter() - start)
        ids = np.argmax(logits, axis=-1)
    step = float(np.median(times[2:]))
    return {"batch": batch, "ms_per_step": step * 1e3, "tokens_per_s": batch / step}


def mfc_prefill(name: str, config, length: int, reference_length: int, torch, profile: bool):
    """A `length`-token prompt through the prefill library: ms per call; logits and final
    states of a short prompt against the numpy reference."""
    from mfc.compiled import load
    from mfc.reference import ReferenceModel

    model = load(unpack(name, "prefill"))
    rng = np.random.default_rng(1)
    prompt = rng.integers(0, config.vocab_size, (1, reference_length))
    logits, *states = model(prompt)
    ref_logits, ref_states = ReferenceModel(repeating_weights(config)).prefill(prompt)
    rel = float(np.linalg.norm(logits - ref_logits) / np.linalg.norm(ref_logits))
    state_rel = max(float(np.linalg.norm(a - b) / np.linalg.norm(b)) for a, b in zip(states, ref_states))
    # The vocabulary repeats, so the reference has ties: each position's mfc argmax must
    # be one of the reference's maxima or within 1e-2 of them (int8 rounding of sums in
    # another order).
    chosen = np.argmax(logits, axis=-1)
    below = ref_logits.max(-1) - np.take_along_axis(ref_logits, chosen[..., None], -1)[..., 0]
    ids = rng.integers(0, config.vocab_size, (1, length))
    times = []
    for _ in range(5):  # recorded, captured, then replayed
        start = time.perf_counter()
        model(ids)
        times.append(time.perf_counter() - start)
    operations = device_bench.gpu_operations(torch, lambda: model(ids), 1)
    if profile:
        print_kernel_profile(operations, calls=1)
    return {"prompt_tokens": length, "ms": float(np.median(times[2:])) * 1e3,
            "first_call_ms": times[0] * 1e3,
            "gpu_ms": sum(us for _, us in operations) / 1e3,
            "gpu_kernel_ms": sum(us for name, us in operations if not name.startswith("Memcpy")) / 1e3,
            "reference_prompt_tokens": reference_length,
            "reference_logits_normwise_rel_diff": rel,
            "reference_states_max_normwise_rel_diff": state_rel,
            "reference_argmax_worst_gap": float(below.max())}


def llama_model(config, torch):
    import transformers

    llama = transformers.LlamaConfig(
        hidden_size=config.hidden_size, intermediate_size=config.mlp_intermediate_size,
        num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.hidden_size // 128,
        num_key_value_heads=config.hidden_size // 128, vocab_size=config.vocab_size,
        max_position_embeddings=4096)
    return transformers.LlamaForCausalLM(llama).half().cuda().eval()


def llama_decode(config, steps: int, torch, compiled: bool, batch: int = 1):
    """Dense fp16 Llama of the same size through transformers' generate."""
    import transformers

    torch.cuda.reset_peak_memory_stats()
    model = llama_model(config, torch)
    ids = torch.full((batch, 1), 17, device="cuda")
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
    return {"ms_per_token": seconds / steps * 1e3, "tokens_per_s": batch * steps / seconds,
            "peak_gpu_memory_bytes": torch.cuda.max_memory_allocated(),
            "transformers": transformers.__version__}


def llama_prefill(config, length: int, torch):
    """The Llama's forward over a `length`-token prompt (logits stay on the GPU)."""
    model = llama_model(config, torch)
    ids = torch.randint(0, config.vocab_size, (1, length), device="cuda")
    times = []
    with torch.no_grad():
        for _ in range(5):
            torch.cuda.synchronize()
            start = time.perf_counter()
            model(ids, use_cache=False)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return {"ms": float(np.median(times[2:])) * 1e3}


def peer(label: str, name: str, row: dict, measure) -> Optional[dict]:
    """Runs a peer's measurement into row[label]; a peer that fails is reported, not fatal."""
    try:
        row[label] = measure()
    except Exception as error:  # noqa: BLE001
        row[label] = {"error": f"{type(error).__name__}: {error}"[:300]}
        log(f"{name} {label}: not run ({row[label]['error']})")
        return None
    return row[label]


def run(out: Path, presets, steps: int, batch: int, prompt: int, reference_prompt: int,
        decode: bool, profile: bool, peers: bool) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    results = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "gpu": gpu, "steps": steps,
               "command": " ".join(["python bench/cuda_decode_presets.py"] + sys.argv[1:]),
               "presets": {}}
    log(f"GPU: {gpu}; greedy decode, {steps} tokens at batch 1"
        + (f", batch {batch}" if batch else "") + (f"; prefill of {prompt} tokens" if prompt else ""))
    for name in presets:
        config = preset(name)
        row = {}
        if decode:
            m = row["mfc"] = mfc_decode(name, config, steps, torch, profile)
            log(f"{name} mfc: {m['ms_per_token']:.3f} ms/token, GPU memory {m['gpu_memory_bytes_after_decode'] / 2**20:.0f} MiB "
                f"(library {m['library_bytes'] / 2**20:.0f} MiB); numpy reference: max rel diff "
                f"{m['reference_max_normwise_rel_diff']:.1e} over {CONFORMANCE_STEPS} steps, "
                f"greedy token a reference argmax: {m['reference_greedy_tokens_equal']}"
                + (f" (first flip {m['reference_first_argmax_flip']})" if m['reference_first_argmax_flip'] else ""))
        for label, compiled in (("llama_fp16_static_cuda_graphs", True),
                                ("llama_fp16_eager", False)) if peers and decode else ():
            p = peer(label, name, row, lambda: llama_decode(config, steps, torch, compiled))
            if p:
                log(f"{name} {label}: {p['ms_per_token']:.3f} ms/token, peak {p['peak_gpu_memory_bytes'] / 2**20:.0f} MiB; "
                    f"mfc speed-up {p['ms_per_token'] / m['ms_per_token']:.2f}x")
        if batch and decode:
            b = row[f"mfc_batch{batch}"] = mfc_batched_decode(name, batch, steps)
            log(f"{name} mfc batch {batch}: {b['tokens_per_s']:.0f} tokens/s ({b['ms_per_step']:.2f} ms/step)")
            label = f"llama_fp16_static_cuda_graphs_batch{batch}"
            p = peers and peer(label, name, row, lambda: llama_decode(config, steps, torch, True, batch))
            if p:
                log(f"{name} {label}: {p['tokens_per_s']:.0f} tokens/s; mfc ratio "
                    f"{b['tokens_per_s'] / p['tokens_per_s']:.2f}x")
        if prompt:
            f = row[f"mfc_prefill{prompt}"] = mfc_prefill(name, config, prompt, reference_prompt,
                                                          torch, profile)
            log(f"{name} mfc prefill {prompt}: {f['ms']:.1f} ms (GPU {f['gpu_ms']:.1f} ms, kernels "
                f"{f['gpu_kernel_ms']:.1f}; first call {f['first_call_ms']:.0f} ms); "
                f"numpy reference on {reference_prompt} tokens: logits rel diff "
                f"{f['reference_logits_normwise_rel_diff']:.1e}, states "
                f"{f['reference_states_max_normwise_rel_diff']:.1e}, argmax gap {f['reference_argmax_worst_gap']:.1e}")
            label = f"llama_fp16_prefill{prompt}"
            p = peers and peer(label, name, row, lambda: llama_prefill(config, prompt, torch))
            if p:
                log(f"{name} {label}: {p['ms']:.1f} ms; mfc speed-up {p['ms'] / f['ms']:.2f}x")
        results["presets"][name] = row
        torch.cuda.empty_cache()
    (out / "cuda_decode_presets.json").write_text(json.dumps(results, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["prepare", "run"])
    parser.add_argument("--presets", nargs="+", default=["370M"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64, help="batched decode (0: not run)")
    parser.add_argument("--prefill", type=int, default=2048, help="prompt tokens (0: not run)")
    parser.add_argument("--conformance-prompt", type=int, default=CONFORMANCE_PROMPT,
                        help="prompt tokens of the prefill's numpy-reference check")
    parser.add_argument("--no-decode", dest="decode", action="store_false",
                        help="prefill only (the decode library is not needed)")
    parser.add_argument("--profile", action="store_true", help="print GPU time per kernel")
    parser.add_argument("--no-peers", dest="peers", action="store_false")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.presets)
    else:
        run(args.out, args.presets, args.steps, args.batch, args.prefill, args.conformance_prompt,
            args.decode, args.profile, args.peers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
