from pathlib import Path

import pytest

from pipeline.config import PipelineConfig, config_hash, load_config
from pipeline.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


def test_defaults_load_and_validate():
    config = load_config()
    assert isinstance(config, PipelineConfig)
    assert config.transcribe.model == "tiny.en"
    assert config.ingest.min_duration_s == 1.0


def test_site_file_overrides_only_what_it_names(tmp_path):
    config = load_config(write(tmp_path, "transcribe:\n  beam_size: 2\n  vad_parameters:\n    threshold: 0.3\n"))
    assert config.transcribe.beam_size == 2
    assert config.transcribe.vad_parameters.threshold == 0.3
    # untouched siblings keep their defaults
    assert config.transcribe.vad_parameters.min_silence_duration_ms == load_config().transcribe.vad_parameters.min_silence_duration_ms
    assert config_hash(config) != config_hash(load_config())


def test_unknown_key_names_file_key_and_allowed(tmp_path):
    path = write(tmp_path, "transcribe:\n  beam_sise: 3\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    message = str(e.value)
    assert str(path) in message
    assert "transcribe.beam_sise" in message
    assert "beam_size" in message  # the allowed keys are listed


def test_bad_value_names_allowed_values(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "transcribe:\n  device: tpu\n"))
    assert "transcribe.device" in str(e.value)
    assert "'cuda'" in str(e.value)


def test_bad_value_is_not_echoed(tmp_path):
    # A config is hostile input: the message says what is wrong, not what was there.
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "ingest:\n  min_duration_s: secret-value-1234\n"))
    assert "secret-value-1234" not in str(e.value)
    assert "ingest.min_duration_s" in str(e.value)


@pytest.mark.parametrize("text", ["transcribe: [1, 2\n", "- just\n- a list\n"])
def test_not_yaml_or_not_a_mapping(tmp_path, text):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    assert "site.yaml" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
