"""The model manifest: find a model by name, assemble it if it ships in parts, verify its hashes.

Nothing here downloads anything, except `pull()`, which only `callqa models pull` calls.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from pipeline.config import ModelsOptions, read_yaml, validate_model
from pipeline.errors import ModelUnavailableError
from pipeline.schema import ModelRef

__all__ = [
    "ManifestEntry",
    "Manifest",
    "ResolvedModel",
    "load_manifest",
    "resolve_model",
    "model_status",
    "pull",
    "store_dir",
]

log = logging.getLogger(__name__)

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PackageSource(_Entry):
    type: Literal["package"]
    package: str = Field(description="Import name of the package that ships the files.")
    path: str = Field(".", description="Folder inside the package.")


class AssembledSource(_Entry):
    type: Literal["assembled"]
    packages: list[str] = Field(min_length=1, description="Import names searched, in order, for each part.")
    concat: dict[str, list[str]] = Field(default_factory=dict, description="Output file -> parts, in order.")
    copy_files: list[str] = Field(default_factory=list, alias="copy", description="Files copied as they are.")


class LocalSource(_Entry):
    type: Literal["local"]
    path: str = Field(description="Absolute, or relative to the model store.")


class HubSource(_Entry):
    type: Literal["hub"]
    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    revision: str | None = None


Source = Annotated[Union[PackageSource, AssembledSource, LocalSource, HubSource], Field(discriminator="type")]


class ManifestEntry(_Entry):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: str
    version: str
    licence: str
    source: Source
    files: dict[str, Sha256] = Field(default_factory=dict, description="File -> sha256 of what is loaded.")
    parts: dict[str, Sha256] = Field(default_factory=dict, description="Part -> sha256, for assembled models.")
    install: str | None = Field(None, description="How a user makes the model available.")
    notes: str | None = None


class Manifest(_Entry):
    models: list[ManifestEntry]

    def get(self, name: str) -> ManifestEntry:
        for entry in self.models:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.models)
        raise ModelUnavailableError(f"not in the manifest; known models: {known}", model=name)


class ResolvedModel(BaseModel):
    """A model found on disk with its hashes verified."""

    model_config = ConfigDict(frozen=True)

    entry: ManifestEntry
    path: Path = Field(description="Folder holding the model's files.")
    verified: bool = Field(description="False when the manifest lists no hashes for it (hub models).")

    @property
    def ref(self) -> ModelRef:
        digest = hashlib.sha256("".join(f"{k}:{v}" for k, v in sorted(self.entry.files.items())).encode())
        return ModelRef(name=self.entry.name, version=self.entry.version, sha256=digest.hexdigest())


def _manifest_path(options: ModelsOptions) -> Path:
    if options.manifest:
        return Path(options.manifest)
    import importlib.resources

    return Path(str(importlib.resources.files("pipeline._models"))) / "manifest.yaml"


def load_manifest(options: ModelsOptions | None = None) -> Manifest:
    path = _manifest_path(options or ModelsOptions())
    return validate_model(Manifest, read_yaml(path), file=str(path))


def store_dir(options: ModelsOptions | None = None) -> Path:
    """Where assembled and pulled models live (git-ignored)."""
    options = options or ModelsOptions()
    if options.store_dir:
        return Path(options.store_dir)
    if env := os.environ.get("CALLQA_MODEL_STORE"):
        return Path(env)
    return _manifest_path(options).parent / "store"


def sha256_uncached(path: Path) -> str:
    """SHA-256 of a file, read afresh every time (for small files that may change in place)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _sha256_file(path: str, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime so a model file is hashed once per process unless it changes.
    return sha256_uncached(Path(path))


def sha256_file(path: Path) -> str:
    stat = path.stat()
    return _sha256_file(str(path), stat.st_size, stat.st_mtime_ns)


def _verify(entry: ManifestEntry, folder: Path) -> bool:
    if not entry.files:
        return False
    for name, expected in entry.files.items():
        file = folder / name
        if not file.is_file():
            raise ModelUnavailableError(f"file '{name}' is missing from {folder}", model=entry.name)
        if sha256_file(file) != expected:
            raise ModelUnavailableError(
                f"file '{name}' in {folder} does not match its sha256 in the manifest; the copy is corrupt or"
                " not the model the manifest names: reinstall it (or delete it from the model store)",
                model=entry.name,
            )
    return True


def _package_dir(import_name: str, entry: ManifestEntry) -> Path:
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        how = f"; install it with: {entry.install}" if entry.install else ""
        raise ModelUnavailableError(f"package '{import_name}' is not installed{how}", model=entry.name)
    return Path(next(iter(spec.submodule_search_locations)))


def _find_part(entry: ManifestEntry, packages: list[str], rel: str) -> Path:
    for package in packages:
        candidate = _package_dir(package, entry) / rel
        if candidate.is_file():
            return candidate
    raise ModelUnavailableError(f"part '{rel}' not found in packages {packages}", model=entry.name)


def _assemble(entry: ManifestEntry, source: AssembledSource, target: Path) -> None:
    """Build the model folder from its parts, atomically (a crash leaves no half model)."""
    for rel, expected in entry.parts.items():
        if sha256_file(_find_part(entry, source.packages, rel)) != expected:
            raise ModelUnavailableError(f"part '{rel}' does not match its sha256 in the manifest", model=entry.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=target.parent))
    try:
        for out_name, parts in source.concat.items():
            with open(tmp / out_name, "wb") as out:
                for rel in parts:
                    with open(_find_part(entry, source.packages, rel), "rb") as part:
                        shutil.copyfileobj(part, out, 1 << 20)
        for rel in source.copy_files:
            shutil.copyfile(_find_part(entry, source.packages, rel), tmp / Path(rel).name)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("assembled model %s into %s", entry.name, target)


