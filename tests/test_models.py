import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.config import ModelsOptions
from pipeline.errors import ModelUnavailableError
from pipeline.models import load_manifest, model_status, resolve_model


def test_manifest_lists_source_licence_and_hashes():
    manifest = load_manifest()
    tiny = manifest.get("tiny.en")
    assert tiny.licence == "MIT"
    assert set(tiny.files) >= {"model.bin", "config.json"}
    for entry in manifest.models:
        assert entry.licence and entry.source


def test_embedded_default_resolves_and_verifies():
    resolved = resolve_model("tiny.en")
    assert resolved.verified
    assert (resolved.path / "model.bin").is_file()
    assert resolved.ref.name == "tiny.en" and len(resolved.ref.sha256) == 64


def test_unknown_model_lists_known_ones():
    with pytest.raises(ModelUnavailableError, match="known models: .*tiny.en"):
        resolve_model("huge-v9")


def test_hub_model_is_never_downloaded_by_a_run(tmp_path):
    with pytest.raises(ModelUnavailableError, match="callqa models pull"):
        resolve_model("distil-large-v3", ModelsOptions(store_dir=str(tmp_path)))
    assert not any(tmp_path.iterdir())  # nothing fetched, nothing created


def _site_manifest(tmp_path: Path, folder: Path, files: dict[str, str]) -> ModelsOptions:
    manifest = {"models": [{"name": "local-tiny", "kind": "whisper", "version": "x", "licence": "MIT",
                            "source": {"type": "local", "path": str(folder)}, "files": files}]}
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return ModelsOptions(manifest=str(path), store_dir=str(tmp_path / "store"))


def test_local_model_hash_mismatch_is_caught(tmp_path):
    src = resolve_model("tiny.en").path
    copy = tmp_path / "tiny"
    copy.mkdir()
    shutil.copy(src / "config.json", copy / "config.json")
    digest = hashlib.sha256((copy / "config.json").read_bytes()).hexdigest()
    options = _site_manifest(tmp_path, copy, {"config.json": digest})
    assert resolve_model("local-tiny", options).verified
    with open(copy / "config.json", "a") as f:
        f.write(" ")  # one byte changed
    with pytest.raises(ModelUnavailableError, match="does not match its sha256"):
        resolve_model("local-tiny", options)


def test_missing_file_is_named(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    options = _site_manifest(tmp_path, folder, {"model.bin": "0" * 64})
    with pytest.raises(ModelUnavailableError, match="'model.bin' is missing"):
        resolve_model("local-tiny", options)


def test_base_is_assembled_from_its_two_wheels(tmp_path):
    options = ModelsOptions(store_dir=str(tmp_path))
    resolved = resolve_model("base", options)
    assert resolved.verified
    assert resolved.path == tmp_path / "base"
    # a damaged assembly is detected and rebuilt from the parts
    with open(resolved.path / "model.bin", "r+b") as f:
        f.write(b"\0\0\0\0")
    assert resolve_model("base", options).verified


def test_models_list_reports_each_model():
    rows = {r["name"]: r for r in model_status()}
    assert rows["tiny.en"]["status"] == "verified"
    assert rows["distil-large-v3"]["status"] == "unavailable"
