"""Model parameters under the reference (matmulfreellm) names, and their ternarization.

Parameters are produced on demand by a *source* (a seeded random generator or a checkpoint
reader), so a 2.7B model never has to sit in memory as a whole. Every projection weight is
ternarized exactly once per `ModelWeights` (with the default cache): absmean quantization is
not idempotent, so the codes and scale are the stored truth from then on.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Tuple

import numpy as np

from .config import HGRNBitConfig

ACT_ABSMAX_FLOOR = 1e-5  # clamp of max|x| in the per-token activation scale
WEIGHT_ABSMEAN_FLOOR = 1e-5  # clamp of mean|W| in the per-tensor weight scale

Shape = Tuple[int, ...]


@dataclass(frozen=True)
class TernaryWeight:
    """A BitLinear weight after absmean quantization: W ~= codes / s_w.

    `codes` keeps the reference `nn.Linear` layout [out_features, in_features].
    """

    codes: np.ndarray  # int8, values in {-1, 0, +1}
    s_w: np.float32

    @property
    def step(self) -> np.float32:
        """The float value of a +1 code (1 / s_w): the DequantizeLinear scale."""
        return np.float32(1) / self.s_w

    def dequantize(self) -> np.ndarray:
        """The fake-quantized float weight, holding only {-step, 0, +step}."""
        return self.codes.astype(np.float32) * self.step


def ternarize(w: np.ndarray) -> TernaryWeight:
    """Per-tensor absmean ternarization: s_w = 1/max(mean|W|, 1e-5), T = clamp(round(W*s_w), -1, 1)."""
    w = np.asarray(w, dtype=np.float32)
    # The mean is accumulated in float64 so the scale does not depend on summation order.
    mean_abs = np.float32(np.mean(np.abs(w), dtype=np.float64))
    s_w = np.float32(1) / max(mean_abs, np.float32(WEIGHT_ABSMEAN_FLOOR))
    codes = np.clip(np.rint(w * s_w), -1, 1).astype(np.int8)
    return TernaryWeight(codes=codes, s_w=s_w)


def bitlinear_names(config: HGRNBitConfig) -> List[str]:
    """Reference module names of every BitLinear, in forward order."""
    names = []
    for layer in range(config.num_hidden_layers):
        p = f"model.layers.{layer}"
        names += [f"{p}.attn.{proj}" for proj in ("i_proj", "f_proj", "g_proj", "o_proj")]
        names += [f"{p}.mlp.gate_proj", f"{p}.mlp.down_proj"]
    return names + ["lm_head"]


def parameter_shapes(config: HGRNBitConfig) -> Dict[str, Shape]:
    """Every parameter of `HGRNBitForCausalLM` (as in its state_dict) with its shape."""
    h, d, i = config.hidden_size, config.input_dim, config.mlp_intermediate_size
    shapes: Dict[str, Shape] = {"model.embeddings.weight": (config.vocab_size, h)}
    if config.use_lower_bound:
        shapes["model.lower_bounds"] = (config.num_hidden_layers, h)
    for layer in range(config.num_hidden_layers):
        p = f"model.layers.{layer}"
        linears = {
            f"{p}.attn.i_proj": (d, h),
            f"{p}.attn.f_proj": (d, h),
            f"{p}.attn.g_proj": (d, h),
            f"{p}.attn.o_proj": (h, d),
            f"{p}.mlp.gate_proj": (2 * i, h),
            f"{p}.mlp.down_proj": (h, i),
        }
        shapes[f"{p}.attn_norm.weight"] = (h,)
        for name, (out_features, in_features) in linears.items():
            shapes[f"{name}.weight"] = (out_features, in_features)
            shapes[f"{name}.norm.weight"] = (in_features,)
        shapes[f"{p}.attn.g_norm.weight"] = (d,)
        shapes[f"{p}.mlp_norm.weight"] = (h,)
    shapes["model.norm.weight"] = (h,)
    if not config.tie_word_embeddings:
        shapes["lm_head.weight"] = (config.vocab_size, h)
    shapes["lm_head.norm.weight"] = (h,)
    return shapes


def lower_bound_table(raw: np.ndarray) -> np.ndarray:
    """Per-layer forget-gate lower bounds from the learned `lower_bounds` [layers, hidden].

    softmax over the layer axis, cumulative sum over layers, minus the first row, so layer 0
    gets 0 and the bound grows with depth.
    """
    x = np.asarray(raw, dtype=np.float64)
    e = np.exp(x - x.max(axis=0, keepdims=True))
    p = e / e.sum(axis=0, keepdims=True)
    return (np.cumsum(p, axis=0) - p[0]).astype(np.float32)


TensorSource = Callable[[str], np.ndarray]


class ModelWeights:
    """Parameters of one model, looked up by reference name.

    `cache=False` re-reads float tensors and re-ternarizes on each request (the result is
    the same, since it is a pure function of the float weight); exporting a large model
    touches each tensor once and needs no cache.
    """

    def __init__(self, config: HGRNBitConfig, source: TensorSource, cache: bool = True):
        self.config = config.validate()
        self.shapes = parameter_shapes(config)
        self._source = source
        self._cache = cache
        self._floats: Dict[str, np.ndarray] = {}
        self._ternaries: Dict[str, TernaryWeight] = {}

    def _resolve(self, name: str) -> str:
        if name == "lm_head.weight" and self.config.tie_word_embeddings:
            return "model.embeddings.weight"
        if name not in self.shapes:
            raise KeyError(f"{name!r} is not a parameter of this model")
        return name

    def tensor(self, name: str) -> np.ndarray:
        """A float32 parameter by its reference name (e.g. 'model.layers.0.attn.g_norm.weight')."""
        name = self._resolve(name)
        if name in self._floats:
            return self._floats[name]
        value = np.ascontiguousarray(self._source(name), dtype=np.float32)
        if value.shape != self.shapes[name]:
            raise ValueError(
                f"parameter {name!r} has shape {value.shape}; config expects {self.shapes[name]}"
            )
        if self._cache:
            self._floats[name] = value
        return value

    def ternary(self, module: str) -> TernaryWeight:
        """The ternarized weight of the BitLinear `module` (e.g. 'model.layers.0.mlp.gate_proj')."""
        if module in self._ternaries:
            return self._ternaries[module]
        value = ternarize(self.tensor(f"{module}.weight"))
        if self._cache:
            self._ternaries[module] = value
        return value

    def lower_bounds(self) -> np.ndarray:
        """[layers, hidden] forget-gate lower bounds (all zero without `use_lower_bound`)."""
        c = self.config
        if not c.use_lower_bound:
            return np.zeros((c.num_hidden_layers, c.hidden_size), np.float32)
        return lower_bound_table(self.tensor("model.lower_bounds"))

    def state_dict(self) -> Dict[str, np.ndarray]:
        """All float parameters, as the reference's `state_dict()` would name them."""
        return {name: self.tensor(name) for name in self.shapes}

    @classmethod
    def random(cls, config: HGRNBitConfig, seed: int = 0, cache: bool = True) -> "ModelWeights":
        return cls(config, _RandomInit(config, seed), cache=cache)

    @classmethod
    def from_state_dict(cls, config: HGRNBitConfig, tensors: Mapping[str, np.ndarray]) -> "ModelWeights":
        shapes = parameter_shapes(config)
        missing = sorted(set(shapes) - set(tensors))
        unexpected = sorted(set(tensors) - set(shapes))
        if missing or unexpected:
            raise ValueError(
                f"state dict does not match the config: missing {missing}, unexpected {unexpected}"
            )
        return cls(config, tensors.__getitem__)


class _RandomInit:
    """Seeded random parameters; each tensor's stream depends only on (seed, name).

    Linear and embedding weights follow the reference init (normal, std initializer_range;
    o_proj/down_proj scaled by 1/sqrt(2 L)). Norm weights and lower bounds are drawn around
    the reference's constant init (1 and 0) instead of equal to it, so that a missing or
    misplaced parameter changes the output and tests can see it.
    """

    def __init__(self, config: HGRNBitConfig, seed: int):
        self.config = config
        self.seed = seed
        self.shapes = parameter_shapes(config)

    def __call__(self, name: str) -> np.ndarray:
        shape = self.shapes[name]
        rng = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
        if name.endswith("norm.weight"):
            return 1 + np.float32(0.1) * rng.standard_normal(shape, dtype=np.float32)
        if name == "model.lower_bounds":
            return rng.standard_normal(shape, dtype=np.float32)
        std = self.config.initializer_range
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            std /= math.sqrt(2 * self.config.num_hidden_layers)
        return np.float32(std) * rng.standard_normal(shape, dtype=np.float32)