def resolve_model(name: str, options: ModelsOptions | None = None) -> ResolvedModel:
    """Find model `name` on disk, assembling it first if needed, and verify its hashes.

    Raises:
        ModelUnavailableError: unknown name, not installed, not pulled, or a hash mismatch.
    """
    options = options or ModelsOptions()
    entry = load_manifest(options).get(name)
    source = entry.source
    if isinstance(source, PackageSource):
        folder = _package_dir(source.package, entry) / source.path
    elif isinstance(source, AssembledSource):
        folder = store_dir(options) / entry.name
        try:
            ok = options.verify_hashes and _verify(entry, folder)
        except ModelUnavailableError:
            ok = False
        if not folder.is_dir() or not ok:
            _assemble(entry, source, folder)
    elif isinstance(source, LocalSource):
        folder = Path(source.path) if Path(source.path).is_absolute() else store_dir(options) / source.path
    else:  # hub: usable once pulled into the store
        folder = store_dir(options) / entry.name
        if not folder.is_dir():
            raise ModelUnavailableError(
                f"not available offline; run `callqa models pull {name}` on a machine with internet, or copy"
                f" the model folder to {folder}",
                model=name,
            )
    if not folder.is_dir():
        raise ModelUnavailableError(f"folder {folder} does not exist", model=name)
    verified = _verify(entry, folder) if options.verify_hashes else False
    if not verified:
        log.warning("model %s: no hashes verified (none listed in the manifest, or verification is off)", name)
    return ResolvedModel(entry=entry, path=folder, verified=verified)


def model_status(options: ModelsOptions | None = None) -> list[dict[str, str]]:
    """One row per manifest model: name, kind, licence, where it is and whether it verifies."""
    rows = []
    for entry in load_manifest(options).models:
        try:
            resolved = resolve_model(entry.name, options)
            status, where = ("verified" if resolved.verified else "unverified"), str(resolved.path)
        except ModelUnavailableError as e:
            status, where = "unavailable", str(e).split(": ", 1)[-1]
        rows.append({"name": entry.name, "kind": entry.kind, "licence": entry.licence, "status": status, "where": where})
    return rows


def pull(name: str, options: ModelsOptions | None = None) -> ResolvedModel:
    """Download a hub model into the store. Needs internet; nothing calls this by default."""
    options = options or ModelsOptions()
    entry = load_manifest(options).get(name)
    if not isinstance(entry.source, HubSource):
        raise ModelUnavailableError("is not a hub model; nothing to pull", model=name)
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:  # pragma: no cover - faster-whisper depends on it
        raise ModelUnavailableError("huggingface_hub is not installed", model=name) from e
    target = store_dir(options) / entry.name
    snapshot_download(entry.source.repo, revision=entry.source.revision, local_dir=str(target))
    return resolve_model(name, options)
