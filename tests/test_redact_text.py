"""redact_text: redacted turns keep order, count and word times; findings point at the original
text; HMACs, policies and the residual re-scan; no value ever reaches a log line."""

from __future__ import annotations

import logging

import pytest

from pipeline.errors import ConfigError
from pipeline.redact.keys import KEY_ENV, hmac_value, redaction_key
from pipeline.redact.normalise import normalise_value
from pipeline.redact.text import _residual, redact_text
from pipeline.schema import Turn
from tests._redact_support import KEY, analyzer, options, timed_turn

CALL = [
    (0, "agent", "Good morning, Kestrel Water, Priya speaking. How can I help?"),
    (1, "customer", "Hi, my number is oh seven seven double oh, nine double oh, three three one and I have a question."),
    (2, "agent", "Thanks. And your date of birth?"),
    (3, "customer", "The second of May, nineteen seventy."),
]


def _turns(timed: bool = True) -> list[Turn]:
    if timed:
        return [timed_turn(i, s, t, start=i * 10.0) for i, s, t in CALL]
    return [Turn(index=i, speaker=s, start_s=None, end_s=None, text=t) for i, s, t in CALL]


def test_turns_keep_count_order_and_remaining_word_times() -> None:
    turns = _turns()
    out = redact_text(turns, options(), analyzer(), KEY)
    assert [t.index for t in out.turns] == [t.index for t in turns]
    assert out.turns[1].text == "Hi, my number is <PHONE_NUMBER> and I have a question."
    assert out.turns[3].text == "<DATE_OF_BIRTH>."
    words = out.turns[1].words
    assert [w.text for w in words] == ["Hi,", "my", "number", "is", "<PHONE_NUMBER>", "and", "I", "have", "a", "question."]
    original = turns[1].words
    assert words[0] == original[0] and words[-1] == original[-1]  # untouched words keep their times
    placeholder = words[4]
    assert placeholder.start_s == original[4].start_s  # "oh" ...
    assert placeholder.end_s == original[14].end_s  # ... "one"


def test_findings_point_at_original_text_and_carry_times_and_hmac() -> None:
    turns = _turns()
    out = redact_text(turns, options(), analyzer(), KEY)
    by_type = {f.entity_type: f for f in out.findings}
    phone = by_type["PHONE_NUMBER"]
    assert turns[1].text[phone.char_start:phone.char_end] == "oh seven seven double oh, nine double oh, three three one"
    words = turns[1].words  # the span covers its words and reaches into the gaps beside them
    assert words[3].end_s <= phone.start_s <= words[4].start_s
    assert words[14].end_s <= phone.end_s <= words[15].start_s
    assert phone.value_hmac == hmac_value(KEY, normalise_value("07700 900331"))
    assert by_type["PERSON"].turn_index == 0  # the agent's own name is personal data too
    assert not out.flagged and out.residual == []


def test_transcript_input_without_words_has_no_times() -> None:
    out = redact_text(_turns(timed=False), options(), analyzer(), KEY)
    assert out.findings and all(f.start_s is None and f.end_s is None for f in out.findings)
    assert all(t.words == [] for t in out.turns)


def test_keep_agent_names_policy() -> None:
    opts = options(keep_agent_names=True)
    out = redact_text(_turns(timed=False), opts, analyzer(opts), KEY)
    assert "Priya speaking" in out.turns[0].text
    assert not any("Priya" in CALL[f.turn_index][2][f.char_start:f.char_end] for f in out.findings)


def test_operator_per_entity_type() -> None:
    opts = options(operators={"PHONE_NUMBER": {"type": "mask", "masking_char": "#"},
                              "DATE_OF_BIRTH": {"type": "replace", "new_value": "[DOB]"}})
    out = redact_text(_turns(timed=False), opts, analyzer(opts), KEY)
    assert "oh seven" not in out.turns[1].text and "#####" in out.turns[1].text
    assert out.turns[3].text == "[DOB]."
    assert out.operators[[f.entity_type for f in out.findings].index("PHONE_NUMBER")] == "mask"


def test_residual_check_finds_unredacted_pii() -> None:
    """The re-scan is an independent pass: given text that still holds a value, it reports it."""
    leaked = [Turn(index=0, speaker="customer", start_s=None, end_s=None, text="My card is 4111 1111 1111 1111.")]
    residual = _residual(leaked, options(), analyzer())
    assert [r.entity_type for r in residual] == ["CREDIT_CARD"]


def test_no_value_in_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    redact_text(_turns(), options(), analyzer(), KEY)
    text = caplog.text.lower()
    for value in ("priya", "oh seven", "07700", "seventy", "1970", "second of may"):
        assert value not in text


def test_key_required_unless_development_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=KEY_ENV):
        redaction_key()
    assert redaction_key(allow_dev=True)
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ConfigError) as err:
        redaction_key()
    assert "short" not in str(err.value)
    monkeypatch.setenv(KEY_ENV, "a-long-enough-secret-key")
    assert redaction_key() == b"a-long-enough-secret-key"


