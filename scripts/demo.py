#!/usr/bin/env python3
"""The main job: compile the bundled MatMul-free LM and generate text with it.

Compiles examples/shakespeare/decode.onnx (a byte-level HGRN-Bit model the project
trained, decode-step form) with `mfc` for this CPU, prints the per-layer ternary report,
then generates text greedily with the compiled library and, side by side, with
onnxruntime on the same ONNX file, and reports both speeds and whether the tokens agree.
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

root = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(root / "python"))
from mfc.compiled import CompiledBackend, _tool, compile  # noqa: E402
from mfc.generate import ByteTokenizer, OnnxRuntimeBackend, generate  # noqa: E402


def timed_generate(backend, prompt, tokens):
    start = time.perf_counter()
    out = generate(backend, prompt, tokens)
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(root / "examples/shakespeare/decode.onnx"))
    parser.add_argument("--prompt", default="ROMEO:\nWhat light through yonder window")
    parser.add_argument("--tokens", type=int, default=300)
    args = parser.parse_args()

    model = Path(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "model.so"
        print(f"== compiling {model.relative_to(root) if model.is_relative_to(root) else model}")
        start = time.perf_counter()
        compile(model, library)
        print(f"compiled to a {library.stat().st_size / 1e6:.1f} MB shared library "
              f"in {time.perf_counter() - start:.1f} s")
        report = subprocess.run([str(_tool("mfc")), str(model), "--report"],
                                capture_output=True, text=True, check=True).stdout.splitlines()
        print("\n".join(line for line in report if not line.startswith("layers.")))

        tokenizer = ByteTokenizer()
        prompt = np.array(tokenizer.encode(args.prompt))
        compiled = CompiledBackend(library)
        compiled_ids, compiled_s = timed_generate(compiled, prompt, args.tokens)
        ort_ids, ort_s = timed_generate(OnnxRuntimeBackend(str(model)), prompt, args.tokens)
        sampled = generate(compiled, prompt, args.tokens, top_k=5, temperature=0.8, seed=1)
    steps = len(prompt) + args.tokens
    print(f"\n== greedy generation, {args.tokens} new tokens from the compiled library:\n")
    print(tokenizer.decode(compiled_ids))
    print("\n== top-5 sampling (temperature 0.8, seed 1), compiled library:\n")
    print(tokenizer.decode(sampled))
    print(f"\n== speed (batch 1, {steps} decode steps incl. the prompt)")
    print(f"mfc compiled   {steps / compiled_s:8.0f} tokens/s")
    print(f"onnxruntime    {steps / ort_s:8.0f} tokens/s   (mfc is {ort_s / compiled_s:.1f}x faster)")
    same = np.array_equal(compiled_ids, ort_ids)
    print(f"tokens identical to onnxruntime's: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
