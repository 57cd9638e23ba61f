"""Numpy forward pass of HGRN-Bit, written from the model equations (DESIGN.md section 1).

Floats are float32, as in the ONNX graphs; the ternary product is an exact int32
accumulation of int8 activations and {-1, 0, +1} codes. This module is the independent
reference the exporter and the compiler are checked against, so it shares nothing with the
ONNX builder beyond the parameters themselves.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .weights import ACT_ABSMAX_FLOOR, ModelWeights, TernaryWeight

F32 = np.float32
States = List[np.ndarray]


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """x / sqrt(mean(x^2) + eps) * weight over the last axis."""
    mean_square = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(mean_square + F32(eps)) * weight


def sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(F32)


def silu(x: np.ndarray) -> np.ndarray:
    return x * sigmoid(x)


def quantize_activations(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-token absmax int8: s_x = 127 / max(max|x|, 1e-5), q = clamp(round(x * s_x), -128, 127).

    Rounds half to even, like ONNX Round and torch.round (the reference's fused Triton kernel
    rounds ties away from zero; exact ties practically never occur in float inputs).
    """
    absmax = np.max(np.abs(x), axis=-1, keepdims=True)
    s_x = F32(127) / np.maximum(absmax, F32(ACT_ABSMAX_FLOOR))
    q = np.clip(np.rint(x * s_x), -128, 127).astype(np.int8)
    return q, s_x


def ternary_matmul(q: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Exact int32 accumulation q @ codes.T of int8 activations [..., K] and codes [N, K]."""
    return np.matmul(q.astype(np.int32), codes.T.astype(np.int32))


def bitlinear(x: np.ndarray, norm_weight: np.ndarray, weight: TernaryWeight, eps: float) -> np.ndarray:
    """BitLinear: y = (q @ T) / (s_x * s_w) with q the int8 activations of RMSNorm(x) * n."""
    q, s_x = quantize_activations(rms_norm(x, norm_weight, eps))
    return ternary_matmul(q, weight.codes).astype(F32) / (s_x * weight.s_w)


class ReferenceModel:
    """HGRNBitForCausalLM inference: prefill over a sequence, and single-token decode steps.

    The recurrent state is one [batch, input_dim] array per layer (h after the last token).
    """

    def __init__(self, weights: ModelWeights):
        self.weights = weights
        self.config = weights.config
        # The reference's fused BitLinear kernel hard-codes eps 1e-6 where the other norms read
        # rms_norm_eps; the released configs all set rms_norm_eps = 1e-6, so one eps serves all.
        self.eps = self.config.rms_norm_eps
        self._lower_bounds = weights.lower_bounds()

    def init_states(self, batch: int) -> States:
        return [np.zeros((batch, self.config.input_dim), F32) for _ in range(self.config.num_hidden_layers)]

    def prefill(self, input_ids: np.ndarray) -> Tuple[np.ndarray, States]:
        """input_ids [batch, seq] -> (logits [batch, seq, vocab], final states)."""
        return self.forward(input_ids, self.init_states(input_ids.shape[0]))

    def decode_step(self, input_ids: np.ndarray, states: States) -> Tuple[np.ndarray, States]:
        """input_ids [batch, 1] and states -> (logits [batch, 1, vocab], new states)."""
        if input_ids.ndim != 2 or input_ids.shape[1] != 1:
            raise ValueError(f"decode_step takes input_ids of shape [batch, 1], got {input_ids.shape}")
        return self.forward(input_ids, states)

    def forward(self, input_ids: np.ndarray, states: Optional[States] = None) -> Tuple[np.ndarray, States]:
        """Run tokens [batch, seq] starting from `states` (zeros when None)."""
        w = self.weights
        if states is None:
            states = self.init_states(input_ids.shape[0])
        x = w.tensor("model.embeddings.weight")[input_ids]
        new_states = []
        for layer, h in enumerate(states):
            x, h = self.block(x, layer, h)
            new_states.append(h)
        x = rms_norm(x, w.tensor("model.norm.weight"), self.eps)
        return self._bitlinear(x, "lm_head"), new_states

    def block(self, x: np.ndarray, layer: int, h: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """One pre-norm residual block on the residual stream x [batch, seq, hidden] from state h.

        Public so that another implementation's per-layer values can be checked one block at
        a time (a rounding flip then stays inside the block where it happened).
        """
        p = f"model.layers.{layer}"
        mixed, h = self._token_mixer(
            rms_norm(x, self.weights.tensor(f"{p}.attn_norm.weight"), self.eps), layer, h
        )
        x = x + mixed
        x = x + self._channel_mixer(rms_norm(x, self.weights.tensor(f"{p}.mlp_norm.weight"), self.eps), layer)
        return x, h

    def _bitlinear(self, x: np.ndarray, module: str) -> np.ndarray:
        return bitlinear(
            x, self.weights.tensor(f"{module}.norm.weight"), self.weights.ternary(module), self.eps
        )

    def _token_mixer(self, x: np.ndarray, layer: int, h: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """MLGRU: returns (o_proj output [batch, seq, hidden], state after the last token)."""
        p = f"model.layers.{layer}.attn"
        i = self._bitlinear(x, f"{p}.i_proj")
        f = sigmoid(self._bitlinear(x, f"{p}.f_proj"))
        if self.config.use_lower_bound and layer > 0:
            lb = self._lower_bounds[layer]
            f = lb + (1 - lb) * f
        g = self._bitlinear(x, f"{p}.g_proj")
        c = silu(i) * (1 - f)
        hs = np.empty_like(c)
        for t in range(c.shape[1]):
            h = f[:, t] * h + c[:, t]
            hs[:, t] = h
        o = rms_norm(g, self.weights.tensor(f"{p}.g_norm.weight"), self.eps) * silu(hs)
        return self._bitlinear(o, f"{p}.o_proj"), h

    def _channel_mixer(self, x: np.ndarray, layer: int) -> np.ndarray:
        """GLU: one projection to 2*I, split into gate and value halves."""
        p = f"model.layers.{layer}.mlp"
        gate, value = np.split(self._bitlinear(x, f"{p}.gate_proj"), 2, axis=-1)
        return self._bitlinear(silu(gate) * value, f"{p}.down_proj")
