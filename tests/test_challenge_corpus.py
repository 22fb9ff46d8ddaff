"""The PII challenge corpus (issue #15): what the generator promises, and one lean end-to-end check
of the redacted audio through `callqa eval`'s re-listen measurement."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.lab.challenge import build_corpus, write_corpus
from pipeline.lab.challenge.build import corpus_values
from pipeline.lab.challenge.phrasings import PHRASINGS
from pipeline.lab.challenge.values import (
    LANDLINES,
    OUTWARD,
    ValueFactory,
    luhn_valid,
    nhs_valid,
    nino_valid,
    say,
)
from pipeline.lab.scripts import load_scripts
from pipeline.schema import PII_TYPES

SEED = 15


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[dict]]:
    return build_corpus(SEED)


@pytest.fixture(scope="module")
def values() -> dict[str, set[tuple[str, str]]]:
    return corpus_values(SEED)


def _labels(scripts: list[dict]) -> list[tuple[str, str]]:
    return [(p["type"], p["text"]) for s in scripts for t in s["turns"] for p in t["pii"]]


def test_at_least_400_distinct_values_said(corpus, values):
    said = set(_labels(corpus["train"] + corpus["test"]))
    assert len(said) >= 400
    drawn = values["train"] | values["test"]
    agents = {s["agent_name"] for h in corpus.values() for s in h}
    assert len(drawn) + len(agents) >= 400


@pytest.mark.parametrize("half", ["train", "test"])
def test_each_half_covers_every_entity_type(corpus, half):
    assert {t for t, _ in _labels(corpus[half])} == set(PII_TYPES)


@pytest.mark.parametrize("half", ["train", "test"])
def test_calls_carry_many_values_and_look_like_service_calls(corpus, half):
    for script in corpus[half]:
        n = sum(len(t["pii"]) for t in script["turns"])
        assert 8 <= n <= 20, script["call_id"]
        kinds = {k for t in script["turns"] for k in t["labels"]}
        assert {"call.greeting", "call.idv", "call.closing"} <= kinds


def test_at_least_60_distinct_phrasings_in_use(corpus):
    assert len({p.id for p in PHRASINGS}) == len(PHRASINGS) >= 60
    used = Counter(p for h in corpus.values() for s in h for p in s["expected"]["phrasings"])
    assert len(used) >= 60
    for half in corpus.values():  # both halves get a wide spread, not a few favourites
        assert len({p for s in half for p in s["expected"]["phrasings"]}) >= 50


def test_halves_are_disjoint_in_values_and_agents(corpus, values):
    assert not values["train"] & values["test"]
    assert not {s["agent_name"] for s in corpus["train"]} & {s["agent_name"] for s in corpus["test"]}
    assert not {s["call_id"] for s in corpus["train"]} & {s["call_id"] for s in corpus["test"]}


def test_deterministic_per_seed():
    assert build_corpus(SEED, 20) == build_corpus(SEED, 20)
    assert build_corpus(SEED, 20) != build_corpus(SEED + 1, 20)


def test_drawn_values_are_valid(values):
    drawn = values["train"] | values["test"]
    by_type: dict[str, list[str]] = {}
    for entity_type, canonical in drawn:
        by_type.setdefault(entity_type, []).append(canonical)
    assert all(luhn_valid(c) for c in by_type["CREDIT_CARD"])
    assert all(nhs_valid(c) for c in by_type["UK_NHS"])
    assert all(nino_valid(c) for c in by_type["UK_NINO"])
    assert all(re.fullmatch(r"\d{8}", c) for c in by_type["UK_BANK_ACCOUNT"])
    assert all(re.fullmatch(r"\d{6}", c) for c in by_type["UK_SORT_CODE"])
    assert all(re.fullmatch(r"\d{3,4}", c) for c in by_type["CARD_SECURITY_CODE"])
    drama = ["07700 900"] + [f"{area} {local}" for area, local, _ in LANDLINES]
    assert all(any(c.startswith(p) for p in drama) for c in by_type["PHONE_NUMBER"])
    for c in by_type["UK_POSTCODE"]:
        outward, inward = c.split(" ")
        assert outward in OUTWARD and re.fullmatch(r"\d[ABD-HJLNP-UW-Z]{2}", inward)
    assert all(re.fullmatch(r"[a-z0-9._-]+@[a-z.]+\.[a-z]+", c) for c in by_type["EMAIL_ADDRESS"])
    assert any("-" in c.split("@")[0] for c in by_type["EMAIL_ADDRESS"])
    assert any("." in c.split("@")[0] for c in by_type["EMAIL_ADDRESS"])


def test_card_numbers_span_schemes_and_lengths():
    factory = ValueFactory(random.Random(7))
    cards = [factory.make("CREDIT_CARD") for _ in range(200)]
    assert all(luhn_valid(c.canonical) for c in cards)
    assert {len(c.canonical) for c in cards} >= {13, 15, 16, 19}
    assert {c.parts["scheme"] for c in cards} >= {"visa", "mastercard", "amex", "maestro"}
    phones = [factory.make("PHONE_NUMBER") for _ in range(60)]
    assert any(say(p).startswith("plus four four") for p in phones if p.parts["plus44"])
    assert any(not p.parts["plus44"] for p in phones)


@pytest.mark.parametrize("number, ok", [
    ("4111111111111111", True), ("4111111111111112", False), ("378282246310005", True), ("5555555555554444", True),
])
def test_luhn_table(number, ok):
    assert luhn_valid(number) is ok


@pytest.mark.parametrize("number, ok", [("9434765919", True), ("9434765918", False), ("943476591", False)])
def test_nhs_table(number, ok):
    assert nhs_valid(number) is ok


@pytest.mark.parametrize("nino, ok", [("AB123456C", True), ("QQ123456C", False), ("GB123456A", False),
                                      ("AO123456A", False), ("AB123456E", False)])
def test_nino_table(nino, ok):
    assert nino_valid(nino) is ok


def test_spoken_forms_are_words():
    factory = ValueFactory(random.Random(3))
    account = factory.make("UK_BANK_ACCOUNT")
    assert not re.search(r"\d", say(account, "pairs") + say(account, "doubles"))
    postcode = factory.make("UK_POSTCODE")
    assert " for " in say(postcode, "nato")


def test_written_scripts_load_with_labels_verbatim_and_no_value_in_file_names(tmp_path):
    written = write_corpus(tmp_path, seed=SEED, calls=20)
    for half, files in written.items():
        scripts = load_scripts(tmp_path / half)  # the validator checks each label is in its turn's text
        assert len(scripts) == len(files) == 10
        labels = {p.text.lower() for s in scripts for t in s.turns for p in t.pii}
        for path in files:
            assert re.fullmatch(rf"challenge-{half}-\d{{3}}\.yaml", path.name)
            assert not any(label in path.name.lower() for label in labels if len(label) > 3)
        for s in scripts:
            for t in s.turns:
                for p in t.pii:
                    assert p.text in t.text


def test_cli_writes_both_halves(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli.app import app

    result = CliRunner().invoke(app, ["challenge", "make", str(tmp_path / "c"), "--calls", "20", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "c" / "train").glob("*.yaml"))) == 10
    assert len(list((tmp_path / "c" / "test").glob("*.yaml"))) == 10


# ------------------------------------------------------------------------------------ slow

_PAYMENT = {"CREDIT_CARD", "CARD_SECURITY_CODE", "CARD_EXPIRY", "UK_SORT_CODE", "UK_BANK_ACCOUNT"}


def _payment_excerpt(script: dict) -> dict | None:
    """Every exchange of a generated call that carries payment data (the agent turn before it
    included): a short call, so the end-to-end check stays lean."""
    turns = script["turns"]
    keep: set[int] = set()
    for i, t in enumerate(turns):
        if any(p["type"] in _PAYMENT for p in t["pii"]):
            keep |= {i - 1, i} if i > 0 else {i}
    if len(keep) < 3:
        return None
    picked = [dict(turns[i], hold_s=min(turns[i].get("hold_s", 0), 2.0)) for i in sorted(keep)]
    for t in picked:
        t.pop("overlap_s", None)
    return dict(script, turns=picked)


@pytest.fixture(scope="module")
def payment_calls(tmp_path_factory) -> Path:
    """Two generated calls cut to their payment exchanges (about 70 s of audio in all)."""
    import yaml

    root = tmp_path_factory.mktemp("challenge")
    corpus = build_corpus(seed=101, calls=20)["train"]
    excerpts = [e for e in (_payment_excerpt(s) for s in corpus) if e is not None][:2]
    scripts = root / "scripts"
    scripts.mkdir()
    for e in excerpts:
        (scripts / f"{e['call_id']}.yaml").write_text(yaml.safe_dump(e, sort_keys=False), encoding="utf-8")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["stereo", "mono"])
def test_no_payment_data_audible_in_redacted_challenge_audio(payment_calls, layout):
    """Generated payment exchanges at 8 kHz with line noise, through the real pipeline; the
    redacted audio re-listened by a second model (`callqa eval`'s measurement).

    Issue #15: fails on the pre-change policy; passes once the payment-data policy lands.
    """
    from pipeline.lab.evaluate import evaluate_scripts
    from pipeline.run import Models
    from pipeline.settings import load_settings

    settings = load_settings(None)
    # One work folder for both layouts: the second reuses the synthesised clips.
    report = evaluate_scripts(payment_calls / "scripts", settings, layout=layout, work_dir=payment_calls / "work",
                              noise_dbfs=-48, models=Models(settings, allow_dev_key=True), relisten_model="base")
    red = report.to_json()["redaction"]
    assert red["payment_audible"]["labelled"] >= 6
    assert red["payment_audible"]["audible"] == 0, red["payment_audible"]
    assert red["relisten"]["recall"] >= 0.9
