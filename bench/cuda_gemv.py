#!/usr/bin/env python3
"""Ternary GEMV/GEMM of `mfc --target=cuda` against cuBLAS fp16 (torch.matmul) on the same
shapes, side by side in one run: time per product, the fraction of HBM bandwidth the
weights' bytes take at that time, and the speed-up over cuBLAS.

Each shape is a tern.matmul with int8 activations and packed 2-bit weights (a constant,
made resident on the GPU by the runtime) compiled into its own library here:

    .venv/bin/python bench/cuda_gemv.py prepare           # compiles into bench/cuda-artifacts/
    python bench/cuda_gemv.py run --out DIR                # on the GPU machine (needs torch)

The mfc time is a whole library call (host-to-device copy of x, the kernels, the copy of
the int32 result back), timed on the host; cuBLAS is timed with CUDA events around the
product alone. Both are checked: mfc's int32 result against an exact integer product.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from mfc.compiled import compile, load  # noqa: E402

import device_bench  # noqa: E402

ARTIFACTS = ROOT / "bench" / "cuda-artifacts"
# (K inputs, N outputs): model shapes of the 370M/1.3B/2.7B configs and a large one.
SHAPES = [(1024, 1024), (1024, 2816), (2048, 2048), (2560, 6912), (8192, 8192)]
BATCHES = (1, 8)
HBM_BYTES_PER_S = 4.8e12  # H200


def codes_for(k: int, n: int) -> np.ndarray:
    return np.random.default_rng(k * 131 + n).integers(-1, 2, (n, k)).astype(np.int8)


def pack(codes: np.ndarray) -> np.ndarray:
    n, k = codes.shape
    padded = np.zeros((n, (k + 3) // 4 * 4), np.uint8)
    padded[:, :k] = codes.view(np.uint8) & 3
    quads = padded.reshape(n, -1, 4)
    return (quads[..., 0] | quads[..., 1] << 2 | quads[..., 2] << 4 | quads[..., 3] << 6).astype(np.int8)


def prepare() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for k, n in SHAPES:
        packed = pack(codes_for(k, n))
        source = f"""
func.func @main_graph(%x: tensor<?x{k}xi8>) -> tensor<?x{n}xi32> {{
  %w = arith.constant dense<"0x{packed.tobytes().hex().upper()}"> : tensor<{n}x{packed.shape[1]}xi8>
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x{k}xi8>
  %init = tensor.empty(%rows) : tensor<?x{n}xi32>
  %y = tern.matmul ins(%x, %w : tensor<?x{k}xi8>, tensor<{n}x{packed.shape[1]}xi8>) outs(%init : tensor<?x{n}xi32>) -> tensor<?x{n}xi32>
  return %y : tensor<?x{n}xi32>
}}
"""
        path = ARTIFACTS / f"gemv_{k}x{n}.mlir"
        path.write_text(source)
        start = time.perf_counter()
        compile(path, ARTIFACTS / f"gemv_{k}x{n}.cuda.so", target="cuda")
        path.unlink()
        print(f"compiled {k}x{n} in {time.perf_counter() - start:.1f} s", flush=True)


def run(out: Path, repeats: int) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"GPU: {torch.cuda.get_device_name()}; times are medians of {repeats}", flush=True)
    print(f"{'K x N':>12} {'batch':>5} {'mfc us':>9} {'BW frac':>8} {'cuBLAS us':>10} "
          f"{'BW frac':>8} {'speed-up':>8}  exact")
    for k, n in SHAPES:
        model = load(ARTIFACTS / f"gemv_{k}x{n}.cuda.so")
        codes = codes_for(k, n)
        weight16 = torch.from_numpy(codes.astype(np.float16)).cuda()
        for batch in BATCHES:
            x = np.random.default_rng(batch).integers(-128, 128, (batch, k)).astype(np.int8)
            (y,) = model(x)
            exact = bool(np.array_equal(y, x.astype(np.int64) @ codes.T.astype(np.int64)))
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
            mfc_s = float(np.median(times))
            x16 = torch.from_numpy(x.astype(np.float16)).cuda()
            for _ in range(10):
                torch.matmul(x16, weight16.T)
            events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                      for _ in range(repeats)]
            for begin, end in events:
                begin.record()
                torch.matmul(x16, weight16.T)
                end.record()
            torch.cuda.synchronize()
            cublas_s = float(np.median([b.elapsed_time(e) for b, e in events])) / 1e3
            row = {"k": k, "n": n, "batch": batch, "mfc_us": mfc_s * 1e6,
                   "mfc_bandwidth_fraction": n * k / 4 / mfc_s / HBM_BYTES_PER_S,
                   "cublas_fp16_us": cublas_s * 1e6,
                   "cublas_bandwidth_fraction": 2 * n * k / cublas_s / HBM_BYTES_PER_S,
                   "speedup_over_cublas": cublas_s / mfc_s, "exact": exact}
            rows.append(row)
            print(f"{k:>5} x {n:<5} {batch:>5} {row['mfc_us']:>9.1f} "
                  f"{row['mfc_bandwidth_fraction']:>8.3f} {row['cublas_fp16_us']:>10.1f} "
                  f"{row['cublas_bandwidth_fraction']:>8.3f} {row['speedup_over_cublas']:>8.2f}x  "
                  f"{exact}", flush=True)
    (out / "cuda_gemv.json").write_text(json.dumps(
        {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "gpu": torch.cuda.get_device_name(),
         "repeats": repeats, "rows": rows}, indent=2))


if __name__ == "__main__":
    sys.exit(device_bench.main(__doc__, prepare, run, "repeats", 50))
