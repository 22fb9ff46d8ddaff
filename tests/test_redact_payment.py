"""Payment data and spoken codes (pipeline/redact/runs.py, payment.py; issue #15): runs of digits
and spelled letters however they are said or transcribed, the payment window after a request,
the agent's read-back - and what must stay (amounts, times, dates the agent offers, quantities).

Every case is a controlled input: the policy is asserted, never one transcription."""

from __future__ import annotations

import re

import pytest

from pipeline.redact.options import load_redact_options
from pipeline.redact.payment import excluded, payment_findings, request_types
from pipeline.redact.runs import find_runs
from pipeline.redact.scan import detect_call
from tests._redact_support import analyzer, found, options, timed_turn

_RUNS = load_redact_options().code_runs


def _covered(texts: list[str], speakers: list[str], opts=None) -> list[list[tuple[int, int]]]:
    """Per turn, the redacted (start, end) spans of the full policy."""
    opts = opts or options()
    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    for d in detect_call(texts, speakers, analyzer(opts), opts):
        out[d.turn_index].append((d.start, d.end))
    return out


def _all_redacted(text: str, value: str, spans: list[tuple[int, int]]) -> bool:
    at = text.index(value)
    return all(any(a <= k < b for a, b in spans) for k in range(at, at + len(value)) if text[k].isalnum())


def _none_redacted(text: str, value: str, spans: list[tuple[int, int]]) -> bool:
    at = text.index(value)
    return not any(a < at + len(value) and at < b for a, b in spans)


# ------------------------------------------------------------------------------------------ runs

@pytest.mark.parametrize(("text", "value", "code"), [
    ("555-55, 4-double, 4-4", "555-55, 4-double, 4-4", "555554444"),
    ("It's four five - sorry, four six, seven seven.", "four five - sorry, four six, seven seven", "454677"),
    ("oh seven seven double oh, nine double oh, three three one", "oh seven seven double oh, nine double oh, three three one", "07700900331"),
    ("Twenty, forty-five, sixty-two.", "Twenty, forty-five, sixty-two", "204562"),
    ("Four one, double seven, three two, double zero.", "Four one, double seven, three two, double zero", "41773200"),
    ("nought six treble four", "nought six treble four", "06444"),
    ("Plus 4. Double 7. Double low. 9. Double low.", "Plus 4. Double 7. Double low. 9. Double low", "47700900"),
    ("X -X -2 -6 -what", "X -X -2 -6", "XX26"),
    ("It's S for Sierra, W for whisky, one, A for alpha, one, A, A.", "S for Sierra, W for whisky, one, A for alpha, one, A, A", "SW1A1AA"),
    ("Sierra Alpha four five six two.", "Sierra Alpha four five six two", "SA4562"),
    ("Two, W for Whiskey, X for X -ray.", "Two, W for Whiskey, X for X -ray", "2WX"),
    ("FL 7723 0918", "FL 7723 0918", "FL77230918"),
])
def test_a_run_is_found_however_it_is_said(text: str, value: str, code: str) -> None:
    runs = find_runs(text, _RUNS)
    assert [(text[r.start:r.end], r.code) for r in runs if len(r) >= 3] == [(value, code)]


@pytest.mark.parametrize("text", [
    "A 2 year deal, oh right.",          # "A" opening a sentence and a lone "oh" are words
    "Victor said he would ring.",         # one phonetic-alphabet word is a name
    "I'll have the one on the left.",
])
def test_words_that_look_like_units_alone_are_no_run(text: str) -> None:
    assert all(r.weak or len(r) < 2 for r in find_runs(text, _RUNS))


@pytest.mark.parametrize(("before", "text", "value"), [
    ("Hello.", "I paid £45.50 last week.", "45.50"),
    ("Hello.", "It was forty five pounds fifty.", "forty five"),
    ("Hello.", "The bill came to 1,250 last quarter.", "1,250"),
    ("Hello.", "Can you ring me back at ten forty five?", "ten forty five"),
    ("Hello.", "Any time after 4 o'clock.", "4"),
    ("Hello.", "It takes two or three days, they said.", "two or three"),
    ("Hello.", "We've used 1500 kilowatt hours this year.", "1500"),
    ("Hello.", "I've been with you since 2019.", "2019"),
    ("We can come Tuesday the 14th of March 2025, is that ok?", "Yes 2025 is fine.", "2025"),
    ("What would you like to order?", "I ordered 2 boxes of 12 and 3 of 6.", "2 boxes of 12"),
])
def test_amounts_times_dates_and_quantities_stay(before: str, text: str, value: str) -> None:
    spans = _covered([before, text], ["agent", "customer"])
    assert _none_redacted(text, value, spans[1])
    if "14th" in before:
        assert _none_redacted(before, "14th of March 2025", spans[0])  # the date the agent offers


def test_exclusions_are_for_digits_only() -> None:
    text = "It's 2019 AB"  # letters make it a code, whatever comes before
    run = find_runs(text, _RUNS)[0]
    assert run.code == "2019AB" and not excluded(text, run, _RUNS)


@pytest.mark.parametrize(("texts", "values"), [
    # volunteered, no request: a run of four or more digits in the customer's speech
    (["Right, what can I do?", "My old one was four five five six, one two three four, if that helps."],
     [(1, "four five five six, one two three four")]),
    # read across two turns with the agent's "Yep." between
    (["Right.", "five five five five, four four", "Yep.", "four four, nine nine nine nine"],
     [(1, "five five five five, four four"), (3, "four four, nine nine nine nine")]),
    # split into short parts that are each too short alone
    (["Okay.", "It's four seven", "Mm-hm.", "two nine."], [(1, "four seven"), (3, "two nine")]),
    # a postcode spelled across two turns, the transcriber's hyphens kept
    (["Right.", "X -X -2 -6 -what", "Sorry?", "Y -Z -X -X -2 -6 -Y -Z."], [(1, "X -X -2 -6"), (3, "Y -Z -X -X -2 -6 -Y -Z")]),
])
def test_customer_runs_are_redacted(texts: list[str], values: list[tuple[int, str]]) -> None:
    speakers = ["agent" if i % 2 == 0 else "customer" for i in range(len(texts))]
    spans = _covered(texts, speakers)
    for turn, value in values:
        assert _all_redacted(texts[turn], value, spans[turn]), (turn, value)


def test_the_agent_read_back_is_redacted_but_not_the_agents_own_short_numbers() -> None:
    texts = ["Go on.", "Four five five six, one two three four.", "So that's 4556 1234, and your order was 12 items?"]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[2], "4556 1234", spans[2])
    assert _none_redacted(texts[2], "12 items", spans[2])


def test_an_agents_read_back_of_letters_and_digits_is_redacted_however_short() -> None:
    texts = ["Can I take your national insurance number?", "18, 2719,", "GP27, yep,", "69 -A,"]
    got = found(texts, None, speakers=["agent", "customer", "agent", "customer"])
    assert any(i == 2 and "GP27" in s for i, _, s in got)
    assert not any(i == 1 for i, _, _ in found(["Hi.", "That's thirty-four ninety-nine a month."], None,
                                                speakers=["customer", "agent"]))


def test_a_three_digit_read_back_of_a_security_code_is_redacted() -> None:
    texts = ["And the three digits on the back?", "Yeah, one six two.", "So that's one six two, is that right?"]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[1], "one six two", spans[1])
    assert _all_redacted(texts[2], "one six two", spans[2])


@pytest.mark.parametrize("text", [
    "Surname's I for India, V for Victor, A for Alpha, N for November.",
    "surnames I for India. Be for Victor, upper alpha, and for November. Oh, for Oscar.",  # a transcriber's
])
def test_every_phonetic_word_of_a_spelling_is_redacted(text: str) -> None:
    spans = _covered(["And the name on the account?", text], ["agent", "customer"])[1]
    for word in ("India", "Victor", "November"):
        assert _all_redacted(text, word, spans), word


# ------------------------------------------------------------------------------- payment window

def _window_turns(texts: list[str], speakers: list[str], opts=None) -> set[int]:
    opts = opts or options()
    return {d.turn_index for d in payment_findings(texts, speakers, opts) if d.recognizer == "payment_window"}


@pytest.mark.parametrize("request_text", [
    "Can I take the long number on the card?",
    "Could I take the car number, please?",                  # a transcriber's "card"
    "And the sortcode?",                                      # run together
    "When you're ready, the numbers on the front.",
    "I can take that payment now. Whenever you're ready with the card.",
    "I can take that payment now. Whenever you're ready with a card.",  # the cue in a statement of intent
    "I'll take the card details now.",
])
def test_payment_cues_are_matched_fuzzily(request_text: str) -> None:
    assert request_types(request_text, options().payment_window)


@pytest.mark.parametrize("text", [
    "Have you got a car?",
    "Your card has been sent out.",
    "I'll need to run through security. Could I have your customer number, please?",
])
def test_other_turns_ask_for_no_payment_data(text: str) -> None:
    assert request_types(text, options().payment_window) == []


@pytest.mark.parametrize("span", ["turn", "from_value"])
def test_the_answer_is_muted_across_turns_interjections_and_a_hold(span: str) -> None:
    texts = [
        "Can I take the long number on the card?",
        "Yeah, hang on, let me find my purse.",
        "No rush, take your time.",
        "Right, it's four five, er, five six.",
        "Mm-hm.",
        "Then the rest, one two, three four.",
        "And the rest?",
        "Oh, that's it, sorry, seven one.",
        "Lovely, that's gone through, and you'll get a confirmation by e-mail later today.",
        "Great, thanks for your help.",
    ]
    speakers = ["agent", "customer"] * 5
    opts = options(payment_window={"span": span})
    # from_value keeps a reply that is all aside, with no digit nor a word that sounds like one.
    assert _window_turns(texts, speakers, opts) == ({1, 3, 5, 7} if span == "turn" else {3, 5, 7})
    spans = _covered(texts, speakers, opts)
    for turn, value in ((3, "four five, er, five six"), (5, "one two, three four"), (7, "seven one")):
        assert _all_redacted(texts[turn], value, spans[turn])
    if span == "turn":
        assert _all_redacted(texts[1], "hang on, let me find my purse", spans[1])
    else:
        assert spans[1] == []
    assert spans[9] == []  # the exchange has ended


