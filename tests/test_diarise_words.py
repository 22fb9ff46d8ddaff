"""Word -> speaker assignment and role evidence (pure Python; no models)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.diarise.assign import SpeakerRegion, assign_words, ends_sentence, sentences
from pipeline.diarise.options import WordAssignOptions
from pipeline.diarise.roles import assign_roles, confidence_from_margin
from pipeline.diarise import load_diarise_options
from pipeline.diarise.turns import Token, tokens_from_transcript
from pipeline.schema import RecordingMetadata, Word
from tests._diarise_support import segment, transcript


def _tokens(*spec: tuple[float, float, str]) -> list[Token]:
    return [Token(word=Word(start_s=s, end_s=e, text=t, probability=0.9), channel=0) for s, e, t in spec]


PLAIN = WordAssignOptions(sentence_vote=False, snap_changes_to_punctuation=False)


@pytest.mark.parametrize(
    "text, ends",
    [("today?", True), ("fine.", True), ("Mr.", False), ("Dr.", False), ("so,", False), ('"right."', True), ("wait!", True)],
)
def test_sentence_ends(text, ends):
    assert ends_sentence(_tokens((0, 1, text))[0]) is ends


def test_each_word_takes_the_speaker_overlapping_it_most():
    tokens = _tokens((0.0, 0.4, "Hello"), (0.5, 0.9, "there."), (1.0, 1.4, "Hi"), (1.45, 1.9, "back."))
    regions = [SpeakerRegion(0.0, 0.95, "A"), SpeakerRegion(0.95, 2.0, "B")]
    labels = [t.label for t in assign_words(tokens, regions, PLAIN)]
    assert labels == ["A", "A", "B", "B"]


def test_a_word_outside_all_regions_takes_the_nearest_then_neighbours():
    tokens = _tokens((0.0, 0.4, "one"), (3.0, 3.2, "two"), (9.0, 9.2, "three"))
    regions = [SpeakerRegion(0.0, 0.5, "A"), SpeakerRegion(3.5, 4.0, "B")]
    labels = [t.label for t in assign_words(tokens, regions, PLAIN)]
    assert labels == ["A", "B", "B"]  # 'two' is 0.3 s from B; 'three' is far from all, follows its neighbour


def test_sentence_vote_fixes_a_blurred_boundary_word():
    # Whisper stretched the last word of A's sentence into B's region.
    tokens = _tokens((0.0, 0.5, "I'll"), (0.5, 1.0, "check"), (1.0, 1.6, "now."), (1.7, 2.0, "Okay."))
    regions = [SpeakerRegion(0.0, 1.2, "A"), SpeakerRegion(1.2, 2.2, "B")]
    plain = [t.label for t in assign_words(tokens, regions, PLAIN)]
    voted = [t.label for t in assign_words(tokens, regions, WordAssignOptions(snap_changes_to_punctuation=False))]
    assert plain == ["A", "A", "B", "B"]
    assert voted == ["A", "A", "A", "B"]


def test_a_true_change_inside_a_balanced_sentence_is_kept_then_snapped():
    tokens = _tokens((0.0, 0.3, "So"), (0.3, 0.6, "that's"), (0.6, 0.9, "done."), (1.0, 1.3, "Yes"),
                     (1.3, 1.6, "thank"), (1.6, 1.9, "you."))
    # A speaks the first sentence; B speaks the second but the region change is one word late.
    regions = [SpeakerRegion(0.0, 1.32, "A"), SpeakerRegion(1.32, 2.0, "B")]
    no_vote = WordAssignOptions(sentence_vote=False, snap_window_words=2)
    labels = [t.label for t in assign_words(tokens, regions, no_vote)]
    assert labels == ["A", "A", "A", "B", "B", "B"]


def test_overlapping_regions_do_not_lose_words():
    tokens = _tokens((0.0, 0.4, "Wait"), (0.4, 0.8, "no."))
    regions = [SpeakerRegion(0.0, 1.0, "A"), SpeakerRegion(0.3, 1.0, "B")]
    out = assign_words(tokens, regions, WordAssignOptions())
    assert all(t.label in ("A", "B") for t in out) and len(out) == 2


def test_no_regions_leaves_words_unlabelled():
    out = assign_words(_tokens((0.0, 0.4, "hello")), [], WordAssignOptions())
    assert out[0].label is None


def test_sentences_split_on_terminal_punctuation():
    tokens = _tokens((0, 1, "Hi."), (1, 2, "Mr."), (2, 3, "Smith"), (3, 4, "here."), (4, 5, "ok"))
    assert sentences(tokens) == [(0, 1), (1, 4), (4, 5)]


def test_segment_without_word_times_is_one_unit():
    seg = segment(0, 1.0, "Hello there").model_copy(update={"words": []})
    tokens = tokens_from_transcript(transcript([seg], 3.0))
    assert len(tokens) == 1 and tokens[0].word.text == "Hello there"


# ------------------------------------------------------------------------------------ roles

ROLES = load_diarise_options().roles


def _speaker(start: float, text: str) -> list[Token]:
    return tokens_from_transcript(transcript([segment(0, start, text)], start + 60))


@pytest.mark.parametrize(
    "agent_text, customer_text",
    [
        ("Good afternoon, thanks for calling Brightline Mobile, how can I help?", "Hi, my phone bill is wrong."),
        ("Calls may be recorded for training. Can I take your date of birth please?", "Sure, it's the fifth of June."),
        ("Bear with me while I check that on the account.", "I've been charged twice this month."),
    ],
)
def test_agent_cues_beat_customer_cues(agent_text, customer_text):
    # The customer speaks first here, so the evidence, not the order, must decide.
    roles = assign_roles({"B": _speaker(0.0, customer_text), "A": _speaker(5.0, agent_text)},
                         RecordingMetadata(), ROLES)
    assert roles.mapping == {"A": "agent", "B": "customer"}
    assert not roles.flagged
    assert roles.confidence > 0.6


def test_no_evidence_is_flagged_not_silently_guessed():
    roles = assign_roles({"A": _speaker(0.0, "Right okay then."), "B": _speaker(3.0, "Yes that is fine.")},
                         RecordingMetadata(), ROLES)
    assert roles.flagged
    assert roles.confidence < 0.7
    assert any("not told apart" in e for e in roles.evidence)


def test_organisation_name_counts_even_when_asr_splits_it():
    roles = assign_roles({"A": _speaker(0.0, "Morning, North Wind Energy."), "B": _speaker(3.0, "Hello.")},
                         RecordingMetadata(organisation="Northwind Energy"), ROLES)
    assert roles.mapping["A"] == "agent"
    assert any("organisation" in e for e in roles.evidence)


def test_outbound_call_first_speaker_is_the_customer():
    tokens = {"A": _speaker(0.0, "Hello?"), "B": _speaker(2.0, "Hello.")}
    inbound = assign_roles(tokens, RecordingMetadata(direction="inbound"), ROLES)
    outbound = assign_roles(tokens, RecordingMetadata(direction="outbound"), ROLES)
    assert inbound.scores["A"] > inbound.scores["B"]
    assert outbound.scores["A"] < outbound.scores["B"]


def test_third_speaker_with_agent_evidence_is_an_agent():
    roles = assign_roles(
        {
            "A": _speaker(0.0, "Thank you for calling, how can I help? Calls are recorded."),
            "B": _speaker(5.0, "I'm calling about my bill, you charged me twice."),
            "C": _speaker(30.0, "Hello, you're through to the complaints team. Can I take your postcode?"),
        },
        RecordingMetadata(), ROLES,
    )
    assert roles.mapping == {"A": "agent", "B": "customer", "C": "agent"}


def test_confidence_grows_with_margin():
    assert confidence_from_margin(0.0, 1.5) == 0.5
    assert confidence_from_margin(1.0, 1.5) < confidence_from_margin(4.0, 1.5) < 1.0


# ------------------------------------------------------------------------------- refinement


def test_refinement_moves_a_lumped_sentence_to_the_voice_it_matches():
    from pipeline.diarise.options import RefineOptions
    from pipeline.diarise.refine import refine_labels, units

    a, b = np.array([1.0, 0.0, 0.1]), np.array([0.0, 1.0, 0.1])
    spec = [  # (start, end, text, pyannote label, true voice)
        (0.0, 2.0, "Hello there, how can I help?", "A", a),
        (2.5, 4.5, "My bill is far too high.", "B", b),
        (5.0, 7.0, "Can I take your postcode please?", "A", a),
        (7.5, 9.5, "It is L S one four A B.", "A", b),   # lumped into A by the segmentation
        (10.0, 12.0, "Thank you, that is all checked.", "A", a),
        (12.5, 14.5, "Okay that sounds fine to me.", "B", b),
    ]
    tokens, voices = [], {}
    for start, end, text, label, voice in spec:
        words = text.split()
        step = (end - start) / len(words)
        for k, w in enumerate(words):
            tokens.append(Token(word=Word(start_s=start + k * step, end_s=start + (k + 1) * step, text=w,
                                          probability=0.9), channel=0, label=label))
        voices[start] = voice

    def embed(spans):
        return np.stack([voices[min(voices, key=lambda s: abs(s - start))] for start, _ in spans])

    assert len(units(tokens)) == 6
    refined, moved = refine_labels(tokens, embed, RefineOptions(min_speaker_s=1.0))
    assert moved == 1
    lumped = [t.label for t in refined if 7.5 <= t.start_s < 9.5]
    assert lumped == ["B"] * len("It is L S one four A B.".split())
    assert all(t.label == "A" for t in refined if 5.0 <= t.start_s < 7.0)
    assert refined[0].label == "A" and refined[-1].label == "B"
    off, moved_off = refine_labels(tokens, embed, RefineOptions(enabled=False))
    assert moved_off == 0 and [t.label for t in off] == [t.label for t in tokens]


def test_refinement_leaves_short_or_unembeddable_stretches_alone():
    from pipeline.diarise.options import RefineOptions
    from pipeline.diarise.refine import refine_labels

    tokens = _tokens((0.0, 0.3, "Yes."), (0.5, 0.8, "No."))
    tokens = [Token(word=t.word, channel=0, label=l) for t, l in zip(tokens, ["A", "B"])]
    refined, moved = refine_labels(tokens, lambda spans: np.full((len(spans), 3), np.nan), RefineOptions())
    assert moved == 0 and [t.label for t in refined] == ["A", "B"]
