"""Model configuration, with the field names of the reference `HGRNBitConfig`.

A `config.json` written by the reference (Hugging Face `PretrainedConfig`) loads here and
writes back with the same keys; keys this package does not model are kept in `extra`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

MODEL_TYPE = "hgrn_bit"
ARCHITECTURE = "HGRNBitForCausalLM"


@dataclass
class HGRNBitConfig:
    vocab_size: int = 32000
    hidden_size: int = 2048
    num_hidden_layers: int = 24
    attn_mode: str = "fused_recurrent"
    num_heads: int = 1
    expand_ratio: int = 1
    use_short_conv: bool = False
    conv_size: int = 4
    share_conv_kernel: bool = True
    use_lower_bound: bool = True
    hidden_ratio: int = 4
    intermediate_size: Optional[int] = None
    hidden_act: str = "swish"
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-6
    use_cache: bool = True
    pad_token_id: Optional[int] = None
    bos_token_id: int = 1
    eos_token_id: int = 2
    tie_word_embeddings: bool = False
    initializer_range: float = 0.02
    fuse_cross_entropy: bool = True
    # Keys of a loaded config.json that are not fields above (architectures, torch_dtype, ...).
    extra: Dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def input_dim(self) -> int:
        """Width of the token mixer's i/f/g projections and of the recurrent state."""
        return self.hidden_size * self.expand_ratio

    @property
    def mlp_intermediate_size(self) -> int:
        """`intermediate_size`, or the reference default: 2/3 * hidden_ratio * d rounded up to 256."""
        if self.intermediate_size is not None:
            return self.intermediate_size
        ratio = 4 if self.hidden_ratio is None else self.hidden_ratio
        raw = int(self.hidden_size * ratio * 2 / 3)
        return 256 * ((raw + 255) // 256)

    def validate(self) -> "HGRNBitConfig":
        """Reject reference options this package does not implement, naming the option."""
        problems = []
        if self.use_short_conv:
            problems.append("use_short_conv=True (short convolutions are not implemented)")
        if self.attn_mode != "fused_recurrent":
            problems.append(f"attn_mode={self.attn_mode!r} (only 'fused_recurrent' exists)")
        if self.hidden_act not in ("swish", "silu"):
            problems.append(f"hidden_act={self.hidden_act!r} (the GLU uses swish)")
        if self.hidden_size % max(self.num_heads or 1, 1):
            problems.append(f"hidden_size={self.hidden_size} not divisible by num_heads={self.num_heads}")
        if self.use_lower_bound and self.expand_ratio != 1:
            problems.append("use_lower_bound with expand_ratio != 1 (lower_bounds has hidden_size columns)")
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "expand_ratio"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be positive")
        if problems:
            raise ValueError("unsupported HGRN-Bit config: " + "; ".join(problems))
        return self

    def to_dict(self) -> Dict[str, Any]:
        out = dict(self.extra)
        out.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"})
        out["model_type"] = MODEL_TYPE
        out.setdefault("architectures", [ARCHITECTURE])
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "HGRNBitConfig":
        model_type = data.get("model_type", MODEL_TYPE)
        if model_type != MODEL_TYPE:
            raise ValueError(f"config has model_type {model_type!r}; expected {MODEL_TYPE!r}")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and k != "model_type"}
        return cls(**known, extra=extra).validate()

    def to_json(self, path: Optional[str | os.PathLike] = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    @classmethod
    def from_json(cls, path_or_text: str | os.PathLike) -> "HGRNBitConfig":
        """Load from a config.json path, a checkpoint directory holding one, or JSON text."""
        text = str(path_or_text)
        if not text.lstrip().startswith("{"):
            path = os.fspath(path_or_text)
            if os.path.isdir(path):
                path = os.path.join(path, "config.json")
            with open(path, encoding="utf-8") as f:
                text = f.read()
        return cls.from_dict(json.loads(text))


PRESETS: Dict[str, Dict[str, Any]] = {
    # The three released MMfreeLM sizes.
    "370M": dict(hidden_size=1024, num_hidden_layers=24),
    "1.3B": dict(hidden_size=2048, num_hidden_layers=24),
    "2.7B": dict(hidden_size=2560, num_hidden_layers=32),
    # Test sizes with a byte-level vocabulary; two layers so that the lower bound is exercised.
    "tiny": dict(hidden_size=64, num_hidden_layers=2, vocab_size=256),
    "micro": dict(hidden_size=32, num_hidden_layers=2, vocab_size=256, intermediate_size=64),
}


def preset(name: str, **overrides: Any) -> HGRNBitConfig:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return HGRNBitConfig(**{**PRESETS[name], **overrides}).validate()
