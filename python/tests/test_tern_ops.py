"""The tern dialect's fused ops, compiled from MLIR by `mfc` (tern-expand-ops, then the
CPU pipeline), against the numpy reference written from the model's equations."""

import numpy as np

from _support import assert_close_up_to_rounding_flips
from mfc.compiled import compile, load
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
  %y = tern.bitlinear %x, %n, %w, %a {{eps = 1.0e-6 : f32}}
      : (tensor<?x{K}xf32>, tensor<{K}xf32>, tensor<{N}x{packed.shape[1]}xi8>, tensor<1xf32>) -> tensor<?x{N}xf32>
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
