"""The detect stage's models: spaCy (lemmas, parse), a sentence-embedding model and a sentiment
lexicon, loaded once.

`load_detect_models(options)` is the cached factory. It also compiles every lexicon's spaCy
Matcher patterns and embeds every exemplar phrase once, so `detect()` only embeds the call's own
sentences.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.offline import hub_offline
from pipeline.detect.options import DetectOptions, Lexicon
from pipeline.errors import ConfigError, ModelUnavailableError
from pipeline.schema import ModelRef
from pipeline.torch_compat import import_torchaudio

# spaCy, sentence-transformers and torch load inside the loaders below, never at import: the
# stage, the CLI and the settings import this module and must start at once.

__all__ = ["DetectModels", "LexiconIndex", "load_detect_models", "compile_pattern", "CUE", "QUESTION_CUE", "BLOCK"]

log = logging.getLogger(__name__)


# Roles of a lexicon pattern: a cue, a cue that counts only in a question, a veto.
CUE, QUESTION_CUE, BLOCK = "cue", "question_cue", "block"


@dataclass(frozen=True)
class LexiconIndex:
    """One lexicon's exemplar embeddings (its patterns live in the models' one shared matcher)."""

    exemplars: np.ndarray  # (n_exemplars, dim) float32, L2-normalised; (0, dim) when none
    counter_exemplars: np.ndarray  # (n_counter, dim) float32, L2-normalised


@dataclass(frozen=True)
class DetectModels:
    """What detect() needs besides its options."""

    nlp: Any  # spacy.Language
    encoder: Any  # sentence_transformers.SentenceTransformer
    lexicons: dict[str, LexiconIndex]
    refs: list[ModelRef] = field(default_factory=list)
    batch_size: int = 64
    matcher: Any = None  # one spacy Matcher over every lexicon's patterns: one pass per turn
    match_keys: dict[int, tuple[str, str]] = field(default_factory=dict)  # match id -> (lexicon, role)
    sentiment: Any = None  # vaderSentiment SentimentIntensityAnalyzer, or None when switched off
    detector: Any = None  # learned.DetectorModel, or None: the lexicon rules decide

    def valence(self, text: str) -> float:
        """Compound sentiment of `text` in [-1, 1] (0.0 when no sentiment lexicon is loaded)."""
        if self.sentiment is None:
            return 0.0
        return float(self.sentiment.polarity_scores(text)["compound"])

    def match(self, doc: Any) -> list[tuple[str, str, int, int]]:
        """Every lexicon pattern found in `doc`, as (lexicon, role, start token, end token)."""
        if self.matcher is None:
            return []
        return [(*self.match_keys[key], start, end) for key, start, end in self.matcher(doc)]

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 embeddings, shape (len(texts), dim)."""
        if not texts:
            get_dim = getattr(self.encoder, "get_embedding_dimension", None) or self.encoder.get_sentence_embedding_dimension
            dim = get_dim()
            return np.zeros((0, dim), dtype=np.float32)
        vectors = self.encoder.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def _resolve(name: str) -> tuple[Path, ModelRef]:
    from pipeline.models import resolve_model

    resolved = resolve_model(name)
    return resolved.path, resolved.ref


@lru_cache(maxsize=4)
def _load_spacy(name: str) -> tuple[Any, ModelRef]:
    # spaCy and sentence-transformers reach transformers, which imports torchaudio: make that
    # import safe beside the CPU build of torch first (see torch_compat).
    import_torchaudio()
    import spacy

    path, ref = _resolve(name)
    try:
        return spacy.load(path), ref
    except (OSError, ValueError) as e:
        raise ModelUnavailableError(f"spaCy cannot load {path}: {type(e).__name__}", model=name) from e


@lru_cache(maxsize=4)
def _load_encoder(name: str, threads: int) -> tuple[Any, ModelRef]:
    import_torchaudio()
    import torch

    torch.set_num_threads(threads)
    path, ref = _resolve(name)
    with hub_offline():
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(str(path), device="cpu", local_files_only=True), ref
        except (OSError, ValueError) as e:
            raise ModelUnavailableError(f"sentence-transformers cannot load {path}: {type(e).__name__}", model=name) from e


@lru_cache(maxsize=2)
def _load_sentiment(name: str) -> tuple[Any, ModelRef]:
    # The lexicon files are read from the manifest's verified folder, not from wherever the
    # package happens to look, so a tampered or missing lexicon fails the hash check.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    path, ref = _resolve(name)
    try:
        analyser = SentimentIntensityAnalyzer(
            lexicon_file=str(path / "vader_lexicon.txt"), emoji_lexicon=str(path / "emoji_utf8_lexicon.txt")
        )
    except (OSError, ValueError, IndexError) as e:
        raise ModelUnavailableError(f"the VADER lexicon in {path} cannot be read: {type(e).__name__}", model=name) from e
    return analyser, ref


@lru_cache(maxsize=4)
def _load_detector(name: str | None, file: str | None, sha256: str | None) -> tuple[Any, ModelRef | None]:
    from pipeline.detect.learned import load_detector
    from pipeline.models import sha256_file

    if file is not None:
        path = Path(file)
        model = load_detector(path, sha256)
        return model, ModelRef(name=path.name, version=f"site detector, seed {model.seed}", sha256=sha256_file(path))
    if name is None:
        return None, None
    folder, ref = _resolve(name)  # the manifest's hash of detector.json is checked here
    return load_detector(folder / "detector.json"), ref