def test_a_garbled_request_answered_with_digits_opens_a_window() -> None:
    texts = ["Jolly good, and what's on the front of the plastic?", "555-55, 4-double, 4-4", "Go on.", "1-2-3-4."]
    assert _window_turns(texts, ["agent", "customer", "agent", "customer"]) == {1, 3}


def test_a_clause_after_the_card_number_that_may_be_the_security_code_garbled_is_muted_too() -> None:
    texts = ["I can take that payment now.", "Okay, 4149 2783 8076 2, and agree with the that could hold for over.",
             "Fifteen pounds, and the fare difference is nothing on that date."]
    spans = _covered(texts, ["agent", "customer", "agent"])[1]
    assert _all_redacted(texts[1], "agree with the that could hold for over", spans)
    for reply, kept in (("Okay, 4149 2783 8076 2, sorry, the dog is going mad here.", "the dog is going mad here"),
                        ("Okay, 4149 2783 8076 2. I need to change my address too.", "I need to change my address too"),
                        # run on from the digits with no mark: "to" here is talk, not a digit heard as a word
                        ("4149 2783 8076 2 I need to change my address. I've just moved.", "I need to change my address")):
        aside = ["I can take that payment now.", reply, "Fifteen pounds, and the fare difference is nothing on that date."]
        assert _none_redacted(reply, kept, _covered(aside, ["agent", "customer", "agent"])[1])


def test_a_request_answered_with_a_card_length_run_opens_a_window_whatever_else_the_answer_says() -> None:
    texts = ["Whenever you're ready.", "Okay, one number is for 149, Q7, 8, 3, 8, 0, 7, 16, and agree with the that "
             "could hold for over.", "Fifteen pounds, and the fare difference is nothing on that date."]
    assert _window_turns(texts, ["agent", "customer", "agent"]) == {1}
    short = ["Whenever you're ready.", "Okay, the booking was for 1490 and I waited with the kids for over an hour.",
             "Right, let me look at that booking for you."]
    assert _window_turns(short, ["agent", "customer", "agent"]) == set()


def test_two_phone_numbers_in_reply_to_a_question_open_no_payment_window() -> None:
    texts = ["Have you got a daytime number and an evening one?",
             "Daytime's oh one one four, four nine six, oh oh seven one, and evenings best on plus four four, double "
             "seven double oh, nine double oh, four eight six.", "What's the postcode there?", "It's D D one, seven X G."]
    speakers = ["agent", "customer", "agent", "customer"]
    assert _window_turns(texts, speakers) == set()
    assert _none_redacted(texts[1], "and evenings best on", _covered(texts, speakers)[1])


def test_a_phone_number_volunteered_after_how_can_i_help_opens_no_window() -> None:
    texts = ["Good morning, Kestrel Water. How can I help?",
             "Hi, my number is oh seven seven double oh, nine double oh, three three one and I have a question."]
    assert _window_turns(texts, ["agent", "customer"]) == set()
    spans = _covered(texts, ["agent", "customer"])[1]
    assert _none_redacted(texts[1], "and I have a question", spans)


def test_a_request_for_something_else_ends_the_window() -> None:
    texts = ["Can I take the card number?", "Four five five six, one two three four, five six seven eight, nine nine.",
             "And your email, please?", "It's on the letter, jo dot bloggs at example dot com."]
    speakers = ["agent", "customer", "agent", "customer"]
    assert _window_turns(texts, speakers) == {1}
    found = {d.recognizer for d in payment_findings(texts, speakers, options()) if d.turn_index == 3}
    assert found == {"email_window"}


def test_an_email_spelled_over_two_turns_is_redacted_whole() -> None:
    texts = ["And your email, please?", "nkechi dot kazlauskas at...", "Okay, and the rest?", "hotmail dot co dot uk."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer"])
    assert _all_redacted(texts[1], "nkechi dot kazlauskas", spans[1])
    assert _all_redacted(texts[3], "hotmail dot co dot uk", spans[3])


@pytest.mark.parametrize("reply", [
    "farahkaur, all one word, at sky dot com.",
    "john hyphen smith underscore 88 at gmail dot com.",
    "k doyle eighty-six at example dot co dot uk. But the mould is the real problem.",
])
def test_an_email_reply_is_redacted_and_what_follows_it_stays(reply: str) -> None:
    spans = _covered(["Can I take an email address?", reply], ["agent", "customer"])[1]
    value = reply.split(".")[0] if "mould" not in reply else "k doyle eighty-six at example dot co dot uk"
    assert _all_redacted(reply, value.rstrip("."), spans)
    if "mould" in reply:
        assert _none_redacted(reply, "the mould is the real problem", spans)


def test_windows_follow_the_policy_switches() -> None:
    texts = ["Can I take the long number on the card?", "Sure, one moment."]
    assert _window_turns(texts, ["agent", "customer"]) == {1}
    assert _window_turns(texts, ["agent", "customer"], options(payment_window={"enabled": False})) == set()


def test_an_agents_postcode_read_back_is_redacted_even_when_the_customers_was_garbled() -> None:
    texts = ["What's the postcode there?", "keel, EC to wait.", "EC2 -A, yes."]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[2], "EC2 -A", spans[2])


def test_an_emails_local_part_said_before_an_aside_is_redacted() -> None:
    texts = ["End your email, please.", "Link was 477. Sorry, the dog's going mad. That's guy .com."]
    spans = _covered(texts, ["agent", "customer"])
    assert _all_redacted(texts[1], "Link was 477", spans[1]) and _all_redacted(texts[1], "guy .com", spans[1])


@pytest.mark.parametrize(("reply", "value", "aside"), [
    ("Fairfax Gerald at Yagu Dot. Sorry. The dog's going mad. Co .uk.", "Yagu Dot", "The dog's going mad"),
    ("jay 477, sorry, the dog's going mad. That's guy .com.", "jay 477", "the dog's going mad"),
])
def test_a_whole_sentence_aside_inside_an_email_reply_stays(reply: str, value: str, aside: str) -> None:
    spans = _covered(["And your email, please?", reply], ["agent", "customer"])[1]
    assert _all_redacted(reply, value, spans) and _none_redacted(reply, aside, spans)


@pytest.mark.parametrize(("reply", "local"), [
    ("mary ann smith jones .co .uk.", "mary ann smith jones"),  # plain words before a domain: no aside
    ("jane, smith, jones, williams, at gmail dot com.", "jane, smith, jones, williams"),  # no full sentence
])
def test_an_emails_plain_word_local_part_is_never_an_aside(reply: str, local: str) -> None:
    spans = _covered(["And your email, please?", reply], ["agent", "customer"])[1]
    assert _all_redacted(reply, local, spans)


def test_a_digit_heard_as_a_word_before_the_run_is_muted_too() -> None:
    texts = ["Can I take the long number on the card?", "Yes. For five five six, one two three four."]
    spans = _covered(texts, ["agent", "customer"])
    assert _all_redacted(texts[1], "For five five six", spans[1])


def test_a_cue_written_in_digits_asks_too() -> None:
    assert request_types("Then the 3 digit code on the signature strip.", options().payment_window) == ["CARD_SECURITY_CODE"]


@pytest.mark.parametrize(("text", "value", "redacted"), [
    ("I can refund thirty-four ninety-nine back onto your card.", "thirty-four ninety-nine", False),  # a price
    ("The engineer comes at ten forty.", "ten forty", False),                                        # a time
    ("OK, 0, 9, 27, then the 3 digit code.", "0, 9, 27", True),  # a mono transcript gives the agent the customer's digits
])
def test_the_agents_own_runs(text: str, value: str, redacted: bool) -> None:
    spans = _covered(["Right.", text], ["customer", "agent"])[1]
    assert (_all_redacted(text, value, spans) if redacted else _none_redacted(text, value, spans))


# ------------------------------------------------------------------------------ unknown speakers

@pytest.mark.parametrize(("texts", "muted"), [
    # No turn identified: a request still opens a window over the turns after it.
    (["Can I take the long number on the card?", "Yes, it's four five five six, seven seven.", "And the expiry?"], {1}),
    (["Could I have the sort code?", "Er, it's forty, twelve, thirty-four."], {1}),
])
def test_a_request_by_an_unknown_speaker_opens_a_window(texts: list[str], muted: set[int]) -> None:
    assert _window_turns(texts, ["unknown"] * len(texts)) >= muted


@pytest.mark.parametrize("texts", [
    ["How has your week been?", "Busy, I had 3 visits from the engineer."],  # no request: no window
    ["Can I take the long number on the card?",
     "Actually before that I wanted to ask about the engineer who never turned up last week at all.",
     "He said he would come back on the Monday but nobody came."],  # long speech with no digit ends it
])
def test_unknown_speakers_without_a_payment_answer_keep_their_words(texts: list[str]) -> None:
    assert not _window_turns(texts, ["unknown"] * len(texts)) & {len(texts) - 1}


# -------------------------------------------------------------------------------- exchange in time

def _timed_turns(texts: list[str], speakers: list[str], times: list[tuple[float, float]], channels=None):
    from pipeline.schema import Turn

    channels = channels or [0 if s == "agent" else 1 for s in speakers]
    return [Turn(index=k, speaker=s, text=t, start_s=a, end_s=b, channel=c, words=[])
            for k, (t, s, (a, b), c) in enumerate(zip(texts, speakers, times, channels))]


def test_the_customers_time_is_muted_for_the_whole_exchange_whatever_was_transcribed() -> None:
    from pipeline.redact.payment import payment_gaps

    # The transcriber turned the customer's digits into a sentence about something else.
    texts = ["Can I take the long number on the card, please?", "For five, I think the weather is nice.",
             "Mm-hm.", "Then I went to the shop.", "Lovely, and that's all gone through for you today, thank you."]
    speakers = ["agent", "customer", "agent", "customer", "agent"]
    turns = _timed_turns(texts, speakers, [(0.0, 2.0), (2.5, 6.0), (6.2, 6.5), (6.8, 9.0), (9.4, 13.0)])
    gaps = payment_gaps(turns, options())
    assert [(g.request, g.entity_type, g.start_s, g.end_s) for g in gaps] == [(0, "CREDIT_CARD", 2.0, 9.4)]