def test_bad_policy_names_file_and_key(tmp_path) -> None:
    from pipeline.redact.options import load_redact_options

    path = tmp_path / "site.yaml"
    path.write_text("audio: {mode: beep}\n")
    with pytest.raises(ConfigError) as err:
        load_redact_options(path)
    assert "audio.mode" in str(err.value) and str(path) in str(err.value)


def test_keep_words_stop_the_organisation_being_taken_for_a_person() -> None:
    # The greeting names the organisation: found in the call, kept without any keep words
    # (the small NER model calls "Kestrel Water" a person).
    turns = _turns(timed=False)
    plain = redact_text(turns, options(), analyzer(), KEY)
    assert "Kestrel Water" in plain.turns[0].text and "Priya" not in plain.turns[0].text
    # One word with no company word could be a name: only the keep words (the sidecar's) keep it.
    short = [Turn(index=0, speaker="agent", start_s=None, end_s=None, text="Good morning, Kestrel, Priya speaking.")]
    assert "Kestrel" not in redact_text(short, options(), analyzer(), KEY).turns[0].text
    kept = redact_text(short, options(), analyzer(), KEY, keep_words=("Kestrel",))
    assert "Kestrel" in kept.turns[0].text and "Priya" not in kept.turns[0].text


def test_context_reaches_back_over_split_segments() -> None:
    """A transcriber may cut the agent's question and the answer into several segments."""
    from tests._redact_support import spans_of

    texts = ["Can I take your date of birth", "please?", "Yes.", "It's the fifth of May,", "nineteen eighty."]
    speakers = ["agent", "agent", "customer", "customer", "customer"]
    assert spans_of(texts[:4], "DATE_OF_BIRTH", speakers=speakers[:4]) == ["the fifth of May"]


def test_times_reach_into_the_gaps_beside_zero_length_words() -> None:
    """Whisper gives some words no duration; the span must still cover where they were said."""
    from pipeline.schema import Word

    words = [Word(start_s=10.0, end_s=10.4, text="Thanks,", probability=0.9),
             Word(start_s=12.5, end_s=12.5, text="Robert", probability=0.9),  # zero length
             Word(start_s=12.5, end_s=13.0, text="Fenwick.", probability=0.9),
             Word(start_s=13.1, end_s=13.4, text="Right.", probability=0.9)]
    turn = Turn(index=0, speaker="agent", start_s=10.0, end_s=13.4, text="Thanks, Robert Fenwick. Right.", words=words)
    out = redact_text([turn], options(), analyzer(), KEY)
    person = next(f for f in out.findings if f.entity_type == "PERSON")
    assert person.start_s == 11.5  # 1 s back into the silence before a zero-length word
    assert person.end_s == 13.1  # up to the next word


def _scripted_rescan(monkeypatch: pytest.MonkeyPatch, hits_by_call: list[list]) -> list[list[Turn]]:
    """Make the re-scan report `hits_by_call[k]` on its k-th call (then nothing); returns the
    redacted turns it was given, to check what each pass saw."""
    import pipeline.redact.text as text_module

    seen: list[list[Turn]] = []

    def fake(turns, options, analyzer, keep_words=()):
        seen.append(list(turns))
        return hits_by_call[len(seen) - 1] if len(seen) <= len(hits_by_call) else []

    monkeypatch.setattr(text_module, "_residual", fake)
    return seen


def _hit(turns: list[Turn], turn: int, word: str, score: float, pass_text: str | None = None):
    from pipeline.redact.text import ResidualFinding

    text = pass_text if pass_text is not None else turns[turn].text
    start = text.index(word)
    return ResidualFinding(entity_type="PERSON", turn_index=turn, char_start=start, char_end=start + len(word),
                           recognizer="Fake", score=score)


@pytest.mark.parametrize(("score", "below"), [(0.55, True), (0.9, False)])
def test_every_residual_hit_is_redacted_with_a_time(monkeypatch: pytest.MonkeyPatch, score: float, below: bool) -> None:
    turns = _turns()
    first = redact_text(turns, options(), analyzer(), KEY)  # the first pass, to place the hit after a placeholder
    hit = _hit(first.turns, 1, "question", score)
    _scripted_rescan(monkeypatch, [[hit]])
    out = redact_text(turns, options(), analyzer(), KEY)
    assert "question" not in out.turns[1].text and "<PHONE_NUMBER>" in out.turns[1].text
    assert "question" not in " ".join(w.text for w in out.turns[1].words)
    finding = next(f for f in out.findings if f.recognizer == "residual:Fake")
    assert turns[1].text[finding.char_start:finding.char_end] == "question"  # original-text coordinates
    assert finding.start_s is not None and finding.end_s is not None  # so the audio is muted too
    assert out.residual == [hit]
    assert (out.below_threshold == [hit]) is below
    assert out.flagged is not below  # a hit at or above residual_threshold flags the call; one below is reviewed


