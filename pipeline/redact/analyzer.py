"""The Presidio analyzer, built once per process: spaCy (offline, hash-checked) + UK recognisers.

Call-level detection over canonical text lives in `pipeline.redact.scan`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from pipeline.config import ModelsOptions
from pipeline.errors import ModelUnavailableError
from pipeline.models import ResolvedModel, resolve_model
from pipeline.redact.options import RedactOptions

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

# Presidio (and through it transformers, spaCy and torch) loads inside the functions below, never
# at import: importing the redaction stage, the CLI or the settings must not take seconds.

__all__ = ["Detection", "load_analyzer", "resolve_spacy_model", "build_registry"]

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Detection:
    """One finding in original-text coordinates (internal; the value never leaves this stage).

    Attributes:
        entity_type: a PII type.
        turn_index: index of the turn.
        start, end: character span in the turn's original text.
        score: Presidio score after context.
        recognizer: recogniser name.
        value: the normalised value (for the HMAC only; never logged or stored).
    """

    entity_type: str
    turn_index: int
    start: int
    end: int
    score: float
    recognizer: str
    value: str


def _import_presidio() -> None:
    # Presidio imports transformers when it is installed, and transformers imports torchaudio:
    # make that import safe beside the CPU build of torch before it happens (see torch_compat).
    # Without torch at all (a text-only install) there is nothing to guard.
    from pipeline.torch_compat import import_torchaudio

    try:
        import_torchaudio()
    except ImportError:
        pass


@lru_cache(maxsize=1)
def _offline_spacy_engine() -> type:
    """SpacyNlpEngine that loads an installed package or a path, never downloads, and leaves out
    the dependency parser (Presidio uses tokens, lemmas and entities only). A factory, because
    the base class is Presidio's and Presidio loads only when an analyzer is built."""
    _import_presidio()
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class _OfflineSpacyNlpEngine(SpacyNlpEngine):
        def load(self) -> None:  # noqa: D102
            import spacy

            self.nlp = {}
            for model in self.models:
                name = model["model_name"]
                if not os.path.isdir(name):
                    raise ModelUnavailableError("spaCy model folder not found", model=name)
                self.nlp[model["lang_code"]] = spacy.load(name, exclude=["parser"])

    return _OfflineSpacyNlpEngine


def resolve_spacy_model(options: RedactOptions, models: ModelsOptions | None = None) -> ResolvedModel:
    """The spaCy model's folder from models/manifest.yaml, hashes checked (no download)."""
    return resolve_model(options.spacy_model, models)


def build_registry(options: RedactOptions) -> RecognizerRegistry:
    """The recognisers callqa uses: spaCy PERSON plus the UK recognisers (no US defaults)."""
    _import_presidio()
    from presidio_analyzer import RecognizerRegistry
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    from pipeline.redact import recognizers as rec

    registry = RecognizerRegistry(supported_languages=["en"])
    account = rec.AccountReferenceRecognizer(
        [(p.name, p.regex, p.score) for p in options.account_patterns],
        context=options.account_context or None,
    )
    for recognizer in (
        SpacyRecognizer(supported_language="en", supported_entities=["PERSON"]),
        rec.PersonContextRecognizer(),
        rec.LowerCaseIntroRecognizer(),
        rec.SpelledNameRecognizer(),
        rec.UkPhoneRecognizer(),
        rec.OfflineEmailRecognizer(),
        rec.MisheardEmailRecognizer(),
        rec.UkPostcodeRecognizer(),
        rec.StreetAddressRecognizer(),
        rec.DateOfBirthRecognizer(),
        rec.CardNumberRecognizer(),
        rec.CardSecurityCodeRecognizer(),
        rec.CardExpiryRecognizer(),
        rec.UkSortCodeRecognizer(),
        rec.UkBankAccountRecognizer(),
        rec.UkNinoRecognizer(),
        rec.UkNhsRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    if options.account_patterns:
        registry.add_recognizer(account)
    return registry


@lru_cache(maxsize=4)
def _cached_analyzer(options_json: str, models_json: str) -> AnalyzerEngine:
    _import_presidio()
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NerModelConfiguration

    from pipeline.redact import recognizers as rec

    options = RedactOptions.model_validate_json(options_json)
    models = ModelsOptions.model_validate_json(models_json)
    ner = NerModelConfiguration(
        model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON"},
        labels_to_ignore=["ORG", "GPE", "LOC", "DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "NORP", "FAC",
                          "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "PERCENT", "QUANTITY"],
        low_score_entity_names=[],
    )
    nlp_engine = _offline_spacy_engine()(
        models=[{"lang_code": "en", "model_name": str(resolve_spacy_model(options, models).path)}],
        ner_model_configuration=ner,
    )
    nlp_engine.load()
    # Presidio's DEBUG lines quote the analysed text's context words: personal data. Pin its
    # loggers at WARNING so that turning on DEBUG for the run never writes a value to a log
    # (its INFO lines only list recognisers, once per load: noise in a nightly log).
    for name in ("presidio-analyzer", "presidio-anonymizer"):
        if logging.getLogger(name).level < logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    rec.offline_extractor()  # build the public-suffix snapshot now, not inside the first call
    return AnalyzerEngine(
        registry=build_registry(options), nlp_engine=nlp_engine, supported_languages=["en"]
    )


def load_analyzer(options: RedactOptions, models: ModelsOptions | None = None) -> AnalyzerEngine:
    """The Presidio AnalyzerEngine for `options`, built once per process (cached).

    Args:
        options: the redaction policy (spaCy model name in the manifest, account patterns).
        models: where the manifest and model store are (default: packaged manifest).

    Returns:
        AnalyzerEngine: spaCy NER (PERSON) plus callqa's UK recognisers; nothing downloads.

    Raises:
        ModelUnavailableError: the spaCy model is not installed or fails its hash check.
    """
    return _cached_analyzer(options.model_dump_json(), (models or ModelsOptions()).model_dump_json())