def test_digits_diarised_to_the_agent_do_not_end_the_exchange() -> None:
    from pipeline.redact.payment import payment_gaps

    texts = ["And the sort code?", "Yes.", "Twenty, forty-five, sixty-two.", "Thank you, that is all noted on the system now."]
    speakers = ["agent", "customer", "agent", "agent"]
    turns = _timed_turns(texts, speakers, [(0.0, 1.0), (1.3, 1.6), (1.8, 4.0), (4.5, 6.0)], channels=[0, 0, 0, 0])
    assert [(g.start_s, g.end_s) for g in payment_gaps(turns, options())] == [(1.0, 4.5)]


def test_an_exchange_is_muted_at_most_max_window_s_and_not_at_all_when_switched_off() -> None:
    from pipeline.redact.payment import payment_gaps

    texts = ["What's the card number?", "Four five five six.", "Great, and your e-mail for the receipt please?"]
    speakers = ["agent", "customer", "agent"]
    turns = _timed_turns(texts, speakers, [(0.0, 1.5), (2.0, 80.0), (81.0, 83.0)])
    assert [(g.start_s, g.end_s) for g in payment_gaps(turns, options())] == [(1.5, 61.5)]
    assert payment_gaps(turns, options(payment_window={"mute_exchange": False})) == []


def _worded_turn(k: int, speaker: str, text: str, start: float, channel: int | None, word_s: float = 0.3):
    from pipeline.schema import Turn, Word

    words = [Word(start_s=round(start + n * word_s, 3), end_s=round(start + (n + 1) * word_s, 3), text=w, probability=0.9)
             for n, w in enumerate(text.split())]
    return Turn(index=k, speaker=speaker, text=text, start_s=start, end_s=words[-1].end_s, channel=channel, words=words)


@pytest.mark.parametrize("mono", [False, True])
def test_the_exchange_muted_in_time_leaves_out_the_asides_the_text_keeps_and_nothing_else(mono: bool) -> None:
    from pipeline.redact import redact_text, redaction_key

    aside = "sorry, the dog is going mad, hang on,"
    reply = f"Four five five six, {aside} seven seven one two, eight eight four four."
    turns = [_worded_turn(0, "agent", "Can I take the long number on the card, please?", 0.0, None if mono else 0),
             _worded_turn(1, "customer", reply, 3.0, None if mono else 1),
             _worded_turn(2, "agent", "Lovely, and that's all gone through for you today, thank you.", 10.0,
                          None if mono else 0)]
    words = turns[1].words
    first = len("Four five five six,".split())
    aside_words = words[first:first + len(aside.split())]
    text = redact_text(turns, options(), analyzer(), redaction_key(True))
    gaps = [(f.start_s, f.end_s) for f in text.findings if f.recognizer == "payment_gap"]
    assert len(gaps) == 2  # before and after the aside
    a, b = aside_words[0].start_s, aside_words[-1].end_s
    assert not any(s < b and a < e for s, e in gaps)
    # every digit's time is still muted by the exchange
    for w in words[:first] + words[first + len(aside_words):]:
        assert any(s <= w.start_s and w.end_s <= e for s, e in gaps), w.text
    off = redact_text(turns, options(payment_window={"gap_keeps_asides": False}), analyzer(), redaction_key(True))
    assert len([f for f in off.findings if f.recognizer == "payment_gap"]) == 1


@pytest.mark.parametrize("mono", [False, True])
def test_a_confirmation_of_a_read_back_stays_audible_in_the_exchange(mono: bool) -> None:
    from pipeline.redact import redact_text, redaction_key

    ch = (lambda c: None) if mono else (lambda c: c)  # noqa: E731
    texts = ["Can I take the long number on the card, please?", "Four five five six, seven seven one two.",
             "So that's four five five six, seven seven one two. Is that right?", "That's it, yeah.",
             "And the expiry date?", "Oh nine twenty eight.", "Thank you, that's all gone through for you."]
    speakers = ["agent", "customer"] * 3 + ["agent"]
    turns, t = [], 0.0
    for k, (text, speaker) in enumerate(zip(texts, speakers)):
        turns.append(_worded_turn(k, speaker, text, t, ch(0 if speaker == "agent" else 1)))
        t = turns[-1].end_s + 0.4

    def gaps(opts):
        out = redact_text(turns, opts, analyzer(), redaction_key(True))
        return [(f.start_s, f.end_s) for f in out.findings if f.recognizer == "payment_gap"]

    yes = turns[3].words
    assert not any(s < yes[-1].end_s and yes[0].start_s < e for s, e in gaps(options()))
    # the digits around it stay muted, and without the words listed the confirmation is muted with them
    assert any(s <= turns[1].words[0].start_s and turns[1].words[-1].end_s <= e for s, e in gaps(options()))
    off = options(payment_window={"confirmation_words": []})
    assert any(s <= yes[0].start_s and yes[-1].end_s <= e for s, e in gaps(off))


def test_a_stretched_word_of_an_aside_stays_muted_in_the_exchange() -> None:
    from pipeline.redact import redact_text, redaction_key

    # tiny.en dropped the customer's card expiry and gave its time to one word of the agent's next
    # request merged into the reply ("then the 3-digit code", "the" over 1.9 s): that word stays muted.
    reply = "Four five five six, sorry, the dog is going mad, hang on, seven seven one two."
    turns = [_worded_turn(0, "agent", "Can I take the long number on the card, please?", 0.0, 0),
             _worded_turn(1, "customer", reply, 3.0, 1),
             _worded_turn(2, "agent", "Lovely, and that's all gone through for you today, thank you.", 12.0, 0)]
    words = turns[1].words
    k = [w.text for w in words].index("dog")
    stretch = 1.5
    for n, w in enumerate(words[k:], start=k):
        shift = stretch if n > k else 0.0
        words[n] = w.model_copy(update={"start_s": w.start_s + shift, "end_s": w.end_s + stretch})
    turns[1] = turns[1].model_copy(update={"words": words, "end_s": words[-1].end_s})

    def gaps(opts):
        text = redact_text(turns, opts, analyzer(), redaction_key(True))
        return [(f.start_s, f.end_s) for f in text.findings if f.recognizer == "payment_gap"]

    dog = words[k]
    assert any(s <= dog.start_s and dog.end_s <= e for s, e in gaps(options()))
    # said in ordinary time, the same word is kept with the rest of the aside
    assert not any(s < dog.end_s and dog.start_s < e for s, e in gaps(options(payment_window={"aside_max_word_s": 5.0})))


def test_an_aside_with_a_code_unit_in_it_is_not_left_out_of_the_exchange() -> None:
    from pipeline.redact import redact_text, redaction_key

    # "for tea" might be a garbled digit: the text policy gives no aside with a digit word in it
    reply = "Four five five six, sorry, it is six and two more, seven seven one two."
    turns = [_worded_turn(0, "agent", "Can I take the long number on the card, please?", 0.0, 0),
             _worded_turn(1, "customer", reply, 3.0, 1),
             _worded_turn(2, "agent", "Lovely, and that's all gone through for you today, thank you.", 9.0, 0)]
    text = redact_text(turns, options(), analyzer(), redaction_key(True))
    gaps = [(f.start_s, f.end_s) for f in text.findings if f.recognizer == "payment_gap"]
    assert len(gaps) == 1 and gaps[0][0] <= 3.0 + 1e-6 and gaps[0][1] >= turns[1].end_s


def test_a_code_redacted_once_is_redacted_wherever_else_it_is_said() -> None:
    texts = ["Bear with me while I check.",
             "Jo, can you pass me that letter? Right, five five six, got it ready.",
             "Thanks for holding. Could I take the security code now?",
             "Yes, it's five five six."]
    speakers = ["agent", "customer", "agent", "customer"]
    assert any(i == 1 and "five five six" in s for i, _, s in found(texts, speakers=speakers))  # volunteered first
    off = found(texts, speakers=speakers, opts=options(code_runs={"repeat_min_units": None}))
    assert not any(i == 1 and "five" in s for i, _, s in off)
    texts = ["And your postcode?", "B T nine, yep.", "BT9, yep, and a contact number, please?"]
    speakers = ["agent", "customer", "agent"]
    assert any(i == 2 and s == "BT9" for i, _, s in found(texts, speakers=speakers))  # read back, three units
    off = found(texts, speakers=speakers, opts=options(code_runs={"repeat_min_units": None, "echo_min_units": None}))
    assert not any(i == 2 for i, _, _ in off)


def test_a_repeated_code_said_as_an_amount_or_a_time_is_left() -> None:
    from pipeline.redact.analyzer import Detection
    from pipeline.redact.payment import repeated_codes

    texts = ["Yes, it's five five six.", "The refund is 556 pounds.", "Five five six, that's it.",
             "See you at 5:56 then."]
    code = Detection("CARD_SECURITY_CODE", 0, 10, 23, 0.6, "payment_window", "556")
    got = repeated_codes(texts, [code], options())
    assert sorted({d.turn_index for d in got}) == [0, 2]
    assert all(d.recognizer == "code_run+repeat" and d.entity_type == "CARD_SECURITY_CODE" for d in got)


def test_a_backchannel_inside_a_digit_run_does_not_end_it() -> None:
    # mono: the request, the customer's digits and the agent's "yep" in one transcribed turn
    text = "Then the bank account number, please. Oh, nine. Oh, yep. Eight, eight, six. Okay, one, seven."
    runs = [r.code for r in find_runs(text, options().code_runs)]
    assert "09088617" in runs
    got = found([text], speakers=["agent"])
    assert any("Eight, eight, six" in s and "one, seven" in s for _, _, s in got)


# ------------------------------------------------------------------ digits inside a payment exchange
# Mono diarisation gives the agent the customer's digits and the customer the agent's read-back: inside
# an exchange (the request from its cue, the turns up to the agent turn that ends it, and that turn) the
# digits are redacted whichever speaker the transcript names (issue #15).

def test_a_short_code_said_in_an_agent_attributed_turn_inside_the_exchange_is_redacted() -> None:
    texts = ["And the three digits on the back of the card?", "Oh, hang on, I've misread that.",
             "It's four, one, nine. Lovely, that's all gone through, and a receipt will follow by post."]
    speakers = ["agent", "customer", "agent"]
    spans = _covered(texts, speakers)
    assert _all_redacted(texts[2], "four, one, nine", spans[2])
    assert _none_redacted(texts[2], "Lovely, that's all gone through", spans[2])


