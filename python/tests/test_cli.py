import subprocess
import sys

import onnx
import pytest

from _support import assert_same_graph, write_checkpoint
from mfc import ModelWeights, preset
from mfc.export import build_model, main


def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "mfc.export", "--help"], capture_output=True, text=True, check=True
    )
    assert "--form {prefill,decode}" in result.stdout and "--weights {fakequant,qdq}" in result.stdout
    assert result.stderr == ""


def test_preset_export_reports_progress(tmp_path, capsys):
    path = tmp_path / "micro.onnx"
    assert (
        main(["--preset", "micro", "--form", "decode", "--weights", "qdq", "--seed", "2", "-o", str(path)])
        == 0
    )
    log = capsys.readouterr().err
    assert "layer 1/2" in log and "layer 2/2" in log and f"wrote {path}" in log
    expected = build_model(ModelWeights.random(preset("micro"), seed=2), "decode", "qdq")
    assert onnx.load(str(path)).SerializeToString() == expected.SerializeToString()


def test_config_file_export(tmp_path):
    preset("micro", num_hidden_layers=1).to_json(tmp_path / "config.json")
    main(["--config", str(tmp_path / "config.json"), "-q", "-o", str(tmp_path / "m.onnx")])
    model = onnx.load(str(tmp_path / "m.onnx"))
    assert [o.name for o in model.graph.output] == ["logits", "h_0"]


def test_checkpoint_export_with_external_data(tmp_path, micro_weights, capsys):
    pytest.importorskip("safetensors")
    write_checkpoint(tmp_path, micro_weights)
    out = tmp_path / "out.onnx"
    main(["--checkpoint", str(tmp_path), "--external-data", "always", "-q", "-o", str(out)])
    assert capsys.readouterr().err == ""
    assert (tmp_path / "out.onnx.data").stat().st_size > 0
    assert_same_graph(onnx.load(str(out)), build_model(micro_weights, "prefill", "fakequant"))


def test_conflicting_sources_are_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--preset", "tiny", "--config", "c.json", "-o", "x.onnx"])
    assert "not allowed with" in capsys.readouterr().err
