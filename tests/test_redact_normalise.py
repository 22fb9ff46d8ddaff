"""Spoken forms -> canonical written form, and the map back to the original characters."""

from __future__ import annotations

import re

import pytest

from pipeline.redact.normalise import canonicalise, normalise_value


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("oh seven seven double oh, nine double oh, four six two", "07700 900 462"),
        ("zero one one three four nine six oh two two eight", "01134960228"),
        ("S W one A one A A", "SW1A1AA"),
        ("B S three, four Q J", "BS3 4QJ"),
        ("the fourteenth of March nineteen eighty-two", "the fourteenth of March 1982"),
        ("the fourteenth of March nineteen eighty two", "the fourteenth of March 1982"),  # "eighty two" is 82, not 802
        ("triple five, double-oh", "555 00"),
        ("M14 6PD", "M14 6PD"),
        ("zero nine, dash, zero one, dash, two nine", "09 01 29"),
        ("j dot smith at example dot co dot uk", "j.smith@example.co.uk"),
        ("it's g marsh sixty-five at example dot org", "it's gmarsh65@example.org"),
        ("written j.smith@example.com stays", "written j.smith@example.com stays"),
        ("I said equally at example .org.", "isaidequally@example.org."),  # a transcriber's " .org"
        # Near misses: a lone "oh" or "one" is a word, not a code; prices stay words.
        ("Oh, hang on, the one on the left", "Oh, hang on, the one on the left"),
        ("two hundred and eighty-four pounds", "2 hundred and 84 pounds"),
        ("I'll meet you at the station", "I'll meet you at the station"),
    ],
)
def test_canonical_form(spoken: str, written: str) -> None:
    assert canonicalise(spoken).text == written


def test_span_maps_back_to_original_characters() -> None:
    text = "Yes, it's oh seven seven double oh, nine double oh, four six two. Thanks."
    c = canonicalise(text)
    start = c.text.index("07700")
    end = c.text.index("462") + 3
    a, b = c.span_to_original(start, end)
    assert text[a:b] == "oh seven seven double oh, nine double oh, four six two"


def test_spoken_email_maps_to_whole_phrase() -> None:
    text = "It's d dot okafor seventy-eight at example dot com."
    c = canonicalise(text)
    start = c.text.index("d.okafor78@example.com")
    a, b = c.span_to_original(start, start + len("d.okafor78@example.com"))
    assert text[a:b] == "d dot okafor seventy-eight at example dot com"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        # A read-back as one machine transcribed it: the name's end heard as "for", "78" as "7T8".
        ("Of course, I've updated that to D .OCA for 7T8 at example .com and is there a number?",
         "D .OCA for 7T8 at example .com"),
        ("So that's j dot smith 4b at example dot co dot uk, yes?", "j dot smith 4b at example dot co dot uk"),
    ],
)
def test_a_garbled_spoken_email_maps_to_its_whole_phrase(text: str, spoken: str) -> None:
    c = canonicalise(text)
    found = re.search(r"[\w.+-]+@[\w.-]+", c.text)
    assert found, c.text
    a, b = c.span_to_original(found.start(), found.end())
    assert text[a:b] == spoken


@pytest.mark.parametrize(
    "text",
    [
        "You can send it to j at example dot com.",  # "to" after a stop word ends the local part
        "I've got an email for sarah at example dot com.",
    ],
)
def test_a_stop_word_before_a_spoken_email_stays_outside_it(text: str) -> None:
    c = canonicalise(text)
    found = re.search(r"[\w.+-]+@[\w.-]+", c.text)
    assert found, c.text
    a, _ = c.span_to_original(found.start(), found.end())
    assert text[:a].rstrip().split()[-1] in {"to", "for"}


@pytest.mark.parametrize(
    ("a", "b", "entity"),
    [
        ("oh seven seven double oh, nine double oh, four six two", "07700 900462", "PHONE_NUMBER"),
        ("S P, four six, eight two, one nine, B", "SP 46 82 19 B", "UK_NINO"),
        ("Mr Okafor", "okafor", "PERSON"),
        ("d dot okafor seventy-eight at example dot com", "D.Okafor78@example.com", "EMAIL_ADDRESS"),
    ],
)
def test_spoken_and_written_values_hash_alike(a: str, b: str, entity: str) -> None:
    assert normalise_value(a, entity) == normalise_value(b, entity)


def test_different_values_differ() -> None:
    assert normalise_value("07700 900462") != normalise_value("07700 900463")