def test_a_hit_that_stays_after_every_pass_flags_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    turns = _turns()
    first = redact_text(turns, options(), analyzer(), KEY)
    # A re-scan that keeps reporting something (positions outside any word): the call is flagged.
    stuck = _hit(first.turns, 1, "Hi", 0.3)
    _scripted_rescan(monkeypatch, [[stuck]] * 10)
    out = redact_text(turns, options(), analyzer(), KEY)
    assert out.flagged and any("still finds" in r for r in out.reasons)


def test_below_threshold_hits_are_written_for_review(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from pipeline.redact.audit import append_call, read_log

    turns = _turns()
    first = redact_text(turns, options(), analyzer(), KEY)
    _scripted_rescan(monkeypatch, [[_hit(first.turns, 1, "question", 0.4)]])
    out = redact_text(turns, options(), analyzer(), KEY)
    path = tmp_path / "audit.jsonl"
    append_call(path, "call-1", out)
    reviews = [r for r in read_log(path) if r.kind == "review"]
    assert [(r.entity_type, r.turn_index, r.score, r.recognizer) for r in reviews] == [("PERSON", 1, 0.4, "Fake")]
    assert any(r.kind == "finding" and r.recognizer == "residual:Fake" for r in read_log(path))
    from pipeline.redact.audit import report

    assert [(r["call_id"], r["entity_type"], r["score"]) for r in report(path).review] == [("call-1", "PERSON", 0.4)]


def test_residual_positions_map_back_past_placeholders() -> None:
    from pipeline.redact.analyzer import Detection
    from pipeline.redact.text import ResidualFinding, _to_original

    original = "Call 07700 900331 or ask for Dana Smith."
    found = [Detection("PHONE_NUMBER", 0, 5, 17, 0.9, "x", "07700900331")]
    redacted = "Call <PHONE_NUMBER> or ask for Dana Smith."
    at = redacted.index("Dana Smith")
    hit = ResidualFinding(entity_type="PERSON", turn_index=0, char_start=at, char_end=at + 10, recognizer="r", score=0.5)
    d = _to_original(hit, original, found, options())
    assert original[d.start:d.end] == "Dana Smith"


@pytest.mark.parametrize("mono", [True, False])
def test_a_findings_reach_at_a_turn_edge_stops_at_the_words_of_the_turn_before_on_its_channel(mono: bool) -> None:
    from pipeline.schema import Word

    ask = Turn(index=0, speaker="agent", start_s=9.0, end_s=10.0, text="Your surname?", channel=None if mono else 0,
               words=[Word(start_s=9.0, end_s=9.5, text="Your", probability=0.9),
                      Word(start_s=9.5, end_s=10.0, text="surname?", probability=0.9)])
    name = Turn(index=1, speaker="customer", start_s=10.1, end_s=10.6, text="Fenwick.", channel=None if mono else 1,
                words=[Word(start_s=10.1, end_s=10.6, text="Fenwick.", probability=0.9)])
    out = redact_text([ask, name], options(), analyzer(), KEY)
    person = next(f for f in out.findings if f.entity_type == "PERSON" and f.char_end > f.char_start)  # not the reply's gap
    # mono: the agent's word ends at 10.0, so the name reaches back to 10.0, not 9.8 (its 0.3 s reach);
    # stereo: the agent's words are on the other channel (crosstalk is coverage's business): the full reach
    assert person.start_s == pytest.approx(10.0 if mono else 9.8)
    assert person.end_s == pytest.approx(10.9)


def test_the_organisations_name_as_the_transcriber_heard_it_in_the_opening_is_no_person() -> None:
    # "Fenland Power" heard as "Finland's power", "Bluewake" as "Blue": close to the sidecar's words, in the agent's opening
    for heard, org in (("Finland's power", "Fenland Power"), ("Blue", "Bluewake Ferries")):
        opening = f"Good morning, you're through to {heard}. Bethan speaking. Calls are recorded."
        turns = [Turn(index=0, speaker="agent", start_s=None, end_s=None, text=opening)]
        out = redact_text(turns, options(), analyzer(), KEY, keep_words=(org,)).turns[0].text
        assert heard.split()[0] in out and "Bethan" not in out
    # ... never later in the call, where a name like the organisation's is a person's
    later = [Turn(index=0, speaker="agent", start_s=None, end_s=None, text="Good morning, Fenland Power, how can I help?"),
             Turn(index=1, speaker="customer", start_s=None, end_s=None, text="Hi, it's about my account."),
             Turn(index=2, speaker="agent", start_s=None, end_s=None, text="Who am I speaking to?"),
             Turn(index=3, speaker="customer", start_s=None, end_s=None, text="It's Mr Finlan Powell.")]
    out = redact_text(later, options(), analyzer(), KEY, keep_words=("Fenland Power",)).turns[3].text
    assert "Finlan" not in out and "Powell" not in out
    # ... nor a short name that merely starts an organisation word
    sam = [Turn(index=0, speaker="agent", start_s=None, end_s=None, text="Hello, it's Sam from Samsung Mobile. How can I help?")]
    assert "Sam " not in redact_text(sam, options(), analyzer(), KEY, keep_words=("Samsung Mobile",)).turns[0].text
