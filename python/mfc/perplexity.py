"""Perplexity of a byte-level decode-step model on held-out text, on three runtimes.

    python -m mfc.perplexity                       # the bundled model and held-out text
    python -m mfc.perplexity --bytes 1024 --model decode.onnx --text some.txt

The model reads the text one byte at a time (decode steps from zero states) and scores
each next byte; perplexity is exp(mean negative log-likelihood) per byte. It runs the
numpy reference (the weights read back out of the ONNX file), onnxruntime on the ONNX
graph, and the library mfc compiles from it, and prints the three side by side.

The bundled held-out text, examples/shakespeare/heldout.txt, is the first 8,192 bytes of
the validation split the model never trained on (the last 2% of mfc.corpus's Shakespeare:
the end of Timon of Athens); examples/shakespeare/README.md shows how it was cut.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np

from .example import EXAMPLE_MODEL, EXAMPLES_DIR, load_onnx_weights
from .generate import DecodeBackend, OnnxRuntimeBackend, ReferenceBackend

HELDOUT_TEXT = os.path.join(EXAMPLES_DIR, "shakespeare", "heldout.txt")


def negative_log_likelihoods(backend: DecodeBackend, tokens: np.ndarray) -> np.ndarray:
    """-log p(tokens[t + 1] | tokens[:t + 1]) for every t, in nats (float64)."""
    states = backend.init_states(1)
    nll = np.empty(len(tokens) - 1)
    for t in range(len(tokens) - 1):
        logits, states = backend.step(tokens[t:t + 1], states)
        row = logits[0].astype(np.float64)
        log_z = row.max() + np.log(np.exp(row - row.max()).sum())
        nll[t] = log_z - row[tokens[t + 1]]
    return nll


def perplexities(model: str, tokens: np.ndarray, runtimes: List[str]) -> Dict[str, float]:
    backends = {}
    if "reference" in runtimes:
        backends["reference"] = lambda: ReferenceBackend(load_onnx_weights(model))
    if "onnxruntime" in runtimes:
        backends["onnxruntime"] = lambda: OnnxRuntimeBackend(model)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "mfc" in runtimes:
            from . import compiled

            library = compiled.compile(model, os.path.join(tmp, "model.so"))
            backends["mfc"] = lambda: compiled.CompiledBackend(library)
        for name, make in backends.items():
            start = time.perf_counter()
            nll = negative_log_likelihoods(make(), tokens)
            results[name] = float(np.exp(nll.mean()))
            print(f"{name:12} perplexity {results[name]:.4f} per byte "
                  f"({nll.mean() / np.log(2):.4f} bits/byte) over {len(nll)} bytes "
                  f"in {time.perf_counter() - start:.1f} s", flush=True)
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=EXAMPLE_MODEL, help="decode-step ONNX model")
    parser.add_argument("--text", default=HELDOUT_TEXT, help="held-out text (bytes)")
    parser.add_argument("--bytes", type=int, default=None, help="score only the first N bytes")
    parser.add_argument("--runtimes", nargs="+", default=["reference", "onnxruntime", "mfc"],
                        choices=["reference", "onnxruntime", "mfc"])
    args = parser.parse_args(argv)
    with open(args.text, "rb") as f:
        data = f.read()
    tokens = np.frombuffer(data[:args.bytes] if args.bytes else data, np.uint8).astype(np.int64)
    results = perplexities(args.model, tokens, args.runtimes)
    agree = agree_to_3_digits(list(results.values()))
    print(f"equal to 3 significant digits (within half a unit of the third): {agree}")
    return 0 if agree else 1


def agree_to_3_digits(values: List[float]) -> bool:
    """All values within half a unit of the third significant digit of the first."""
    unit = 10.0 ** (np.floor(np.log10(abs(values[0]))) - 2)
    return all(abs(v - values[0]) <= unit / 2 for v in values)


if __name__ == "__main__":
    sys.exit(main())
