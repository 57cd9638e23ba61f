"""The tern dialect's fused ops, compiled from MLIR by `mfc` (tern-expand-ops, then the
CPU pipeline), against the numpy reference written from the model's equations."""

import subprocess

import numpy as np

from _support import assert_close_up_to_rounding_flips
from mfc.compiled import _tool, bfloat16_bits, compile, float32_from_bfloat16, load
from mfc.reference import bitlinear, quantize_activations, sigmoid, silu
from mfc.weights import ternarize

K, N, D = 70, 48, 32  # K not a multiple of 4: the packed rows end in padding codes


def pack(codes):
    """The tern dialect's layout: weight k of row n in byte k/4, bits 2(k%4), 2-bit two's
    complement (00 = 0, 01 = +1, 11 = -1)."""
    n, k = codes.shape
    padded = np.zeros((n, (k + 3) // 4 * 4), np.uint8)
    padded[:, :k] = codes.astype(np.int8).view(np.uint8) & 3
    quads = padded.reshape(n, -1, 4)
    return (quads[..., 0] | quads[..., 1] << 2 | quads[..., 2] << 4 | quads[..., 3] << 6).astype(np.uint8)


def dense(array, type_):
    """An MLIR dense literal: the array's bytes in hex (exact, any shape)."""
    return f'dense<"0x{array.tobytes().hex().upper()}"> : tensor<{"x".join(map(str, array.shape))}x{type_}>'


def test_bitlinear_quantize_act_mlgru_scan_match_reference(tmp_path):
    rng = np.random.default_rng(3)
    weight = ternarize(rng.standard_normal((N, K)).astype(np.float32))
    norm = (1 + 0.1 * rng.standard_normal(K)).astype(np.float32)
    lower_bound = rng.uniform(0, 0.5, D).astype(np.float32)
    packed = pack(weight.codes).view(np.int8)
    source = f"""
func.func @main_graph(%x: tensor<?x{K}xf32>, %i: tensor<2x?x{D}xf32>, %f: tensor<2x?x{D}xf32>,
                      %h0: tensor<2x{D}xf32>)
    -> (tensor<?x{N}xf32>, tensor<?x{K}xi8>, tensor<?x1xf32>, tensor<2x?x{D}xf32>, tensor<2x{D}xf32>) {{
  %n = arith.constant {dense(norm, 'f32')}
  %w = arith.constant {dense(packed, 'i8')}
  %a = arith.constant dense<{float(weight.step)!r}> : tensor<1xf32>
  %lb = arith.constant {dense(lower_bound, 'f32')}
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x{K}xf32>
  %ey = tensor.empty(%rows) : tensor<?x{N}xf32>
  %y = tern.bitlinear ins(%x, %n, %w, %a : tensor<?x{K}xf32>, tensor<{K}xf32>, tensor<{N}x{packed.shape[1]}xi8>, tensor<1xf32>)
      outs(%ey : tensor<?x{N}xf32>) {{eps = 1.0e-6 : f32}} -> tensor<?x{N}xf32>
  %q, %s = tern.quantize_act %x : tensor<?x{K}xf32> -> tensor<?x{K}xi8>, tensor<?x1xf32>
  %hs, %h = tern.mlgru_scan %i, %f, %h0 lower_bound %lb
      : (tensor<2x?x{D}xf32>, tensor<2x?x{D}xf32>, tensor<2x{D}xf32>, tensor<{D}xf32>)
      -> (tensor<2x?x{D}xf32>, tensor<2x{D}xf32>)
  return %y, %q, %s, %hs, %h : tensor<?x{N}xf32>, tensor<?x{K}xi8>, tensor<?x1xf32>, tensor<2x?x{D}xf32>, tensor<2x{D}xf32>
}}
"""
    path = tmp_path / "tern_ops.mlir"
    path.write_text(source)
    model = load(compile(path))

    x = (rng.standard_normal((5, K)) * 2).astype(np.float32)
    i = rng.standard_normal((2, 7, D)).astype(np.float32)
    f = rng.standard_normal((2, 7, D)).astype(np.float32)
    h0 = rng.standard_normal((2, D)).astype(np.float32)
    y, q, s, hs, h = model(x, i, f, h0)

    assert_close_up_to_rounding_flips(y, bitlinear(x, norm, weight, eps=1e-6))
    q_ref, s_ref = quantize_activations(x)
    np.testing.assert_allclose(s, s_ref, rtol=1e-6)
    assert np.mean(q == q_ref) > 0.99 and np.max(np.abs(q.astype(int) - q_ref)) <= 1

    # h_t = f_t * h_{t-1} + silu(i_t) * (1 - f_t), f_t = lb + (1 - lb) * sigmoid(f)
    state, expected = h0, []
    for t in range(i.shape[1]):
        gate = lower_bound + (1 - lower_bound) * sigmoid(f[:, t])
        state = gate * state + silu(i[:, t]) * (1 - gate)
        expected.append(state)
    np.testing.assert_allclose(hs, np.stack(expected, axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, state, rtol=1e-5, atol=1e-6)


def test_packed_layouts_and_half_precision_match_reference(tmp_path):
    """Weights packed in columns (#tern.packed<order = columns>, repacked by the CPU target
    for its micro-kernel) give what rows give; f16 activations accumulate in f16."""
    rng = np.random.default_rng(5)
    weight = ternarize(rng.standard_normal((N, K)).astype(np.float32))
    norm = (1 + 0.1 * rng.standard_normal(K)).astype(np.float32)
    rows = pack(weight.codes).view(np.int8)
    columns = np.ascontiguousarray(rows.T)
    B = rows.shape[1]
    columns_layout = "{layout = #tern.packed<bits = 2, order = columns>}"
    source = f"""
func.func @main_graph(%x: tensor<?x{K}xf32>, %h: tensor<3x{K}xf16>) -> (tensor<?x{N}xf32>, tensor<3x{N}xf16>, tensor<3x{N}xf16>) {{
  %n = arith.constant {dense(norm, 'f32')}
  %wc = arith.constant {dense(columns, 'i8')}
  %wr = arith.constant {dense(rows, 'i8')}
  %a = arith.constant dense<{float(weight.step)!r}> : tensor<1xf32>
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x{K}xf32>
  %ey = tensor.empty(%rows) : tensor<?x{N}xf32>
  %y = tern.bitlinear ins(%x, %n, %wc, %a : tensor<?x{K}xf32>, tensor<{K}xf32>, tensor<{B}x{N}xi8>, tensor<1xf32>)
      outs(%ey : tensor<?x{N}xf32>) {{eps = 1.0e-6 : f32, layout = #tern.packed<bits = 2, order = columns>}} -> tensor<?x{N}xf32>
  %e = tensor.empty() : tensor<3x{N}xf16>
  %hc = tern.matmul ins(%h, %wc : tensor<3x{K}xf16>, tensor<{B}x{N}xi8>) outs(%e : tensor<3x{N}xf16>) {columns_layout} -> tensor<3x{N}xf16>
  %hr = tern.matmul ins(%h, %wr : tensor<3x{K}xf16>, tensor<{N}x{B}xi8>) outs(%e : tensor<3x{N}xf16>) -> tensor<3x{N}xf16>
  return %y, %hc, %hr : tensor<?x{N}xf32>, tensor<3x{N}xf16>, tensor<3x{N}xf16>
}}
"""
    path = tmp_path / "layouts.mlir"
    path.write_text(source)
    model = load(compile(path))

    x = (rng.standard_normal((4, K)) * 2).astype(np.float32)
    # Small integers in f16: every partial sum is exact, so the f16 result is too.
    h = rng.integers(-4, 5, (3, K)).astype(np.float16)
    y, hc, hr = model(x, h)

    assert_close_up_to_rounding_flips(y, bitlinear(x, norm, weight, eps=1e-6))
    expected = h.astype(np.float64) @ weight.codes.T.astype(np.float64)
    assert hc.dtype == np.float16
    np.testing.assert_array_equal(hc.astype(np.float64), expected)
    np.testing.assert_array_equal(hr.astype(np.float64), expected)


TILING_SCHEDULE = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %ops = transform.structured.match ops{["tern.matmul", "tern.bitlinear"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %ops tile_sizes [2, 16]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}
"""


def test_tiled_tern_ops_match_reference(tmp_path):
    """The tern ops tiled through TilingInterface (2 rows x 16 outputs, the last tiles
    partial) compile for the CPU, whose micro-kernel then runs on strided tiles of the
    output, and compute what the untiled ops compute."""
    rng = np.random.default_rng(7)
    weight = ternarize(rng.standard_normal((N, K)).astype(np.float32))
    norm = (1 + 0.1 * rng.standard_normal(K)).astype(np.float32)
    packed = pack(weight.codes).view(np.int8)
    W = f"tensor<{N}x{packed.shape[1]}xi8>"
    source = f"""
func.func @main_graph(%q: tensor<5x{K}xi8>, %x: tensor<5x{K}xf32>) -> (tensor<5x{N}xi32>, tensor<5x{N}xf32>, tensor<5x{N}xf32>) {{
  %w = arith.constant {dense(packed, 'i8')}
  %n = arith.constant {dense(norm, 'f32')}
  %a = arith.constant dense<{float(weight.step)!r}> : tensor<1xf32>
  %ei = tensor.empty() : tensor<5x{N}xi32>
  %ef = tensor.empty() : tensor<5x{N}xf32>
  %acc = tern.matmul ins(%q, %w : tensor<5x{K}xi8>, {W}) outs(%ei : tensor<5x{N}xi32>) -> tensor<5x{N}xi32>
  %sum = tern.matmul ins(%x, %w : tensor<5x{K}xf32>, {W}) outs(%ef : tensor<5x{N}xf32>) -> tensor<5x{N}xf32>
  %y = tern.bitlinear ins(%x, %n, %w, %a : tensor<5x{K}xf32>, tensor<{K}xf32>, {W}, tensor<1xf32>)
      outs(%ef : tensor<5x{N}xf32>) {{eps = 1.0e-6 : f32}} -> tensor<5x{N}xf32>
  return %acc, %sum, %y : tensor<5x{N}xi32>, tensor<5x{N}xf32>, tensor<5x{N}xf32>
}}
"""
    (tmp_path / "ops.mlir").write_text(source)
    (tmp_path / "schedule.mlir").write_text(TILING_SCHEDULE)
    tiled = tmp_path / "tiled.mlir"
    subprocess.run([str(_tool("mfc-opt")), str(tmp_path / "ops.mlir"),
                    f"--transform-preload-library=transform-library-paths={tmp_path / 'schedule.mlir'}",
                    "--transform-interpreter", "-o", str(tiled)], check=True)
    assert tiled.read_text().count("scf.for") == 6
    model = load(compile(tiled))

    q = rng.integers(-128, 128, (5, K)).astype(np.int8)
    x = (rng.standard_normal((5, K)) * 2).astype(np.float32)
    acc, total, y = model(q, x)

    codes = weight.codes.T.astype(np.int64)
    np.testing.assert_array_equal(acc, q.astype(np.int64) @ codes)
    np.testing.assert_allclose(total, x.astype(np.float64) @ codes, rtol=1e-5, atol=1e-4)
    assert_close_up_to_rounding_flips(y, bitlinear(x, norm, weight, eps=1e-6))


def test_half_precision_expansion_matches_reference(tmp_path):
    """tern.glu and tern.mlgru_scan on f16 and bf16 operands are expanded and lowered in
    that type: they match the float32 reference to the type's precision."""
    # numpy's float16, and bfloat16 as raw bits: (to the library's type, back to float32)
    conversions = {
        "f16": (lambda a: a.astype(np.float16), lambda a: a.astype(np.float32)),
        "bf16": (bfloat16_bits, float32_from_bfloat16),
    }
    for elem, tolerance in (("f16", 2e-3), ("bf16", 2e-2)):
        source = f"""
func.func @main_graph(%g: tensor<4x{D}x{elem}>, %v: tensor<4x{D}x{elem}>, %i: tensor<1x?x{D}x{elem}>,
                      %f: tensor<1x?x{D}x{elem}>, %h0: tensor<1x{D}x{elem}>)
    -> (tensor<4x{D}x{elem}>, tensor<1x?x{D}x{elem}>, tensor<1x{D}x{elem}>) {{
  %y = tern.glu %g, %v : tensor<4x{D}x{elem}>
  %hs, %h = tern.mlgru_scan %i, %f, %h0
      : (tensor<1x?x{D}x{elem}>, tensor<1x?x{D}x{elem}>, tensor<1x{D}x{elem}>)
      -> (tensor<1x?x{D}x{elem}>, tensor<1x{D}x{elem}>)
  return %y, %hs, %h : tensor<4x{D}x{elem}>, tensor<1x?x{D}x{elem}>, tensor<1x{D}x{elem}>
}}
"""
        path = tmp_path / f"half_{elem}.mlir"
        path.write_text(source)
        model = load(compile(path))
        # The signature types the ports as ONNX FLOAT16 (10) or BFLOAT16 (16).
        assert path.with_suffix(".h").read_text().count(
            f"ONNX element type {10 if elem == 'f16' else 16}") == 8
        narrow, widen = conversions[elem]
        rng = np.random.default_rng(11)
        # The reference starts from the values the library receives (already rounded).
        g, v = (widen(narrow(rng.standard_normal((4, D)))) for _ in range(2))
        i, f = (widen(narrow(rng.standard_normal((1, 6, D)))) for _ in range(2))
        h0 = widen(narrow(rng.standard_normal((1, D))))
        y, hs, h = (widen(out) for out in model(*(narrow(a) for a in (g, v, i, f, h0))))
        np.testing.assert_allclose(y, silu(g) * v, rtol=tolerance, atol=tolerance)
        state, expected = h0, []
        for t in range(i.shape[1]):
            gate = sigmoid(f[:, t])
            state = gate * state + silu(i[:, t]) * (1 - gate)
            expected.append(state)
        np.testing.assert_allclose(hs, np.stack(expected, axis=1), rtol=5 * tolerance, atol=5 * tolerance)
        np.testing.assert_allclose(h, state, rtol=5 * tolerance, atol=5 * tolerance)


def test_cuda_library_says_why_it_does_not_load_without_a_gpu(tmp_path):
    """`compile(..., target="cuda")` builds a library with the CPU one's API; on a machine
    without a CUDA driver or GPU, loading it fails with the reason, not a crash. (On a
    GPU, bench/cuda_decode.py runs it against the CPU library.)"""
    import pytest
    from mfc.compiled import MfcError

    source = """
func.func @main_graph(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = tern.glu %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
"""
    path = tmp_path / "glu.mlir"
    path.write_text(source)
    library = compile(path, target="cuda")
    assert library.with_suffix(".h").exists()
    try:
        load(library)
    except MfcError as error:
        assert "needs a GPU: no CUDA" in str(error)
    else:
        pytest.skip("this machine has a CUDA GPU: the library loaded")


def test_split_k_lowering_matches_reference(tmp_path):
    """tern-lower-matmul with k-chunk (the CUDA target's split of the sum over K) computes
    the same products: int8 exactly, f32 to rounding; lowered here, run on the CPU."""
    rng = np.random.default_rng(13)
    k, n = 64, 24
    codes = rng.integers(-1, 2, (n, k)).astype(np.int8)
    packed = pack(codes).view(np.int8)
    source = f"""
func.func @main_graph(%q: tensor<?x{k}xi8>, %x: tensor<3x{k}xf32>) -> (tensor<?x{n}xi32>, tensor<3x{n}xf32>) {{
  %w = arith.constant {dense(packed, 'i8')}
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %q, %c0 : tensor<?x{k}xi8>
  %ei = tensor.empty(%rows) : tensor<?x{n}xi32>
  %ef = tensor.empty() : tensor<3x{n}xf32>
  %a = tern.matmul ins(%q, %w : tensor<?x{k}xi8>, tensor<{n}x{k // 4}xi8>) outs(%ei : tensor<?x{n}xi32>) -> tensor<?x{n}xi32>
  %b = tern.matmul ins(%x, %w : tensor<3x{k}xf32>, tensor<{n}x{k // 4}xi8>) outs(%ef : tensor<3x{n}xf32>) -> tensor<3x{n}xf32>
  return %a, %b : tensor<?x{n}xi32>, tensor<3x{n}xf32>
}}
"""
    (tmp_path / "ops.mlir").write_text(source)
    lowered = tmp_path / "lowered.mlir"
    subprocess.run([str(_tool("mfc-opt")), str(tmp_path / "ops.mlir"), "--tern-lower-matmul=k-chunk=16",
                    "-o", str(lowered)], check=True)
    assert "tern.matmul" not in lowered.read_text() and lowered.read_text().count("linalg.generic") == 4
    model = load(compile(lowered))
    q = rng.integers(-128, 128, (5, k)).astype(np.int8)
    x = rng.standard_normal((3, k)).astype(np.float32)
    a, b = model(q, x)
    np.testing.assert_array_equal(a, q.astype(np.int64) @ codes.T.astype(np.int64))
    np.testing.assert_allclose(b, x.astype(np.float64) @ codes.T, rtol=1e-5, atol=1e-5)