def compile_pattern(spec: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A spaCy Matcher token pattern from the compact lexicon syntax (or a raw pattern as is).

    Compact syntax, tokens separated by spaces:
      `sorry|apologise`  lemma is one of these (case-insensitive)
      `=calls|call`      lower-cased text is one of these
      `*`                any one token, optional (`**` = up to two, and so on)
      a trailing `?`     makes the token optional; `{POS}` (e.g. `{PRON}`) matches a part of speech

    Raises:
        ConfigError: the pattern is empty.
    """
    if isinstance(spec, list):
        return spec
    pattern: list[dict[str, Any]] = []
    for raw in spec.split():
        if set(raw) == {"*"}:
            pattern.extend({"OP": "?"} for _ in raw)
            continue
        optional = raw.endswith("?") and len(raw) > 1
        token = raw[:-1] if optional else raw
        if token.startswith("{") and token.endswith("}"):
            entry: dict[str, Any] = {"POS": token[1:-1]}
        elif token.startswith("="):
            words = token[1:].lower().split("|")
            entry = {"LOWER": {"IN": words}}
        else:
            words = token.lower().split("|")
            # spaCy keeps some lemmas capitalised ("I"); match both spellings.
            entry = {"LEMMA": {"IN": sorted({*words, *(w.capitalize() for w in words), *(w.upper() for w in words)})}}
        if optional:
            entry["OP"] = "?"
        pattern.append(entry)
    if not pattern:
        raise ConfigError("empty cue pattern in a lexicon")
    return pattern


def _surface_variant(pattern: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    # Lemmas of adjectives and participles vary ("annoying" -> "annoying", "annoyed" -> "annoy"):
    # a compact pattern also matches its words as written.
    if not any("LEMMA" in tok for tok in pattern):
        return None
    variant = []
    for tok in pattern:
        tok = dict(tok)
        if "LEMMA" in tok:
            words = sorted({w.lower() for w in tok.pop("LEMMA")["IN"]})
            tok["LOWER"] = {"IN": words}
        variant.append(tok)
    return variant


def _matcher(nlp: Any, lexicons: dict[str, Lexicon]) -> tuple[Any, dict[int, tuple[str, str]]]:
    # One Matcher for all lexicons: a turn is scanned once, not once per lexicon and role.
    from spacy.matcher import Matcher

    matcher = Matcher(nlp.vocab)
    keys: dict[int, tuple[str, str]] = {}
    for name, lexicon in lexicons.items():
        for role, specs in ((CUE, lexicon.cues), (QUESTION_CUE, lexicon.question_cues), (BLOCK, lexicon.blocks)):
            for i, spec in enumerate(specs):
                pattern = compile_pattern(spec)
                variant = _surface_variant(pattern) if isinstance(spec, str) else None
                key = f"{name}/{role}#{i}"
                try:
                    matcher.add(key, [pattern, variant] if variant else [pattern])
                except (ValueError, KeyError) as e:
                    raise ConfigError(f"{role} pattern {i} is not a valid spaCy Matcher pattern", key=f"lexicons.{name}") from e
                keys[nlp.vocab.strings[key]] = (name, role)
    return (matcher if keys else None), keys


def _indexes(encode: Any, lexicons: dict[str, Lexicon]) -> dict[str, LexiconIndex]:
    # Every exemplar of every lexicon in one encode call, then split back per lexicon.
    texts: list[str] = []
    bounds: dict[str, tuple[int, int, int]] = {}
    for name, lexicon in lexicons.items():
        start = len(texts)
        texts += lexicon.exemplars
        middle = len(texts)
        texts += lexicon.counter_exemplars
        bounds[name] = (start, middle, len(texts))
    vectors = encode(texts)
    return {name: LexiconIndex(exemplars=vectors[a:b], counter_exemplars=vectors[b:c]) for name, (a, b, c) in bounds.items()}


@lru_cache(maxsize=4)
def _load_cached(options_json: str) -> DetectModels:
    options = DetectOptions.model_validate_json(options_json)
    nlp, spacy_ref = _load_spacy(options.models.spacy)
    encoder, encoder_ref = _load_encoder(options.models.sentence_embedding, options.models.torch_threads)
    bare = DetectModels(nlp=nlp, encoder=encoder, lexicons={}, batch_size=options.models.batch_size)
    lexicons = _indexes(bare.embed, options.lexicons)
    matcher, match_keys = _matcher(nlp, options.lexicons)
    refs = [spacy_ref, encoder_ref]
    sentiment = None
    if options.models.sentiment is not None:
        sentiment, sentiment_ref = _load_sentiment(options.models.sentiment)
        refs.append(sentiment_ref)
    detector, detector_ref = _load_detector(options.models.detector, options.models.detector_file,
                                            options.models.detector_sha256)
    if detector_ref is not None:
        refs.append(detector_ref)
    log.info("detect models ready: %d lexicons, %s", len(lexicons), "learned detectors" if detector else "rules only")
    return DetectModels(
        nlp=nlp, encoder=encoder, lexicons=lexicons, refs=refs, batch_size=options.models.batch_size,
        matcher=matcher, match_keys=match_keys, sentiment=sentiment, detector=detector,
    )


def load_detect_models(options: DetectOptions) -> DetectModels:
    """Load (once per process and options) the spaCy pipeline, the encoder and the lexicon indexes.

    Args:
        options: the detect options; models are named in `options.models` (manifest names).

    Returns:
        The ready models. Calls with equal options return the same object.

    Raises:
        ModelUnavailableError: a model is not installed or fails its hash check.
        ConfigError: a lexicon pattern is invalid.
    """
    return _load_cached(json.dumps(options.model_dump(mode="json"), sort_keys=True))