def test_a_request_that_carries_the_customers_digits_still_opens_the_exchange() -> None:
    # The customer's first try is written into the request, the correction into the agent's next turn.
    texts = ["Then the three digit code on the signature strip. six, five, six, oh, and one.",
             "No, I misread that.", "It's six, two, six. Usually three to five working days for the new card."]
    assert request_types(texts[0], options().payment_window, code_runs=_RUNS) == ["CARD_SECURITY_CODE"]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[0], "six, five, six, oh", spans[0])
    assert _all_redacted(texts[2], "six, two, six", spans[2])
    assert _none_redacted(texts[2], "Usually three to five working days", spans[2])


def test_a_pair_written_into_the_request_after_its_cue_is_redacted() -> None:
    texts = ["Can I take the sort code, please double seven. Yes.", "Oh, wait.",
             "Okay, and then the account number, please, it's eight digits."]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[0], "double seven", spans[0])
    assert _none_redacted(texts[0], "Can I take the sort code, please", spans[0])


@pytest.mark.parametrize(("texts", "readback"), [
    # the last four of a card
    (["Can I take the long number on the card, please?",
      "Four nine two nine, one oh two oh, three oh four five, six oh seven one.",
      "Thank you, so that's the card ending six oh seven one, is that right?"], "six oh seven one"),
    # the last two of an account (a mono transcript garbles "ends" into "one in")
    (["Then the bank account number, please.", "Five seven seven three, three three seven four.",
      "Thank you. And that one in seven four. Yes."], "seven four"),
])
def test_the_agents_read_back_of_the_last_digits_is_redacted(texts: list[str], readback: str) -> None:
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[2], readback, spans[2])
    assert _none_redacted(texts[2], "Thank you", spans[2])


@pytest.mark.parametrize(("texts", "turn"), [
    # in the agent turn that ends the exchange
    (["Can I take the long number on the card, please?",
      "Four nine two nine, one oh two oh, three oh four five, six oh seven one.",
      "Lovely, that's £20 taken today, the engineer comes at ten thirty tomorrow, and the rest is thirty-four "
      "ninety-nine pounds."], 2),
    # in an agent turn inside it, the customer reading on after it
    (["Can I take the long number on the card, please?", "Four nine two nine, one oh two oh,",
      "Mm-hm, £20 at ten thirty, thirty-four ninety-nine pounds.", "three oh four five, six oh seven one.",
      "Lovely, that's gone through for you."], 2),
])
def test_an_amount_or_a_time_the_agent_says_inside_the_exchange_stays(texts: list[str], turn: int) -> None:
    # The card holds a "20" and a "30": an amount or a time is no read-back of it.
    speakers = ["customer" if k % 2 else "agent" for k in range(len(texts))]
    spans = _covered(texts, speakers)
    for kept in ("£20", "ten thirty", "thirty-four ninety-nine pounds"):
        assert _none_redacted(texts[turn], kept, spans[turn]), kept


# ------------------------------------------------------------------ values said a piece at a time

@pytest.mark.parametrize(("text", "code"), [
    ("oh, nine, oh, oh.", "0900"),     # a chunk of a number ends where it was said, "oh"s and all
    ("M Y, oh oh...", "MY00"),         # the digits of a reference after its letters
    ("Oh, B for Bravo, one.", "B1"),   # a leading "Oh" before a letter is an interjection
    ("I V two, nine G T.", "IV29GT"),  # a capital "I" or "O" before two more units is the first letter
    ("O X four, yep.", "0X4"),
    ("A 2 year deal.", "2"),
])
def test_ohs_at_a_runs_edge_belong_to_the_code(text: str, code: str) -> None:
    assert [r.code for r in find_runs(text, _RUNS)] == [code]


def test_a_phone_number_said_in_chunks_between_backchannels_is_redacted_to_its_last_chunk() -> None:
    texts = ["Can you confirm the phone number we hold?", "oh, seven, seven, oh.", "Yep.", "oh, nine, oh, oh.",
             "Okay.", "nine, seven, seven.", "What's the date of birth on the account?"]
    speakers = ["agent", "customer"] * 3 + ["agent"]
    spans = _covered(texts, speakers)
    for turn in (1, 3, 5):
        assert _all_redacted(texts[turn], texts[turn].rstrip("."), spans[turn])
    assert spans[6] == []


@pytest.mark.parametrize(("chunk", "echo"), [
    ("B for Bravo, one...", "B for Bravo, one, yep."),
    ("M Y, oh oh...", "M Y, oh oh, yep."),
])
def test_the_agent_saying_a_chunk_back_is_redacted_however_short(chunk: str, echo: str) -> None:
    texts = ["And the postcode, letter by letter?", chunk, echo, "Lovely, and what's the first line?"]
    speakers = ["agent", "customer", "agent", "agent"]
    spans = _covered(texts, speakers)
    for turn in (1, 2):
        run = find_runs(texts[turn], _RUNS)[0]
        words = [m for m in re.finditer(r"\w+", texts[turn][:run.end]) if m.group(0) not in _RUNS.spelling_words]
        assert words and all(any(a <= m.start() and m.end() <= b for a, b in spans[turn]) for m in words)
    assert _none_redacted(texts[2], "yep", spans[2]) and spans[3] == []


def test_an_echo_needs_the_same_chunk_in_the_turn_before() -> None:
    opts = options(code_runs={"repeat_min_units": None})
    texts = ["And the postcode, letter by letter?", "B for Bravo, one...", "Lovely.", "Was that B one?"]
    speakers = ["agent", "customer", "agent", "agent"]
    assert _covered(texts, speakers, opts)[3] == []  # two turns on: no echo (the repeat rule's job, from 3 units)


def test_a_reply_that_is_all_aside_stays_unless_a_word_in_it_may_be_a_digit() -> None:
    texts = ["Can I take the expiry date, please?", "Do you want the expiry date now?", "Yes please.",
             "Sorry, I was told for a sec, oh, that's it."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer"])
    assert spans[1] == []
    assert _all_redacted(texts[3], "I was told for a sec", spans[3])  # "for", "oh": a digit heard as a word


def test_a_value_spelled_back_in_letters_is_redacted() -> None:
    texts = ["And your email?", "eze eight one two, all one word, at aol dot com.",
             "Let me spell that back: E Z E, at the domain you said? Not the B B C.", "Spot on."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer"])
    assert _all_redacted(texts[2], "E Z E", spans[2]) and _none_redacted(texts[2], "Let me spell that back", spans[2])
    assert _none_redacted(texts[2], "B B C", spans[2])  # letters the value does not hold


def test_a_values_start_said_before_a_restart_is_redacted() -> None:
    texts = ["And the postcode?", "S -10. No. Sorry. Let me start that again. S10, 6PU.", "Thank you."]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[1], "S -10", spans[1]) and _all_redacted(texts[1], "S10, 6PU", spans[1])
    assert _none_redacted(texts[1], "Let me start that again", spans[1])


def test_double_as_a_small_transcriber_writes_it_is_still_double() -> None:
    run = find_runs("Plus 4. 4. Devil 7. Devil 0. 9. Devil 0. 6. 8.", _RUNS)
    assert [r.code for r in run] == ["44770090068"]


def test_a_payment_answer_in_the_requests_own_turn_and_its_words_said_before_are_redacted() -> None:
    # A mono turn holding request and answer; the code transcribed as words, said first unasked.
    texts = ["Bear with me.", "Jill, can you pass me that letter? Right, by they go, at it ready.",
             "Thanks for holding. Could I take the security code now? Yeah, it's by they go. Usually three to five days."]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[2], "by they go", spans[2]) and _all_redacted(texts[1], "by they go", spans[1])
    assert _none_redacted(texts[2], "Usually three to five days", spans[2])
    assert _none_redacted(texts[2], "Could I take the security code now?", spans[2])


@pytest.mark.parametrize("after", ["It's the three digits on the back.", "Or shall I ring you back?",
                                   "Whenever you're ready with a card."])
def test_a_requests_own_next_sentence_that_asks_again_or_explains_stays(after: str) -> None:
    texts = ["Hi.", f"Could I take the security code now? {after}"]
    assert _covered(texts, ["customer", "agent"])[1] == []


