import json

import pytest

from mfc.config import PRESETS, HGRNBitConfig, preset

# A config.json as the reference (transformers PretrainedConfig.save_pretrained) writes it.
REFERENCE_CONFIG_JSON = {
    "architectures": ["HGRNBitForCausalLM"],
    "attn_mode": "fused_recurrent",
    "bos_token_id": 1,
    "conv_size": 4,
    "eos_token_id": 2,
    "expand_ratio": 1,
    "fuse_cross_entropy": True,
    "hidden_act": "swish",
    "hidden_ratio": 4,
    "hidden_size": 1024,
    "initializer_range": 0.02,
    "intermediate_size": None,
    "max_position_embeddings": 2048,
    "model_type": "hgrn_bit",
    "num_heads": 1,
    "num_hidden_layers": 24,
    "pad_token_id": None,
    "rms_norm_eps": 1e-06,
    "share_conv_kernel": True,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.40.0",
    "use_cache": True,
    "use_lower_bound": True,
    "use_short_conv": False,
    "vocab_size": 32000,
}


@pytest.mark.parametrize(
    "name, hidden, layers, intermediate",
    [
        # 256 * ceil(int(d * 8 / 3) / 256), worked by hand: int(2730.67)=2730 -> 11*256, ...
        ("370M", 1024, 24, 2816),
        ("1.3B", 2048, 24, 5632),  # int(5461.33)=5461 -> 22*256
        ("2.7B", 2560, 32, 6912),  # int(6826.67)=6826 -> 27*256
        ("tiny", 64, 2, 256),  # int(170.67)=170 -> 1*256
        ("micro", 32, 2, 64),  # explicit intermediate_size wins over the formula
    ],
)
def test_presets_and_intermediate_size(name, hidden, layers, intermediate):
    config = preset(name)
    assert (config.hidden_size, config.num_hidden_layers, config.mlp_intermediate_size) == (
        hidden,
        layers,
        intermediate,
    )
    assert config.vocab_size == (32000 if hidden >= 1024 else 256)


def test_preset_overrides_and_unknown_name():
    assert preset("tiny", use_lower_bound=False).use_lower_bound is False
    with pytest.raises(KeyError, match="unknown preset"):
        preset("7B")
    assert set(PRESETS) == {"370M", "1.3B", "2.7B", "tiny", "micro"}


def test_reference_config_json_round_trips(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(REFERENCE_CONFIG_JSON))
    config = HGRNBitConfig.from_json(path)
    assert config == preset("370M")
    assert config.extra == {
        "architectures": ["HGRNBitForCausalLM"],
        "torch_dtype": "float32",
        "transformers_version": "4.40.0",
    }
    assert config.to_dict() == REFERENCE_CONFIG_JSON
    # A directory and raw JSON text load the same config.
    assert HGRNBitConfig.from_json(tmp_path) == config
    assert HGRNBitConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    "change, message",
    [
        ({"use_short_conv": True}, "use_short_conv"),
        ({"hidden_act": "gelu"}, "hidden_act"),
        ({"model_type": "llama"}, "model_type"),
        ({"expand_ratio": 2}, "expand_ratio"),
    ],
)
def test_unsupported_options_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        HGRNBitConfig.from_dict({**REFERENCE_CONFIG_JSON, **change})