def test_a_read_back_written_in_part_is_redacted_to_the_end_of_its_sentence() -> None:
    # "So that's seven one four one, seven six three eight, is that right?" as a small transcriber wrote it.
    texts = ["Then the bank account number, please.", "Yeah, 71417638.", "So that 7148 is at right.", "That's it.",
             "Lovely. And I'll send the form to your home address, which is on the account, by Friday at the latest."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer", "agent"])
    assert _all_redacted(texts[2], "7148 is at right", spans[2]) and _none_redacted(texts[2], "So that", spans[2])
    assert spans[3] == [] and spans[4] == []


def test_a_code_said_straight_before_an_amount_in_one_unpunctuated_turn_is_redacted() -> None:
    # mono, no punctuation: the request, the customer's security code, then the agent's fare difference
    turn = ("then the three digit code on the signature strip last three nine eight one fifteen pound and the fare "
            "difference is nothing")
    texts = ["Can I take the long number on the card?", "four four five five", "yeah", "eight one two nine", turn,
             "No, that's everything."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer", "agent", "customer"])[4]
    assert _all_redacted(turn, "nine eight one", spans) and _none_redacted(turn, "fifteen pound", spans)


def test_in_mono_a_payment_request_diarised_to_the_customer_opens_the_exchange() -> None:
    from pipeline.redact.payment import policy_speakers
    from tests._redact_support import timed_turn

    texts = ["Right, nearly done.", "B. And the six digit sort code.", "And go on then, from the start.",
             "Okay, three, purple wall, nine, purple wall."]
    mono = [timed_turn(i, s, t, start=5.0 * i) for i, (s, t) in enumerate(zip(["agent", "customer", "agent", "customer"], texts))]
    assert policy_speakers(mono, options()) == ["agent", "unknown", "agent", "customer"]
    assert _window_turns(texts, policy_speakers(mono, options())) == {3}
    stereo = [t.model_copy(update={"channel": 0 if t.speaker == "agent" else 1}) for t in mono]
    assert policy_speakers(stereo, options()) == ["agent", "customer", "agent", "customer"]


def test_the_end_of_a_value_said_back_beside_it_is_redacted_however_short() -> None:
    texts = ["And the account number?", "All seven, seven, oh, nine, oh, oh, six, eight.",
             "Thank you. And that one in Zill 6 -8, yes.", "And your email, please."]
    got = found(texts, None, speakers=["agent", "customer", "agent", "agent"])
    assert any(i == 2 and "6 -8" in s for i, _, s in got)
    far = texts[:2] + ["Thanks.", "Okay.", "Right, and the fee is 6.80, yes."]
    assert not any(i == 4 for i, _, _ in found(far, None, speakers=["agent", "customer", "agent", "customer", "agent"]))


@pytest.mark.parametrize(("text", "value"), [("2 -D -G.", "2 -D -G"), ("5DP,", "5DP"),
                                             ("Sorry, someone's at the door. Ok, two E -G.", "two E -G")])
def test_a_postcodes_inward_half_said_on_its_own_is_redacted(text: str, value: str) -> None:
    assert any(s == value for i, _, s in found(["Okay.", text], None, speakers=["agent", "customer"]) if i == 1)


@pytest.mark.parametrize("text", ["It is 4 GB of data.", "I have 2 TVs and 3 PCs."])
def test_a_number_and_a_unit_in_capitals_is_no_inward_code(text: str) -> None:
    assert found(["Okay.", text], None, speakers=["agent", "customer"]) == []


def test_a_spelled_letter_the_transcriber_wrote_as_a_short_word_is_still_spelled() -> None:
    texts = ["So that's M for Mike, D for Delta?", "And for my fee for Delta, yes."]
    assert any(i == 1 and s == "fee for Delta" for i, _, s in found(texts, None, speakers=["customer", "agent"]))
    assert found(["Okay.", "I can pay for hotel rooms here."], None, speakers=["customer", "agent"]) == []


def test_digits_straight_after_the_agent_turn_that_ended_an_exchange_are_its_next_part() -> None:
    texts = ["Can I take the long number on the card?", "Four five five six, one two three four.",
             "lovely in the sorry the other bit now", "okay oh seven three", "can I take an email address"]
    speakers = ["agent", "customer", "agent", "customer", "agent"]
    assert _window_turns(texts, speakers) == {1, 3}
    chat = texts[:2] + ["Lovely, that's gone through and you'll get a receipt today.", "Great, thanks a lot."]
    assert _window_turns(chat, speakers[:4]) == {1}


@pytest.mark.parametrize(("reply", "value", "kept"), [
    ("Four four one two, nine nine eight one. And I've rung three times about this already.",
     "Four four one two, nine nine eight one", "And I've rung three times about this already"),
    ("It's 5512 8843. We've waited two weeks for the refund, honestly.", "5512 8843", "We've waited two weeks for the refund"),
    # the agent's next request diarised into the reply: "three-digit" describes a value, it is none
    ("It's four three zero four nine zero nine eight. the expiry on the card, then the three -digit code on the "
     "signature strip.", "four three zero four nine zero nine eight", "then the three -digit code on the signature strip"),
])
def test_a_number_that_counts_something_does_not_keep_an_aside_in_the_exchange(reply: str, value: str, kept: str) -> None:
    texts = ["And the account number, please?", reply]
    spans = _covered(texts, ["agent", "customer"])[1]
    assert _all_redacted(reply, value, spans) and _none_redacted(reply, kept, spans)


def test_a_count_is_still_muted_when_it_sits_inside_the_value() -> None:
    # "two" before "weeks" counts; "nine two" inside the run is the value, whatever follows it.
    reply = "Four four one two nine two, weeks of this now."
    spans = _covered(["And the account number, please?", reply], ["agent", "customer"])[1]
    assert _all_redacted(reply, "Four four one two nine two", spans)


@pytest.mark.parametrize(("reply", "value", "question"), [
    ("5 2 7 1 3 3 8 0 1 9 4 4 2 6 Could you read me the expiry now go on 0 9 28",
     "5 2 7 1 3 3 8 0 1 9 4 4 2 6", "Could you read me the expiry now go on"),
    ("four four nine one. Do you want the start date as well go on for eleven twenty six",
     "four four nine one", "Do you want the start date as well go on"),
    # no capitals, no stops: a lower-case opener straight after a digit starts the question
    ("two six seven do you want the expiry date now go on oh one thirty",
     "two six seven", "do you want the expiry date now go on"),
])
def test_the_agents_question_merged_into_the_reply_stays_and_the_values_around_it_are_muted(
        reply: str, value: str, question: str) -> None:
    spans = _covered(["Whenever you're ready with the long number on the card.", reply], ["agent", "customer"])[1]
    assert _all_redacted(reply, value, spans) and _none_redacted(reply, question, spans)
    tail = reply[reply.index(question) + len(question):].strip()
    assert _all_redacted(reply, tail, spans)  # "for eleven twenty six": a digit heard as a word goes with the value


@pytest.mark.parametrize(("reply", "lead", "value"), [
    ("Four four one two, nine nine eight one. So the postcode you've got for me is LS6 2QT.",
     "So the postcode you've got for me is", "LS6 2QT"),
    ("4412 9981. And the first line of my address is 14 Calder Row.", "And the first line of my address is", "14 Calder Row"),
])
def test_a_sentence_that_names_what_it_gives_keeps_its_lead_in_inside_the_exchange(reply: str, lead: str, value: str) -> None:
    spans = _covered(["And the account number, please?", reply], ["agent", "customer"])[1]
    assert _all_redacted(reply, value, spans) and _none_redacted(reply, lead, spans)


def test_a_run_on_email_ends_at_its_domain_and_the_talk_after_it_stays() -> None:
    reply = "it's p dot marsh ninety at outlook dot com I only changed it because of the move"
    spans = _covered(["What email address should the receipt go to", reply], ["agent", "customer"])[1]
    assert _all_redacted(reply, "p dot marsh ninety at outlook dot com", spans)
    assert _none_redacted(reply, "I only changed it because of the move", spans)


def _stretched_mono_turn(text: str, stretch_from: str, stretch_to: str, stretch_s: float):
    """A mono turn (no channel) whose words from `stretch_from` up to `stretch_to` are stretched over
    `stretch_s` in all: a transcriber that dropped speech there and gave its time to its neighbours."""
    from pipeline.schema import Turn, Word

    words, t, stretched = [], 0.0, False
    toks = text.split()
    n_stretched = toks.index(stretch_to) - toks.index(stretch_from)
    for w in toks:
        stretched = (stretched or w == stretch_from) and w != stretch_to
        d = stretch_s / n_stretched if stretched else 0.3
        words.append(Word(start_s=round(t, 3), end_s=round(t + d, 3), text=w, probability=0.9))
        t += d
    return Turn(index=0, speaker="agent", text=text, start_s=0.0, end_s=words[-1].end_s, channel=None, words=words)


def test_mono_time_stretched_between_a_mid_turn_payment_request_and_the_next_value_is_muted() -> None:
    from pipeline.redact import redact_text
    from tests._redact_support import KEY

    text = "Great and the security number. Yeah right so 5 5 1 9. Is that right? Lovely."
    gaps = lambda out: [(f.start_s, f.end_s) for f in out.findings if f.recognizer == "payment_gap"]  # noqa: E731
    stretched = redact_text([_stretched_mono_turn(text, "Yeah", "5", 3.0)], options(), analyzer(), KEY)
    request_end = 5 * 0.3
    assert [(round(a, 2), round(b, 2)) for a, b in gaps(stretched)] == [(request_end, request_end + 3.0)]
    assert "Yeah right so" in stretched.turns[0].text  # the text keeps the words; only their time is muted
    # stretched longer than an answer takes: its first answer_window.max_gap_s
    long = redact_text([_stretched_mono_turn(text, "Yeah", "5", 6.0)], options(), analyzer(), KEY)
    assert [(round(a, 2), round(b, 2)) for a, b in gaps(long)] == [
        (request_end, request_end + options().answer_window.max_gap_s)]
    # Said at a normal pace, the words are what they seem: nothing is muted beyond the value.
    plain = redact_text([_stretched_mono_turn(text, "Yeah", "5", 0.9)], options(), analyzer(), KEY)
    assert gaps(plain) == []
    # In stereo the channel says who spoke: the exchange's own rule applies, not this one.
    stereo = _stretched_mono_turn(text, "Yeah", "5", 3.0).model_copy(update={"channel": 0})
    assert gaps(redact_text([stereo], options(), analyzer(), KEY)) == []


def test_mono_time_after_a_mid_turn_payment_request_no_value_answers_is_muted_up_to_the_next_question() -> None:
    from pipeline.redact import redact_text
    from tests._redact_support import KEY

    # The customer's "one oh one" was said over the agent's next words and dropped (issue #15, round 8).
    text = "So the security code. If you have it to hand then I can sort it. Can I take an email address?"
    gaps = lambda out: [(f.start_s, f.end_s) for f in out.findings if f.recognizer == "payment_gap"]  # noqa: E731
    turn = _stretched_mono_turn(text, "If", "Can", 3.0)
    request_end, question = 4 * 0.3, turn.words[text.split().index("Can")].start_s
    assert [(round(a, 2), round(b, 2)) for a, b in gaps(redact_text([turn], options(), analyzer(), KEY))] \
        == [(request_end, round(question, 2))]
    # longer than an answer takes: its first answer_window.max_gap_s (a reply follows its request)
    long = _stretched_mono_turn(text, "If", "Can", 6.0)
    assert [(round(a, 2), round(b, 2)) for a, b in gaps(redact_text([long], options(), analyzer(), KEY))] \
        == [(request_end, request_end + options().answer_window.max_gap_s)]
    # the next request's words before its cue may hold the reply too ("and then I can get and the security code")
    cued = "So the expiry date. If you have it to hand then I can get and the security code please."
    turn = _stretched_mono_turn(cued, "If", "and", 2.0)
    got = [b for a, b in gaps(redact_text([turn], options(), analyzer(), KEY)) if round(a, 2) == request_end]
    assert [round(b, 2) for b in got] == [round(turn.words[cued.split().index("security")].start_s, 2)]
    # a request that ends its turn is the exchange's own rule (after the turn), not this one
    alone = _stretched_mono_turn("Okay and the security code please", "please", "please", 0.3)
    assert all(a >= alone.end_s for a, _ in gaps(redact_text([alone], options(), analyzer(), KEY)))


def test_mono_a_payment_request_answered_in_its_own_sentence_or_handed_over_next_mutes_nothing_after_it() -> None:
    from pipeline.redact import redact_text
    from tests._redact_support import KEY

    gaps = lambda out: [(f.start_s, f.end_s) for f in out.findings if f.recognizer == "payment_gap"]  # noqa: E731
    # the customer's reply merged into the agent's turn, cue and all ("Last three, ..."), then the agent talking on
    answered = ("Then the three digit code on the signature strip. Last three, six, six, six, oh. "
                "I can see errors on the line. So I'll book an engineer. Is there anything else?")
    turn = _stretched_mono_turn(answered, "Last", "I", 1.5)
    assert gaps(redact_text([turn], options(), analyzer(), KEY)) == []
    # the same sentence with no value in it is an open request: what follows it up to the next question is muted
    unanswered = answered.replace("Last three, six, six, six, oh.", "Last three on the back.")
    turn = _stretched_mono_turn(unanswered, "Last", "I", 1.5)
    start = turn.words[unanswered.split().index("back.")].end_s
    assert [round(a, 2) for a, _ in gaps(redact_text([turn], options(), analyzer(), KEY))] == [round(start, 2)]
    # a short sentence that hands over ("Whenever you're ready ...") is the agent's: the reply comes after it
    handed = "I can take that payment now. Whenever you're ready with a card."
    turn = _stretched_mono_turn(handed, "Whenever", "card.", 1.2)
    inside = lambda out: [(a, b) for a, b in gaps(out) if a < turn.end_s]  # noqa: E731 (after the turn: the exchange's own)
    assert inside(redact_text([turn], options(), analyzer(), KEY)) == []
    # ... and without the switch, its time is muted as before
    plain = options().model_copy(update={"payment_window": options().payment_window.model_copy(update={"invitations": []})})
    assert [round(a, 2) for a, _ in inside(redact_text([turn], plain, analyzer(), KEY))] == [
        round(turn.words[5].end_s, 2)]
    # the last request of the turn answered in the next turn, with a value: what follows it is the agent's
    asked = "So what I need next is the account number. If you have it to hand, and then I can get that sorted."
    turn = _stretched_mono_turn(asked, "If", "sorted.", 3.0)
    nums = timed_turn(1, "customer", "Yeah, two six eight five, one one four two.", start=turn.end_s + 0.3)
    nums = nums.model_copy(update={"channel": None})
    within = lambda out: [(a, b) for a, b in gaps(out) if a < turn.end_s]  # noqa: E731
    assert within(redact_text([turn, nums], options(), analyzer(), KEY)) == []
    talk = nums.model_copy(update={"text": "Yeah, hang on a second.", "words": timed_turn(
        1, "customer", "Yeah, hang on a second.", start=turn.end_s + 0.3).words})
    assert within(redact_text([turn, talk], options(), analyzer(), KEY)) != []


@pytest.mark.parametrize(("texts", "value"), [
    # the first reply to an e-mail request, shorter than an aside, with a number: the local part garbled
    (["And your e -mail, please?", "Length is 902.", "OK. And the ref?", "That's guide .com."], (1, "Length is 902")),
    # the agent reads back an address written as words: the same words are redacted there too
    (["What's your email?", "Yeah, look high than cash loss because the sky .com.",
      "So that's a look high than cash loss because the sky .com is that right?", "That's it, yeah."],
     (2, "look high than cash loss because the sky .com")),
])
def test_an_email_garbled_into_words_is_redacted_in_its_first_reply_and_its_read_back(texts, value) -> None:
    spans = _covered(texts, ["agent", "customer"] * 2)
    assert _all_redacted(texts[value[0]], value[1], spans[value[0]])


def test_the_agent_reading_a_garbled_email_back_is_redacted_up_to_the_domain() -> None:
    texts = ["What email address should the confirmation go to?",
             "Yeah, look, hype and cash loss because the sky dot com.",
             "So that's a little high in cash loss because the sky dot com. Is that right?", "That's it."]
    spans = _covered(texts, ["agent", "customer"] * 2)
    assert _all_redacted(texts[2], "a little high in cash loss because the sky dot com", spans[2])
    assert _none_redacted(texts[2], "Is that right?", spans[2])
    # a web address in the agent's next words is no read-back
    texts[2] = "Lovely, you'll get a confirmation from bookings at our site dot com shortly."
    assert _covered(texts, ["agent", "customer"] * 2)[2] == []


@pytest.mark.parametrize("reply", ["The one on the account, Premier Saver.", "Same as the other one.", "Two secs."])
def test_a_first_reply_to_an_email_request_without_a_number_or_email_word_stays(reply: str) -> None:
    texts = ["And your email, please?", reply, "OK, lovely."]
    assert _covered(texts, ["agent", "customer", "agent"])[1] == []


def test_digits_of_the_other_party_inside_a_run_said_across_turns_are_part_of_it() -> None:
    # Mono diarisation gave the customer's middle chunk to the agent ("yes 9 0 8 Okay."); in stereo it
    # is the agent reading the chunk back. Either way the run goes on after it, and it is the value's.
    texts = ["Do you have your NHS number handy", "4 6 6", "yes 9 0 8 Okay.", "8084."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer"])
    assert _all_redacted(texts[2], "9 0 8", spans[2]) and _all_redacted(texts[1], "4 6 6", spans[1])
    # when the run does not go on, the other party's digits are its own ("Yep, 2 days ago.")
    texts = ["Have you got the reference", "4 6 6 1", "Yep, and that was 2 days ago", "Thanks."]
    assert _none_redacted(texts[2], "2 days", _covered(texts, ["agent", "customer", "agent", "customer"])[2])


def test_a_run_ending_on_a_dangling_double_goes_on_in_the_next_turn() -> None:
    # "three one double." - "three four two.": the repeated digit opens the next chunk, so the run reaches the
    # turn's end and the next chunk is its part however short.
    texts = ["Can you read me the reference from the top of the letter?", "two five seven.", "Yep.",
             "three one double.", "Okay.", "three four two.", "Okay, and the postcode?"]
    spans = _covered(texts, ["agent", "customer"] * 3 + ["agent"])
    assert _all_redacted(texts[5], "three four two", spans[5])


def test_the_six_digits_ask_for_a_sort_code() -> None:
    texts = ["Thanks, and the six digits or code", "one one oh one and on my glasses right for eight",
             "Then the bank account number please"]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[1], "one one oh one", spans[1]) and _all_redacted(texts[1], "for eight", spans[1])


def test_a_letter_spelled_as_x_for_x_ray_in_a_read_back_is_redacted_however_short() -> None:
    texts = ["Can you read me the reference from the top of the letter?", "Extra. X -Ray.",
             "Right, X for X -ray, J for Z -ing."]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[2], "X for X -ray", spans[2])


def test_an_email_reply_whose_dot_the_transcriber_glued_to_a_word_is_redacted() -> None:
    texts = ["Can I take an email address?", "Marek .dov -ska is it.", "OK, and the rest?"]
    spans = _covered(texts, ["agent", "customer", "agent"])
    assert _all_redacted(texts[1], "Marek .dov -ska", spans[1])


def test_inside_an_exchange_an_email_clause_after_a_comma_keeps_its_lead_in_and_the_talk_after_its_domain() -> None:
    reply = ("4412 9981. Nothing got updated, so the email address you want is j dot roe at hotmail dot co dot uk "
             "and I've told two people that already.")
    spans = _covered(["And the account number, please?", reply], ["agent", "customer"])[1]
    assert _all_redacted(reply, "4412 9981", spans) and _all_redacted(reply, "j dot roe at hotmail dot co dot uk", spans)
    assert _none_redacted(reply, "so the email address you want is", spans)
    assert _none_redacted(reply, "and I've told two people that already", spans)


def test_a_reply_of_digits_alone_in_an_email_exchange_is_redacted() -> None:
    texts = ["Can I take an email address?",
             "It's k dot lowe at awell dot com. The thing is, I moved in the spring and nothing got updated at all, "
             "and I've told them twice already, so do you want the security code now?", "Go on.", "505.",
             "I'll send a replacement by next day delivery."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer", "agent"])
    assert _all_redacted(texts[3], "505", spans[3])


def test_talk_with_no_digit_said_like_one_stays_in_an_exchange_but_a_lone_homophone_is_muted() -> None:
    # The agent's words diarised to the customer: "for" before a day is no digit.
    texts = ["What's the long number on the card?", "Four four one two, nine nine eight one, three three four five, one one.",
             "Thank you.", "I can see errors on the line. So I'll book an engineer for Thursday morning.",
             "Is there anything else I can help with today?"]
    speakers = ["agent", "customer", "agent", "customer", "agent"]
    assert _covered(texts, speakers)[3] == []
    texts[3] = "Sorry, the line went, for, five, that's all of it."
    assert _all_redacted(texts[3], "for, five", _covered(texts, speakers)[3])


def test_in_mono_a_request_for_any_item_ending_a_customer_turn_opens_its_window() -> None:
    from pipeline.redact.payment import policy_speakers
    from tests._redact_support import timed_turn

    texts = ["Who am I speaking with?", "H for hotel. A for alpha. End your email.", "Please.",
             "It's 59 -B hardcore street."]
    mono = [timed_turn(i, s, t, start=5.0 * i) for i, (s, t) in enumerate(zip(["agent", "customer", "agent", "customer"], texts))]
    # the request that ends a customer turn is the agent's; a statement ending on a cue word asks nothing
    assert policy_speakers(mono, options()) == ["agent", "unknown", "agent", "customer"]


def test_a_request_answered_with_an_account_and_a_short_sort_code_opens_an_exchange() -> None:
    # the request garbled ("What's your count?"); the sort code too short for a run, said before the account
    texts = ["Okay, a new card will follow in the post.", "How long will that take?",
             "What's your count? Would you like to refund paid into?",
             "So it goes to 0, 7, 3, or 3, or count 8, 2, 5, 1, 3, 1, 6, 6.", "Usually, 3 to 5 working days."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer", "agent"])
    assert _all_redacted(texts[3], "0, 7, 3", spans[3]) and _none_redacted(texts[4], "3 to 5", spans[4])


def test_an_expiry_with_its_month_after_a_garbled_request_is_redacted() -> None:
    texts = ["Can I take the long number on the card?", "Yes. It's four, two, five, one, seven, five, two, eight, five.",
             "The ex -viry on the card.", "End of March, 20, 26.", "Thanks. I'll book an engineer for Thursday morning."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer", "agent"])
    assert _all_redacted(texts[3], "March, 20, 26", spans[3])


def test_the_first_sentence_of_the_agents_turn_after_a_customers_code_reads_it_back() -> None:
    texts = ["What's the reference?", "Oh seven seven oh oh nine oh oh four",
             "Thank you and that one in zone four four. And in 2 days we'll write, four four pages.", "Yes."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer"])
    assert _all_redacted(texts[2], "four four", spans[2]) and _none_redacted(texts[2], "Thank you and that one", spans[2])
    # only the first sentence; an amount or a time there stays
    assert _none_redacted(texts[2], "four four pages", spans[2])
    money = ["Card number?", "four four five five six six seven seven", "Thanks, that's 3 to 5 working days, and 20 pounds."]
    assert _covered(money, ["agent", "customer", "agent"])[2] == []


def test_the_exchange_goes_on_over_the_answers_tail_that_opens_the_agent_turn_ending_it() -> None:
    from pipeline.redact.payment import payment_gaps
    from tests._redact_support import timed_turn

    # the card number dropped; its last digits heard as "Mom, A" at the start of the agent's next request
    ask = timed_turn(0, "agent", "Can I take the card number, please?", start=0.0)
    end = timed_turn(1, "agent", "Mom, A and when does the card expire", start=8.0)
    gaps = payment_gaps([ask, end], options())
    assert [(g.start_s, g.end_s) for g in gaps if g.request == 0] == [(ask.end_s, end.words[2].start_s)]
    # an agent turn that opens with its own words ends the exchange at its start
    own = timed_turn(1, "agent", "Lovely, and when does the card expire", start=8.0)
    assert [g.end_s for g in payment_gaps([ask, own], options()) if g.request == 0] == [8.0]
    off = options(payment_window={"end_lead_words": 0})
    assert [g.end_s for g in payment_gaps([ask, end], off) if g.request == 0] == [8.0]


def test_the_exchange_goes_on_over_a_short_first_sentence_of_the_answer_given_to_the_agent() -> None:
    from pipeline.redact.payment import payment_gaps
    from tests._redact_support import timed_turn

    # mono: the code said again ("it's oh four oh") written as the opening of the agent's next turn
    ask = timed_turn(0, "agent", "And the security code, the three digits on the back?", start=0.0)
    end = timed_turn(1, "agent", "It's all for all. Usually three to five working days.", start=8.0)
    assert [g.end_s for g in payment_gaps([ask, end], options()) if g.request == 0] == [end.words[4].start_s]
    # the agent's own short sentence, or one with no digit in it, ends the exchange at its start
    for own in ("Okay, thanks for that. Usually three to five working days.", "All sorted now. Usually three days."):
        turn = timed_turn(1, "agent", own, start=8.0)
        assert [g.end_s for g in payment_gaps([ask, turn], options()) if g.request == 0] == [8.0]


def test_the_answers_tail_at_the_start_of_the_turn_ending_the_exchange_is_muted_not_kept_as_an_aside() -> None:
    from pipeline.redact import redact_text, redaction_key

    turns = [_worded_turn(0, "agent", "And the security code, the three digits on the back?", 0.0, None),
             _worded_turn(1, "customer", "Yeah, sorry.", 4.0, None),
             _worded_turn(2, "agent", "It's all for all. Usually three to five working days.", 6.0, None)]
    tail = turns[2].words[:4]
    text = redact_text(turns, options(), analyzer(), redaction_key(True))
    gaps = [(f.start_s, f.end_s) for f in text.findings if f.recognizer == "payment_gap"]
    assert any(s <= tail[0].start_s and tail[-1].end_s <= e for s, e in gaps)


def test_the_exchange_goes_on_over_a_stretched_word_that_opens_the_agent_turn_ending_it() -> None:
    from pipeline.redact.payment import payment_gaps
    from tests._redact_support import timed_turn

    # mono: the customer's security code dropped, its time given to "take" in the agent's next question
    ask = timed_turn(0, "agent", "Can I take the card number, please?", start=0.0)
    end = timed_turn(1, "agent", "Can I take an email address?", start=8.0)
    end.words[2] = end.words[2].model_copy(update={"end_s": end.words[2].start_s + 2.0})
    gaps = payment_gaps([ask, end], options())
    assert [g.end_s for g in gaps if g.request == 0] == [end.words[2].end_s]
    plain = timed_turn(1, "agent", "Can I take an email address?", start=8.0)
    assert [g.end_s for g in payment_gaps([ask, plain], options()) if g.request == 0] == [8.0]


def test_the_rest_of_a_chunk_diarised_to_the_other_party_is_redacted_when_the_speaker_goes_on_to_another_value() -> None:
    # Mono gave the middle of a sort code to the agent, and the customer's next turn opens with a garbled word
    # ("Count" for "account") before the account number: the chunk is not read on, but the agent's digits straight
    # after the customer's are still the value's. Two turns on, digits are the agent's own (an echo's rule).
    texts = ["Where would you like the refund to go?", "Shortcut 2 .6.", "Now for? 3 .1.", "Count 7 .0. 4 .4. 2 .8 .6 .5.",
             "Lovely, thank you."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer", "agent"])
    assert _all_redacted(texts[1], "2 .6", spans[1]) and _all_redacted(texts[2], "3 .1", spans[2])
    far = ["Where would you like the refund to go?", "Shortcut 2 .6.", "Lovely.", "Count me in, 3 .1?"]
    assert _none_redacted(far[3], "3 .1", _covered(far, ["agent", "customer", "agent", "agent"])[3])


def test_a_chunk_of_two_digits_diarised_to_the_agent_inside_an_exchange_is_redacted() -> None:
    texts = ["In the six digits or code?", "Brito.", "Yep. Two, three.", "Six, six. Do you want the account number now?",
             "Thanks, that's two, three items on the order then."]
    spans = _covered(texts, ["agent", "customer", "agent", "customer", "agent"])
    assert _all_redacted(texts[2], "Two, three", spans[2])
    assert _none_redacted(texts[4], "two, three items", spans[4])  # a longer agent turn is its own talk


def test_or_between_digits_is_a_four_heard_wrong_and_joins_the_run() -> None:
    texts = ["Can you confirm the phone number?", "We hold plus four four one one seven or nine six"]
    assert _all_redacted(texts[1], "one one seven or nine six", _covered(texts, ["agent", "customer"])[1])
    talk = ["How long will it take?", "It takes two or three days, or four at most."]
    assert _covered(talk, ["agent", "customer"])[1] == []


@pytest.mark.parametrize(("turns", "value"), [
    # the customer asks their own question, then gives a security code too short to be a run
    (["Lovely. The long one when you're ready.", "OK, 0, 5, 28. Do you need the little code as well? It's 2, 0, 2.",
      "Thank you, the claim is logged now."], "2, 0, 2"),
    (["Thanks.", "And the security code on the back is seven one nine."], "seven one nine"),
])
def test_a_short_code_after_a_sentence_naming_a_payment_item_is_redacted_whoever_asks(turns: list[str], value: str) -> None:
    speakers = ["agent", "customer", "agent"][:len(turns)]
    spans = _covered(turns, speakers)
    i = next(k for k, t in enumerate(turns) if value in t)
    assert _all_redacted(turns[i], value, spans[i])
    kinds = {d.entity_type for d in detect_call(turns, speakers, analyzer(options()), options())
             if d.turn_index == i and turns[i][d.start:d.end] == value}
    assert kinds == {"CARD_SECURITY_CODE"}


def test_an_amount_or_a_time_after_a_payment_sentence_stays() -> None:
    turns = ["How can I help today?", "My debit card was charged twice. It was three pounds fifty each time.",
             "I'm sorry about that. Your card details are fine, it is our error. We close at five thirty today."]
    spans = _covered(turns, ["agent", "customer", "agent"])
    assert _none_redacted(turns[1], "three pounds fifty", spans[1])
    assert _none_redacted(turns[2], "five thirty", spans[2])


def test_a_transcribers_juliette_is_the_phonetic_juliet_so_the_turn_spells_all_through() -> None:
    # "J for Juliet, A for Alpha, seventy-four" heard with its "A for" garbled: the lone "alpha" is a letter of it
    turns = ["I'll need the national insurance number to find the", "Jay for Juliette, of her alpha, 74."]
    spans = _covered(turns, ["agent", "customer"])
    assert _all_redacted(turns[1], "Juliette", spans[1]) and _all_redacted(turns[1], "alpha, 74", spans[1])


def test_a_single_digit_after_ends_in_the_agents_next_turn_is_the_read_back_of_the_codes_end() -> None:
    turns = ["4, 6, 3, 3, 1, 6, 1, 4.", "Thank you. And that one ends one. Yes. Bear with me."]
    spans = _covered(turns, ["customer", "agent"])
    assert _all_redacted(turns[1], "one.", spans[1])  # the one after "ends", not "that one"
    # a quantity after the cue, or no code before it, stays
    kept = ["4, 6, 3, 3, 1, 6, 1, 4.", "Thank you. The offer ends in one week."]
    assert _none_redacted(kept[1], "one week", _covered(kept, ["customer", "agent"])[1])
    plain = ["How can I help?", "Thank you. And that one ends one."]
    assert _none_redacted(plain[1], "ends one", _covered(plain, ["customer", "agent"])[1])


def test_a_turn_that_asks_something_else_after_its_payment_request_is_answered_with_that() -> None:
    # mono: the customer's code merged into the agent's turn, which then asks its closing question
    merged = ("And the security code. The last three digits on the back. Yeah. Three, six, four. I'll book an engineer "
              "for Thursday. Is there anything else I can help with today?")
    texts = [merged, "No, that's everything."]
    spans = _covered(texts, ["agent", "customer"])
    assert _all_redacted(merged, "Three, six, four", spans[0])
    assert spans[1] == []
    # ... or for an e-mail, in a run-on turn: the reply is an e-mail exchange's, not a card's
    run_on = "And the security code the last three digits on the back What email address should the confirmation go to"
    from pipeline.redact.payment import exchanges
    (x,) = exchanges([run_on, "jay dot smith at example dot com"], ["agent", "customer"], options())
    assert x.email and x.answers == [1]
    # a payment request asked last is answered with payment data, whatever the reply sounds like
    asked = ["Is there anything else? And the security code, please?", "No, that's everything."]
    assert _covered(asked, ["agent", "customer"])[1] != []
    off = options(payment_window={"other_questions": []})
    assert _covered(texts, ["agent", "customer"], off)[1] != []


def test_a_run_on_reply_with_no_marks_keeps_its_asides_between_numbers() -> None:
    reply = ("please four seven six seven five six o three hang on my glasses right four five eight nine oh eight six five "
             "and when does the card expire it says 11 .27 and go on then from the start okay double seven oh")
    spans = _covered(["Can I take the card number?", reply], ["agent", "customer"])[1]
    for digits in ("four seven six seven five six o three", "four five eight nine oh eight six five", "11 .27",
                   "double seven oh"):
        assert _all_redacted(reply, digits, spans)
    for aside in ("hang on my glasses right", "and go on then from the start okay"):
        assert _none_redacted(reply, aside, spans)
    # one digit alone is talk inside the clause, not a number that parts it
    told = "4412 9981. Nothing got updated, so it's j dot roe at hotmail dot co dot uk and I've told two people that already."
    assert _none_redacted(told, "and I've told two people that already",
                          _covered(["And the account number, please?", told], ["agent", "customer"])[1])


def test_mono_the_words_after_the_cue_of_a_turns_last_sentence_are_the_merged_answer() -> None:
    from pipeline.redact import redact_text
    from tests._redact_support import KEY, timed_turn

    # "And the six-digit sort code?" - "double seven." merged into one turn, given to the customer
    text = "How long will that take? I'm away next week. In the six digits or a code, double server."
    turn = timed_turn(0, "customer", text)
    gaps = [(f.start_s, f.end_s) for f in redact_text([turn], options(), analyzer(), KEY).findings
            if f.recognizer == "payment_gap"]
    assert any(a <= turn.words[-2].start_s and turn.words[-1].end_s <= b for a, b in gaps)
    assert all(a >= turn.words[9].start_s for a, _ in gaps)  # from the cue on, not the talk before it
    # one word that may be a digit is no answer: the customer saying why they called
    why = timed_turn(0, "customer", "Hello. I want to set up a direct debit for my council tax.")
    assert not [f for f in redact_text([why], options(), analyzer(), KEY).findings
                if f.recognizer == "payment_gap" and f.start_s < why.end_s]
    # a question after the cue is the request going on, not an answer
    asked = timed_turn(0, "agent", "Thanks. And the long number on the card, when you're ready?")
    assert not [f for f in redact_text([asked], options(), analyzer(), KEY).findings
                if f.recognizer == "payment_gap" and f.start_s < asked.end_s]  # the reply's time after it, only


def test_a_payment_cue_inside_the_greeting_asks_for_nothing() -> None:
    # mono: the whole opening merged into one agent turn; "Building Society" is a bank-account cue
    turn = ("Good morning. You're through to Milstone Building Society, Bill speaking. Calls are recorded for quality and "
            "training. How can I help? I think my card's been used. Can I take your full name, please? Jo Bloggs.")
    spans = _covered([turn, "Thanks."], ["agent", "customer"])[0]
    assert _none_redacted(turn, "Calls are recorded for quality and training", spans)
    from pipeline.redact.payment import cue_offset

    asked = "Good morning. You're through to Milstone Building Society. And the account number, please?"
    assert asked[cue_offset(asked, options().payment_window, start=True):].startswith("account number")
    # "speaking to" is no greeting: its cue asks
    speaking = "Am I speaking to you about the card number? Read it out when you're ready."
    assert speaking[cue_offset(speaking, options().payment_window, start=True):].startswith("card number")


@pytest.mark.parametrize("mono", [False, True])
def test_a_phone_number_begun_as_its_turn_ends_is_muted_on_to_the_next_words(mono: bool) -> None:
    """ "No, I misread that. It's plus four four" and the turn ends: the rest of the number was said, and the
    transcriber dropped it or gave it to the next turn, so the finding's time runs on (up to max_gap_s) to the
    next words on the channel."""
    from pipeline.redact import redact_text, redaction_key

    reply = "It's oh seven seven double oh, nine double oh, five eight three. No, I misread that. It's plus four four"
    turns = [_worded_turn(0, "agent", "And the contact number, please?", 0.0, None if mono else 0),
             _worded_turn(1, "customer", reply, 3.0, None if mono else 1),
             _worded_turn(2, "agent", "Lovely, thank you.", 12.0, None if mono else 0),
             _worded_turn(3, "customer", "Thanks, bye.", 16.0, None if mono else 1)]
    text = redact_text(turns, options(), analyzer(), redaction_key(True))
    last = turns[1].words[-1]
    begun = [f for f in text.findings if f.turn_index == 1 and f.char_end == len(reply)]
    assert begun and begun[0].entity_type == "PHONE_NUMBER"
    # mono: up to the agent's next word; stereo: the customer's channel is free for max_gap_s
    assert begun[0].end_s == pytest.approx(12.0 if mono else last.end_s + options().answer_window.max_gap_s)
    off = redact_text(turns, options(payment_window={"whole_digits": {"PHONE_NUMBER": 0}}), analyzer(), redaction_key(True))
    assert max(f.end_s for f in off.findings if f.turn_index == 1 and f.char_end == len(reply)) < last.end_s + 0.5
    # a whole number ending its turn keeps the usual reach
    whole = redact_text(turns[:1] + [_worded_turn(1, "customer", "It's oh seven seven double oh, nine double oh, five "
                                                                 "eight three", 3.0, None if mono else 1)] + turns[2:],
                        options(), analyzer(), redaction_key(True))
    end = max(f.end_s for f in whole.findings if f.turn_index == 1 and f.entity_type == "PHONE_NUMBER")
    assert end < whole.turns[1].end_s + 0.5


def test_three_oh_heard_as_three_though_is_a_digit_of_the_run() -> None:
    # "oh nine, three oh, eight five" (a sort code) heard as "oh nine. Three, though. Eight, five."
    text = "Okay, oh nine. Three, though. Eight, five."
    assert [r.code for r in find_runs(text, options().code_runs)] == ["093085"]
    assert found(["OK, so if you can just pop those through.", text], speakers=["agent", "customer"]) == [
        (1, "UK_SORT_CODE", "oh nine. Three, though. Eight, five")]
    assert find_runs("I'm away next week though, sorry.", options().code_runs) == []


def test_an_expiry_request_heard_as_expired_on_the_card_opens_the_exchange() -> None:
    assert request_types("D .A. expiried on the card.", options().payment_window) == ["CARD_EXPIRY"]
    assert (1, "CARD_EXPIRY", "January 2027") in found(
        ["D .A. expiried on the card.", "End of January 2027. Do you need the little code as well?"],
        speakers=["agent", "customer"])


def test_a_number_of_working_days_after_a_code_is_no_read_back() -> None:
    texts = ["And the last four of the account?", "three, eight, four, three.",
             "Usually 3 -5 working days. You can use the app in the meantime."]
    assert [t for t, _, _ in found(texts)] == [1]
    opts = options()
    units = [w for w in opts.code_runs.unit_words if "working" not in w and "business" not in w]
    without = opts.model_copy(update={"code_runs": opts.code_runs.model_copy(update={"unit_words": units})})
    assert (2, "3 -5") in [(t, s) for t, _, s in found(texts, opts=without)]


def test_mono_a_payment_request_sentence_that_runs_on_past_its_cue_is_muted_from_the_cue() -> None:
    from pipeline.redact import redact_text
    from tests._redact_support import KEY

    # "four oh nine" heard as "for all night" inside the agent's run-on sentence; the turn's only later value is a name
    text = ("What's the expiry date? 0, 4, 31. OK. So what I need from you next is the security code if you have it to "
            "hand and then I can get it sorted for all night Usually three to five working days. You can use the app "
            "in the meantime. Is there anything else I can help with today? Thanks for calling, Mrs Whitfield.")
    turn = timed_turn(0, "agent", text, word_s=0.2).model_copy(update={"channel": None})
    words = text.split()
    cue_end, hidden = turn.words[words.index("code")].end_s, turn.words[words.index("night")].end_s
    out = redact_text([turn], options(), analyzer(), KEY)
    assert any(f.entity_type == "PERSON" for f in out.findings)  # the name the gap must not be taken for the reply
    gaps = [(f.start_s, f.end_s) for f in out.findings if f.recognizer == "payment_gap"]
    assert any(a <= cue_end + 1e-6 and b >= hidden for a, b in gaps)
    # a request sentence that ends soon after its cue is muted from its end, as before
    short = text.replace("if you have it to hand and then I can get it sorted for all night Usually three to five "
                         "working days.", "please.")
    turn = timed_turn(0, "agent", short, word_s=0.2).model_copy(update={"channel": None})
    end = turn.words[short.split().index("please.")].end_s
    starts = [f.start_s for f in redact_text([turn], options(), analyzer(), KEY).findings if f.recognizer == "payment_gap"]
    assert starts and min(starts) >= end - 1e-6


def test_a_payment_value_asked_for_again_is_muted_in_the_next_reply() -> None:
    """Mono merged the customer's first answer into the agent's turn, which ends asking to hear it
    again: the reply repeats the security code, written as no code at all ("6 '5\"" for "six five five")."""
    texts = ["Then the 3 -digit code on the signature strip. 6 -5 -5. Sorry, you broke up a bit there. "
             "Could you say that once more?", "Yeah, sorry. It's 6 '5\".", "That happens sometimes."]
    speakers = ["agent", "customer", "agent"]
    opts = options()
    got = [(d.turn_index, texts[d.turn_index][d.start:d.end]) for d in payment_findings(texts, speakers, opts)
           if d.recognizer == "payment_window"]
    assert [t for t, _ in got] == [1]
    assert "6" in got[0][1] and "sorry" not in got[0][1].lower()
    # Asked again with no payment request before it, nothing opens.
    plain = ["Sorry, you broke up a bit there. Could you say that once more?", "I said it's the boiler again.",
             "Right."]
    assert not [d for d in payment_findings(plain, speakers, opts) if d.recognizer == "payment_window"]
