"""Redaction of transcriber-garbled values: answer windows (and the untranscribed gap after a
request), organisation names found in the call, hyphenated and 'plus' codes, run-together
e-mails, street propagation, and merged audio spans."""

from __future__ import annotations

import pytest

from pipeline.redact.answer import (answer_gaps, answer_windows, declared_addresses, declared_emails, mid_turn_answer_gaps,
                                   reply_gaps, requested_types, spelled_names)
from pipeline.redact.audio import redaction_spans
from pipeline.redact.normalise import canonicalise
from pipeline.redact.orgs import organisation_names
from pipeline.schema import PiiFinding
from tests._redact_support import found, options, spans_of, timed_turn


def _window(question: str, reply: str, asker: str = "agent") -> list[str]:
    other = "customer" if asker == "agent" else "agent"
    texts = [question, reply]
    return [reply[d.start:d.end] for d in answer_windows(texts, [asker, other], options().answer_window)]


@pytest.mark.parametrize(("question", "reply", "redacted"), [
    ("What's your postcode?", "Yeah it's LS6 to be in.", ["LS6 to be in"]),  # inward code misheard
    ("And the first line of the address?", "12 mill lanes, thanks.", ["12 mill lanes"]),
    ("Can you confirm the address", "rose cottage 17 mill brow", ["rose cottage 17 mill brow"]),
    ("So that's the card ending 4444, and the expiry,", "928", ["928"]),  # no question mark
    ("Could I take your date of birth?", "Sure, the Ninth of Octember, eighty one.", ["Ninth of Octember, eighty one"]),
    ("What's the best e-mail for you?", "It's Jay Smith at fast mail dot co dot UK.", ["Jay Smith at fast mail dot co dot UK"]),
])
def test_reply_to_a_request_loses_its_value_like_words(question: str, reply: str, redacted: list[str]) -> None:
    assert _window(question, reply) == redacted


@pytest.mark.parametrize(("question", "reply", "asker"), [
    ("What's your postcode?", "Sorry, one second, I need to find the letter.", "agent"),  # nothing value-like
    ("How has your week been?", "Terrible, I rang 3 times.", "agent"),  # no cue
    ("Can you email me something?", "Of course, I'll send the Premier Saver details.", "customer"),  # customer asks
    ("What's the best e-mail for you?", "The one on the account, Premier Saver.", "agent"),  # no 'at' / 'dot'
])
def test_no_window_without_a_request_or_a_value(question: str, reply: str, asker: str) -> None:
    assert _window(question, reply, asker) == []


def test_window_ends_when_the_requester_speaks_at_length() -> None:
    texts = ["Can I take your postcode?", "Mm, hang on.", "While you look, I'll note the fault on the account.",
             "It's BT4 3AB and my mum is Jane."]
    spans = answer_windows(texts, ["agent", "customer", "agent", "customer"], options().answer_window)
    assert {d.turn_index for d in spans} <= {1}


def test_cue_needs_a_request_and_may_carry_a_suffix() -> None:
    opts = options().answer_window
    assert requested_types("and you're addressed for the report?", opts) == {"STREET_ADDRESS"}
    assert requested_types("Your postcode is on the letter we sent.", opts) == {"UK_POSTCODE"}  # 'your' asks
    assert requested_types("We moved our postcode checker online last year.", opts) == set()


def test_a_cue_the_transcriber_split_with_a_question_mark_still_asks() -> None:
    """tiny.en heard "Could I take the postcode now?" as "Could I take the post? Good now.": the cue
    starts in the question and runs on into the next sentence."""
    opts = options().answer_window
    assert requested_types("Thanks for holding. Could I take the post? Good now.", opts) == {"UK_POSTCODE"}
    # a cue that lies wholly in the next sentence is that sentence's, and a statement asks nothing
    assert requested_types("Is that everything? Post good news on the forum.", opts) == set()
    texts = ["Thanks for holding. Could I take the post? Good now.", "Yes. It's in one, 90 -way."]
    spans = answer_windows(texts, ["agent", "customer"], opts)
    assert any(d.turn_index == 1 and "one" in texts[1][d.start:d.end] for d in spans)


def test_untranscribed_gap_after_a_request_is_silenced() -> None:
    turns = [timed_turn(0, "agent", "Can I take your name and date of birth", start=0.0),
             timed_turn(1, "agent", "and your tenancy reference?", start=6.0),
             timed_turn(2, "customer", "It's on a letter somewhere.", start=9.0)]
    gaps = answer_gaps(turns, options().answer_window)
    assert [(i, round(a, 2), round(b, 2)) for i, _, a, b in gaps] == [(0, 2.7, 6.0), (1, 7.2, 9.0)]
    assert gaps[0][1] in {"PERSON", "DATE_OF_BIRTH"}


def test_mono_a_reply_merged_into_the_request_turn_is_muted_in_time_and_kept_in_text() -> None:
    # Diarisation put the customer's "It's Dr Nkechi Balogun" in the agent's turn, garbled (issue #15).
    text = "First I need a few details and the name on the account It's doctor and catch I apologize and the contact number"
    turn = timed_turn(0, "agent", text).model_copy(update={"channel": None})
    words = text.split()
    gaps = mid_turn_answer_gaps([turn], options().answer_window, values=[])
    a, b = turn.words[words.index("account")].end_s, turn.words[words.index("contact")].start_s
    assert [(i, t, round(x, 2), round(y, 2)) for i, t, x, y in gaps] == [(0, "PERSON", round(a, 2), round(b, 2))]
    # after the request's own sentence, up to the next request
    stop = timed_turn(0, "agent", "Can I take the postcode? If you have it to hand. And your date of birth")
    gaps = mid_turn_answer_gaps([stop.model_copy(update={"channel": None})], options().answer_window, values=[])
    assert [(t, round(x, 2)) for _, t, x, _ in gaps] == [("UK_POSTCODE", round(stop.words[4].end_s, 2))]
    # the request's own words ("..., please?", "... on the account?") are no reply
    for asked in ("Can I take your full name, please?", "What's the date of birth on the account?"):
        plain = timed_turn(0, "agent", asked + " Thanks").model_copy(update={"channel": None})
        assert all(x >= plain.words[-2].end_s for _, _, x, _ in
                   mid_turn_answer_gaps([plain], options().answer_window, values=[]))
    # run-on with no stop, the next word not a new sentence: talk ("the full name if you have it to hand")
    talk = timed_turn(0, "agent", "what I need is the full name if you have it to hand").model_copy(update={"channel": None})
    assert mid_turn_answer_gaps([talk], options().answer_window, values=[]) == []
    # a value found after the request: answered, nothing more to mute; stereo: the channel says who spoke
    assert mid_turn_answer_gaps([turn], options().answer_window, values=[(0, a + 0.5)]) == []
    assert mid_turn_answer_gaps([turn.model_copy(update={"channel": 0})], options().answer_window, values=[]) == []


def test_mono_a_mid_turn_request_answered_in_the_next_turn_leaves_the_agents_words_after_it() -> None:
    text = "So what I need next is the account number. If you have it to hand, and then I can get that sorted."
    turn = timed_turn(0, "agent", text).model_copy(update={"channel": None})
    reply = timed_turn(1, "customer", "Yeah, two six one four.", start=turn.end_s + 0.3).model_copy(update={"channel": None})
    a = turn.words[text.split().index("number.")].end_s
    # the reply transcribed in the next turn, with a value in it: the rest of the request turn is the agent's
    assert mid_turn_answer_gaps([turn, reply], options().answer_window, values=[(1, reply.start_s + 0.2)]) == []
    # no value found there (garbled or dropped), or the next turn the agent's own: muted as before
    for turns, values in (([turn, reply], []), ([turn, reply.model_copy(update={"speaker": "agent"})],
                                                [(1, reply.start_s + 0.2)])):
        got = mid_turn_answer_gaps(turns, options().answer_window, values=values)
        assert [round(x, 2) for _, _, x, _ in got] == [round(a, 2)]


def test_mono_a_value_after_the_cue_in_its_own_sentence_ends_the_request() -> None:
    # a read-back merged with its confirmation and the agent's next words: nothing after it is the reply (asked as a
    # question: a statement with the cue inside it is no request at all, see the scour-mobile test below)
    text = ("Can I check the first line of the address, I've got 83a Hollinsend Road? "
            "Yes, that's still correct. I'll send a replacement by next-day delivery.")
    turn = timed_turn(0, "agent", text).model_copy(update={"channel": None})
    value_at = turn.words[text.split().index("83a")].start_s
    assert mid_turn_answer_gaps([turn], options().answer_window, values=[]) != []
    assert mid_turn_answer_gaps([turn], options().answer_window, values=[(0, value_at)]) == []


def test_a_corrected_reply_gets_a_word_budget_of_its_own_after_the_correction() -> None:
    # "oh seven seven oh oh, nine oh oh seven seven nine. Oh, hang on, no, I've misread that. It's ... four nine."
    asked = "What's the best number to reach you on?"
    reply = "All 7 7 0 0. Manual 7 7 9. Oh, hang on. No, I must read that. It's all 7 7 0 0. Manual 7 4 9."
    assert "7 4 9" in spans_of([asked, reply])
    # without a correction the budget (answer_window.max_words) still ends the window in a long reply
    plain = options().model_copy(update={"answer_window": options().answer_window.model_copy(update={"correction_cues": []})})
    assert "7 4 9" not in spans_of([asked, reply], opts=plain)


def test_a_title_and_the_words_after_it_answer_a_name_request_in_any_case() -> None:
    reply = "It's ms chitty ramen before you ask my date of birth is the 22nd of December 2004."
    assert "ms chitty ramen" in _window("And the name on the account?", reply)
    # "the doctor" is talk; a title with nothing name-like after it is no name
    talk = _window("Who am I speaking to?", "It's for my mum, she saw the doctor yesterday, and Mrs. Smith too.")
    assert any("Mrs. Smith" in v for v in talk) and not any("doctor" in v for v in talk)
    assert not any("Ms" in v for v in _window("And your full name?", "Ms, and then whatever you have on file."))


@pytest.mark.parametrize(("text", "value"), [
    ("It's 9 to 5 for ender 1. And the postcode is C50 to Tp.", "C50 to Tp"),  # volunteered, garbled
    ("my postcode is S W one A one A A and I live there", "S W one A one A A"),
    ("Our postcode is changing next year so I'll ring back.", None),            # no digit: talk about it
    ("The postcode is on the letter, I think.", None),
    # "two" written as "to": the digit the first words must hold ("N E two, four B F")
    ("So the postcode you want is any to for be F.", "any to for be F"),
])
def test_a_postcode_stated_in_the_sentence_of_its_cue_is_redacted(text: str, value: str | None) -> None:
    got = [text[a:b] for a, b in declared_addresses(text, options().answer_window, "UK_POSTCODE")]
    assert got == ([value] if value else [])


def test_a_name_found_once_is_redacted_wherever_else_it_is_said_but_a_common_word_heard_for_one_is_not() -> None:
    # The greeting's name was heard as "That is" (GreetingName takes it, as it must); "That's" later is talk.
    texts = ["Good morning. You're through to Oak Ridge Insurance. That is speaking. Calls are recorded. How can I help?",
             "Hi, it's Priya Nair.",
             "Thank you. That's you verified. And Priya, what's the date of birth?"]
    got = found(texts, "PERSON", speakers=["agent", "customer", "agent"])
    assert (0, "That is") in [(t, s) for t, _, s in got]
    assert [s for t, _, s in got if t == 2] == ["Priya"]


def test_a_daytime_or_evening_number_is_asked_for() -> None:
    opts = options().answer_window
    assert requested_types("Have you got a daytime number and an evening one?", opts) == {"PHONE_NUMBER"}


def test_organisation_in_the_greeting_is_not_a_person() -> None:
    texts = ["Good morning, Acme Telecom, Priya speaking. How can I help?", "Hi, it's about my bill."]
    assert organisation_names(texts, ["agent", "customer"], options()) == ("Acme Telecom",)
    assert [s for _, _, s in found(texts, "PERSON")] == ["Priya"]
    assert organisation_names(["Good morning, Sarah Jones, how can I help?"], ["agent"], options()) == ()
    assert organisation_names(["Welcome to Brightwave. Tom speaking."], ["agent"], options()) == ("Brightwave",)


@pytest.mark.parametrize(("text", "canonical"), [
    ("My postcode's B-one-five, two-T-T.", "My postcode's B15 2TT."),
    ("Plus four four, seven seven double oh, nine double oh, five eight one.", "+44 7700 900 581."),
    ("It's O-K-A-F-O-R.", "It's O-K-A-F-O-R."),  # a spelled name stays a word
    ("a one-to-one session, two plus two", "a one-to-one session, 2 plus 2"),
])
def test_hyphenated_codes_and_international_prefix(text: str, canonical: str) -> None:
    assert canonicalise(text).text == canonical


def test_run_together_email_needs_email_context() -> None:
    assert found(["Can you email me something? It's gmars65edexample .org."], "EMAIL_ADDRESS")
    assert not found(["The forms are on gov .uk these days, you know."], "EMAIL_ADDRESS")


def test_a_street_repeated_in_a_recap_is_redacted_in_any_case() -> None:
    texts = ["What's the address?", "Fourteen Orchard Lane, Thornby.", "So pick up from orchard lane at nine."]
    assert "orchard lane" in [s for t, _, s in found(texts) if t == 2]


def test_close_findings_are_silenced_as_one_span() -> None:
    def finding(a: float, b: float) -> PiiFinding:
        return PiiFinding(entity_type="CREDIT_CARD", turn_index=0, char_start=0, char_end=1, start_s=a, end_s=b,
                          recognizer="t", score=0.9, value_hmac="0" * 64)
    spans = [finding(1.0, 2.0), finding(2.8, 3.5), finding(6.0, 7.0)]
    def rounded(merge_gap_s: float) -> list[tuple[float, float]]:
        return [(round(a, 3), round(b, 3)) for a, b in redaction_spans(spans, 0.1, 10.0, merge_gap_s=merge_gap_s)]
    assert rounded(0.0) == [(0.9, 2.1), (2.7, 3.6), (5.9, 7.1)]
    assert rounded(0.7) == [(0.9, 3.6), (5.9, 7.1)]


# Values the transcriber wrote in lower case or garbled, found by the structure around them (issue #15).

@pytest.mark.parametrize(("turn", "value"), [
    ("I've got the first line of the address down as the old board orchard growth. Is that still right?",
     "the old board orchard growth"),  # an agent's read-back, every word misheard
    ("So the first line of the address you want is 58, a large kill. And I told three people.", "58, a large kill"),
    ("I've got the first line of the address down to 15B told me, mute, is that still right?", "15B told me, mute"),
    ("my address is 9 kestrel way and I moved in May", "9 kestrel way"),  # unpunctuated: a new clause ends it
    ("I've got the first line of the address down, a 35 course you think. Is that still right?",
     "35 course you think"),  # "down as" heard as "down, a"
])
def test_address_said_in_the_sentence_of_its_cue_is_redacted(turn: str, value: str) -> None:
    spans = declared_addresses(turn, options().answer_window)
    assert [turn[s:e] for s, e in spans] == [value]


@pytest.mark.parametrize("turn", [
    "Is the first line of your address still the same?",  # a question, no value
    "The address is correct, thanks.",
    "Your address is on file already.",
    "I need to change my address. I've just moved.",
])
def test_address_cue_without_a_stated_value_redacts_nothing(turn: str) -> None:
    assert declared_addresses(turn, options().answer_window) == []


@pytest.mark.parametrize(("question", "reply", "value"), [
    ("End the house number and street.", "It's rose -coated or she banked.", "rose -coated or she banked"),
    ("What's the new address?", "Yeah, it's rose -cotted, ten -low -cares, and the post go to G12.",
     "rose -cotted, ten -low -cares"),
    ("And the first line?", "Er, it's a 115b bramble wood close, I think, yeah.", "a 115b bramble wood close"),
])
def test_lower_case_address_led_by_its_answer_is_redacted(question: str, reply: str, value: str) -> None:
    assert value in _window(question, reply)


@pytest.mark.parametrize(("question", "reply"), [
    ("What's the new address?", "It's the same as before."),
    ("What's the first line of your address?", "It's in my partner's name, really."),
    ("How are you today?", "It's rose -coated or she banked."),  # no address request: no window
])
def test_address_reply_without_a_value_keeps_its_words(question: str, reply: str) -> None:
    assert _window(question, reply) == []


@pytest.mark.parametrize(("turn", "name"), [
    ("That in the sorensen, that's F -O -R -D -N -F -E -F.", "sorensen"),  # lower case, garbled spelling
    ("Arjun Adami, that's the D -E -Y -E -M -I,", "Arjun Adami"),
    ("my surname is okafor, spelt O-K-A-F-O-R", "okafor"),
])
def test_words_before_a_spelling_are_the_name_spelled(turn: str, name: str) -> None:
    spans = spelled_names(turn, options().answer_window)
    assert [turn[s:e] for s, e in spans] == [name]


@pytest.mark.parametrize("turn", [
    "The reference, that's B -E -4 -7.",  # a cue word is not a name; the run itself is a code
    "That's it. Yeah.",
    "Thank you. That's you verified.",
    "It's 4 -7 -7 -3.",  # digits are no spelling
])
def test_no_name_without_a_spelling_or_before_a_cue(turn: str) -> None:
    assert spelled_names(turn, options().answer_window) == []


@pytest.mark.parametrize(("reply", "redacted"), [
    ("Arjun is Amy that's the DY.", True),  # a full name opens the reply
    ("Fatima Sorensen.", True),
    ("You and Kaz lost us.", False),  # a pronoun opens it
    ("Spot on.", False),
])
def test_first_words_of_a_reply_to_a_name_request(reply: str, redacted: bool) -> None:
    spans = _window("Can I take your full name, please?", reply)
    assert any(reply.split()[0] in s for s in spans) is redacted


def test_a_request_by_an_unknown_speaker_opens_an_answer_window() -> None:
    texts = ["What's the new address?", "It's rose -coated or she banked.", "Lovely. Anything else?"]
    found = answer_windows(texts, ["unknown"] * 3, options().answer_window)
    assert [texts[d.turn_index][d.start:d.end] for d in found if d.turn_index == 1] == ["rose -coated or she banked"]
    assert answer_windows(["How are you?", "It's rose -coated or she banked."], ["unknown"] * 2,
                          options().answer_window) == []


@pytest.mark.parametrize(("reply", "value"), [
    ("It's Rose Covid. For she bank.", "Rose Covid. For she bank"),  # a false full stop inside the street
    ("It's 12 mill lane. Thanks.", "12 mill lane"),  # a courtesy word is not the street
    ("It's 12 mill lane. Why do you ask?", "12 mill lane"),  # a question is not the street
    ("It's 12 mill lane. I moved there in the spring.", "12 mill lane"),  # a long sentence is not either
])
def test_a_short_sentence_after_a_led_address_goes_on_with_it(reply: str, value: str) -> None:
    found = answer_windows(["What's the first line of the address?", reply], ["agent", "customer"], options().answer_window)
    covered = {k for d in found for k in range(d.start, d.end) if reply[k].isalnum()}
    at = reply.index(value)
    assert covered == {k for k in range(at, at + len(value)) if reply[k].isalnum()}


def test_a_reply_begun_over_the_end_of_the_request_closes_the_gap() -> None:
    turns = [timed_turn(0, "agent", "And your postcode, please?", start=0.0),
             timed_turn(1, "customer", "Yeah it's on the letter.", start=1.0),
             timed_turn(2, "agent", "Lovely, thank you.", start=6.0)]
    assert turns[1].start_s < turns[0].end_s < turns[1].end_s
    assert answer_gaps(turns, options().answer_window) == []


@pytest.mark.parametrize(("turn", "value"), [
    ("I've got the first line of the address down as Rosecottage. Station approach. Is that still right?",
     "Rosecottage. Station approach"),
    ("I've got the address down as Flat 2. 12 Glebe Avenue. Is that right?", "Flat 2. 12 Glebe Avenue"),
    # no confirmation question after it, or a sentence of the agent's own: the value ends at its full stop
    ("The address is 12 Glebe Avenue. Station approach.", "12 Glebe Avenue"),
    ("The address is 12 Glebe Avenue. I can see the bill. Is that right?", "12 Glebe Avenue"),
    # a value with no street word yet goes on over short statements, question or not, up to talk
    ("Before you ask my first line of the address is flat 33. Blend in height. Ball quen rise. I've got it here.",
     "flat 33. Blend in height. Ball quen rise"),
])
def test_a_declared_address_read_back_for_confirmation_goes_on_over_false_full_stops(turn: str, value: str) -> None:
    spans = declared_addresses(turn, options().answer_window)
    assert [turn[a:b] for a, b in spans] == [value]


def test_a_date_of_birth_found_once_is_redacted_when_read_back_in_another_form() -> None:
    texts = ["Can I take your date of birth?", "Yeah, the fifth of September, 1939.",
             "So that's the 5th of September 1939, is that right?", "Yes. I moved here in September 1939 actually.",
             "And the bill from the 5th of October 2024 is paid."]
    got = found(texts, "DATE_OF_BIRTH", speakers=["agent", "customer", "agent", "customer", "agent"])
    assert any(i == 2 and "5th of September 1939" in s for i, _, s in got)
    assert any(i == 3 and "September 1939" in s for i, _, s in got)   # the same month and year, no day said
    assert not any(i == 4 for i, _, _ in got)                         # another date stays


@pytest.mark.parametrize("said", ["nineteen thirty-nine", "nineteen thirty nine", "thirty-nine"])
def test_a_date_of_birth_read_back_in_words_is_redacted(said: str) -> None:
    texts = ["Can I take your date of birth?", "Yeah, the fifth of September, nineteen thirty-nine.",
             f"So that's the fifth of September, {said}, is that right?",
             "And the bill from the fifth of October, twenty twenty-four, is paid."]
    got = found(texts, "DATE_OF_BIRTH", speakers=["agent", "customer", "agent", "agent"])
    assert any(i == 2 and f"the fifth of September, {said}" in s for i, _, s in got)
    assert not any(i == 3 for i, _, _ in got)


@pytest.mark.parametrize(("text", "value"), [
    ("I've got the day to first down as the 18th of October, 2004. Is that still right?", "the 18th of October, 2004"),
    ("eighth June ninety-three.", "eighth June ninety-three"),
    ("It's the second of February, 1959.", "the second of February, 1959"),
    ("It's the 3rd of July 1893.", "the 3rd of July 1893"),  # "nineteen" heard as "eighteen"
    ("So that's the 4th of June. 1977. Is that right?", "the 4th of June. 1977"),  # a transcriber's full stop
    ("2nd, March 61.", "2nd, March 61"),  # a transcriber's comma between the day and the month
])
def test_a_full_date_long_ago_is_a_date_of_birth_whatever_the_words_around_it(text: str, value: str) -> None:
    assert spans_of(["Okay.", text], "DATE_OF_BIRTH", speakers=["agent", "customer"]) == [value]


@pytest.mark.parametrize("text", [
    "The engineer comes on the 3rd of March next year.",   # no year
    "It was bought on the 5th of May, 10 of them.",       # a two-digit number under 20 is no year
    "You'll get a reminder on the first of December.",
    "It arrived on the 2nd of May. 22 of them were broken.",  # a full stop before a number that is no year
])
def test_a_recent_or_partial_date_is_not_taken_for_a_birth_date(text: str) -> None:
    assert spans_of(["Okay.", text], "DATE_OF_BIRTH", speakers=["agent", "customer"]) == []


def test_a_full_date_this_year_stays() -> None:
    from datetime import date

    text = f"The engineer comes on the 3rd of March {date.today().year}."
    assert spans_of(["Okay.", text], "DATE_OF_BIRTH", speakers=["agent", "customer"]) == []


@pytest.mark.parametrize(("reply", "value"), [("In echo with you.", "echo with you"), ("Yeah, grey slowly.", "grey slowly")])
def test_a_short_reply_to_a_name_request_is_the_name_however_garbled(reply: str, value: str) -> None:
    assert spans_of(["Who am I speaking with today?", reply], "PERSON", speakers=["agent", "customer"]) == [value]


@pytest.mark.parametrize(("asked", "reply", "value"), [
    ("Who am I speaking with today?", "Plug in a daily. That's A for Alpha, D for Delta.", "Plug in a daily"),
    ("Who am I speaking with today?", "It's that foam amends that. The thing is, I moved in the spring.", "foam amends that"),
    ("Can I take your full name,", "Prey elinces, that's it.", "Prey elinces"),
    ("End the name on the account.", "It's the messiest of aquifer.", "messiest of aquifer"),
    ("Can I take your full name?", "Grace as is that's A for Alpha, Z for Zulu.", "Grace as is"),
    ("Okay, so what I need from you. Next is the full name. If you have it to hand.",
     "Yeah, that I'm a ballagunt. Before you ask, my first line is the same.", "ballagunt"),
])
def test_the_first_short_clause_of_a_reply_to_a_name_request_is_the_name_however_garbled(asked, reply, value) -> None:
    assert value in spans_of([asked, reply], "PERSON", speakers=["agent", "customer"])


def test_a_full_name_given_in_lower_case_is_redacted_to_the_next_punctuation() -> None:
    text = "Before you ask, my full name is pre -prolining. I've got it in front of me."
    assert spans_of(["Okay.", text], "PERSON", speakers=["agent", "customer"]) == ["pre -prolining"]


@pytest.mark.parametrize("reply", ["Sorry?", "Yes, it's me.", "Hang on a sec.", "It is for my mum actually, she asked me.",
                                   "It's about my bill, actually.", "It's in my partner's name, really."])
def test_a_reply_to_a_name_request_with_no_name_in_it_stays(reply: str) -> None:
    assert spans_of(["Who am I speaking with today?", reply], "PERSON", speakers=["agent", "customer"]) == []


_OPENING = "Good morning, Kestrel Water, Priya speaking. How can I help?"


@pytest.mark.parametrize(("closing", "value"), [
    ("Thanks for calling MSO Risk Call. Take care now.", "MSO Risk Call"),      # "Ms O'Driscoll" garbled
    ("Lovely. Thanks for calling, Robert, have a good day.", "Robert"),
    ("Thanks for calling. I'm going to influence it. Take care now.", "I'm going to influence"),  # a sentence of its own
    ("Thank you for calling, Mr. trolling. Take care now.", "Mr. trolling"),
    ("Thanks for calling. Mrs. so they'll take care of now.", "so they'll"),    # a title, then the name as any words
    ("for calling missus at take care now", "at"),
    ("Thanks for calling. M .S. Dorsey. Take care now", "Dorsey"),               # the title as letters
    ("Thanks for calling. M .S .S. seatbelt. Take care now.", "seatbelt"),       # ... one heard twice
    ("Thanks for calling. M .F. Memphis, take care now.", "Memphis"),             # "Ms" heard as "M .F."
    ("Thanks for calling. MS -WODs that you take care of now.", "-WODs that you"),  # a name heard as three words
])
def test_the_words_after_thanks_for_calling_in_the_closing_are_the_customers_name(closing: str, value: str) -> None:
    assert spans_of([_OPENING, "Hi.", closing], "PERSON", speakers=["agent", "customer", "agent"]) == [value]


@pytest.mark.parametrize("closing", [
    "Thanks for calling Kestrel Water, take care.",    # the organisation the opening named
    "Thanks for calling, bye now.",
    "Thanks for calling today.",
    "Thanks for calling. Your refund is on its way to you now.",
    "Thanks for calling. Take care now.",
])
def test_the_organisation_and_closing_words_after_thanks_for_calling_stay(closing: str) -> None:
    assert spans_of([_OPENING, "Hi.", closing], "PERSON", speakers=["agent", "customer", "agent"]) == []


def test_thanks_for_calling_in_the_opening_names_the_organisation() -> None:
    texts = ["Thanks for calling Lumen Fibre, this is Hollie. How can I help?", "Hi, I'm moving house.",
             "Right. Thanks for calling Lumen Fibre, bye now."]
    assert [s for t, _, s in found(texts, "PERSON", speakers=["agent", "customer", "agent"])] == ["Hollie"]


@pytest.mark.parametrize(("text", "value"), [("Thanks again. Mr. trolling, take care.", "Mr. trolling"),
                                             ("Okay, MS had it, bye now.", "MS had")])
def test_a_title_before_a_name_written_as_common_words_is_a_name(text: str, value: str) -> None:
    assert spans_of(["Hello.", text], "PERSON", speakers=["customer", "agent"]) == [value]


def test_a_wh_question_the_transcriber_wrote_without_its_question_mark_still_asks() -> None:
    texts = ["What email address should the confirmation go to", "jam up help speed on one word again you dot code dot UK"]
    assert spans_of(texts, "EMAIL_ADDRESS", speakers=["agent", "customer"]) == [texts[1]]


def test_a_request_to_say_it_again_keeps_the_window_open_for_the_new_reply() -> None:
    texts = ["And the first line of the address?", "It's, er, sorry, the line's bad.",
             "Sorry, you broke up a bit there. Could you say that once more?", "It's 41, Harrowgate Rise, right."]
    speakers = ["agent", "customer", "agent", "customer"]
    got = [(d.turn_index, texts[d.turn_index][d.start:d.end]) for d in answer_windows(texts, speakers, options().answer_window)]
    assert any(i == 3 and "41" in v and "Harrowgate" in v for i, v in got)
    # Without the request to repeat, the agent speaking at length ends the window.
    texts[2] = "Sorry, the system is very slow today, bear with me while it loads."
    got = [(d.turn_index, texts[d.turn_index][d.start:d.end]) for d in answer_windows(texts, speakers, options().answer_window)]
    assert not any(i == 3 for i, _ in got)


@pytest.mark.parametrize(("turn", "value"), [
    ("Have you got your booking reference there? KTW. Okay, and the rest?", "KTW"),
    ("And the postcode? M14. Lovely.", "M14"),
])
def test_a_short_answer_straight_after_the_request_in_its_own_turn_is_redacted(turn: str, value: str) -> None:
    got = [turn[d.start:d.end] for d in answer_windows([turn], ["agent"], options().answer_window)]
    assert value in got


@pytest.mark.parametrize("turn", ["What's the postcode? Lovely. Thanks.", "Can I take your name? Yes, of course.",
                                  "And the reference? Do you have it?"])
def test_a_short_sentence_after_the_request_with_no_value_in_it_stays(turn: str) -> None:
    assert answer_windows([turn], ["agent"], options().answer_window) == []


def test_a_name_asked_for_beside_another_item_is_the_first_clause_of_the_reply_after_a_bare_yes() -> None:
    texts = ["So what I need next is the full name, and then the first line of the address.", "Yeah,", "by ye'll met."]
    got = [(d.turn_index, d.entity_type, texts[d.turn_index][d.start:d.end])
           for d in answer_windows(texts, ["agent", "customer", "customer"], options().answer_window)]
    assert (2, "PERSON", "by ye'll met") in got


@pytest.mark.parametrize(("text", "value"), [
    ("Before you ask, my full name is all the way from AI or I've got it in front of me.", "all the way from"),
    ("Yes, my full name's Grace Oyelaran-Pike.", "Grace Oyelaran-Pike"),
    # "is" heard as "as"; the words up to the next "I've" ("Ruairi Balogun")
    ("before you ask my full name as the urey ballagine I've got it in front of me.", "the urey ballagine"),
])
def test_the_words_after_my_full_name_is_are_the_name_whatever_they_became(text: str, value: str) -> None:
    assert value in " ".join(spans_of(["Hello, how can I help?", text], "PERSON", speakers=["agent", "customer"]))


@pytest.mark.parametrize("text", ["My full name is on the account already.", "Is that my full name as it appears on the card?",
                                  "Put my full name as well, please."])
def test_my_full_name_is_on_the_account_names_nobody(text: str) -> None:
    assert spans_of(["Hello.", text], "PERSON", speakers=["agent", "customer"]) == []


@pytest.mark.parametrize(("question", "reply", "value", "kept"), [
    ("Thanks for holding. Could I take the post good now?", "Yes, it's G 12 a cj", "G 12 a cj", "Yes, it's"),  # tiny.en's "postcode"
    ("What's your postcode?", "It's M 14 and I'll be in all day.", "M 14", "and I'll be in all day"),
    # the inward digit heard right, its letters as words; "post go" is tiny.en's "postcode" too
    ("What's the post go there?", "M1 Three to beat before you ask", "M1 Three to beat", "before you ask"),
])
def test_a_spaced_outward_code_takes_its_garbled_inward_half_up_to_a_new_clause(question: str, reply: str, value: str,
                                                                                   kept: str) -> None:
    got = _window(question, reply)
    assert value in got and not any(kept in g or g in kept for g in got)


def test_an_email_with_its_at_glued_between_digits_and_the_domain_needs_no_context() -> None:
    assert spans_of(["Hello.", "Shopify42atoutwork .com. Got it ready."], "EMAIL_ADDRESS",
                    speakers=["agent", "customer"]) == ["Shopify42atoutwork .com"]


def test_a_whole_reply_turn_to_a_name_request_of_up_to_six_words_is_the_name() -> None:
    # "Ms Tariq Tanaka" heard as six everyday words; the same words before more talk in the turn are not taken
    asked = "Can I take your full name, please?"
    assert spans_of([asked, "It's a messed heart can knock up"], "PERSON", speakers=["agent", "customer"]) \
        == ["messed heart can knock up"]
    assert spans_of([asked, "It's a messed heart can knock up, and I rang last week"], "PERSON",
                    speakers=["agent", "customer"]) == []


def test_the_first_short_sentence_of_a_reply_to_a_name_or_postcode_request_is_muted_in_time() -> None:
    turns = [timed_turn(0, "agent", "And the name on the account.", start=0.0),
             timed_turn(1, "customer", "Yeah, for I'm going to dammit. It was about the bill.", start=3.0),
             timed_turn(2, "agent", "What's the post go there?", start=9.0),
             timed_turn(3, "customer", "and one for ew.", start=11.0),
             timed_turn(4, "agent", "And how can I help today?", start=14.0),
             timed_turn(5, "customer", "It's the bill.", start=16.0)]
    gaps = reply_gaps(turns, options().answer_window)
    reply = turns[1].words
    assert [(i, t) for i, t, _, _ in gaps] == [(0, "PERSON"), (2, "UK_POSTCODE")]
    assert (gaps[0][2], gaps[0][3]) == (reply[1].start_s, reply[5].end_s)  # "Yeah," leads; the sentence ends
    # a question back, or a long first sentence, is no reply
    for reply_text in ("Sorry, who is asking?", "Well it is in my husband's name but he passed away last year"):
        asked = [turns[0], turns[1].model_copy(update={"text": reply_text, "words": timed_turn(1, "customer", reply_text, start=3.0).words})]
        assert reply_gaps(asked, options().answer_window) == []


@pytest.mark.parametrize(("asked", "reply", "entity_type", "end"), [
    ("Can you confirm the phone number we hold?", "Okey rate, 96 .49,", "PHONE_NUMBER", 3),
    ("And your email, please?", "In branding in it. No. Sorry.", "EMAIL_ADDRESS", 3),
])
def test_the_first_short_sentence_of_a_reply_to_a_phone_or_email_request_is_muted_in_time(asked, reply, entity_type,
                                                                                           end) -> None:
    turns = [timed_turn(0, "agent", asked, start=0.0), timed_turn(1, "customer", reply, start=3.0)]
    words = turns[1].words
    assert reply_gaps(turns, options().answer_window) == [(0, entity_type, words[0].start_s, words[end].end_s)]


def test_a_reply_gap_keeps_the_lead_words_before_a_found_value_and_skips_a_read_back() -> None:
    turns = [timed_turn(0, "agent", "What's the date of birth on the account?", start=0.0),
             timed_turn(1, "customer", "I was born on the 14th October 56.", start=3.0)]
    words = turns[1].words
    date_at = words[5].start_s  # "14th"
    gaps = reply_gaps(turns, options().answer_window)
    assert [(a, b) for _, _, a, b in gaps] == [(words[0].start_s, words[-1].end_s)]
    # the value found where it is: "I was born on the" is its lead
    found = reply_gaps(turns, options().answer_window, values=[(1, "DATE_OF_BIRTH", date_at)])
    assert [(a, b) for _, _, a, b in found] == [(date_at, words[-1].end_s)]
    # a value of another type is no evidence of where the requested one is
    assert reply_gaps(turns, options().answer_window, values=[(1, "PERSON", date_at)]) == gaps
    # a first sentence of its own before the value, found after it, leads in; a short one may be the value's start
    ref = [timed_turn(0, "agent", "Can you read me the reference from the top of the letter?"),
           timed_turn(1, "customer", "Top right of the letter. It says reference R E 5 0 3 2 0 1 1.", start=5.0)]
    later = [(1, "ACCOUNT_NUMBER", ref[1].words[8].start_s)]
    assert reply_gaps(ref, options().answer_window) != []
    assert reply_gaps(ref, options().answer_window, values=later) == []
    short = [ref[0], timed_turn(1, "customer", "Are E. It's 5 0 3 2 0 1 1.", start=5.0)]
    assert reply_gaps(short, options().answer_window, values=[(1, "ACCOUNT_NUMBER", short[1].words[3].start_s)]) != []
    # ... nor one whose first words come before an aside: the value said first ("He and me, sorry, someone's at the
    # door." for "P N E, sorry, ...")
    aside = [ref[0], timed_turn(1, "customer", "He and me, sorry, someone's at the door. Okay, 827 205 5.", start=5.0)]
    assert reply_gaps(aside, options().answer_window, values=[(1, "ACCOUNT_NUMBER", aside[1].words[9].start_s)]) != []
    # a name said and then spelled: the first sentence is the name garbled, whatever its length
    name = [timed_turn(0, "agent", "Can I take your full name, please?"),
            timed_turn(1, "customer", "It's quite a man's son. That's M E N S A H.", start=5.0)]
    assert reply_gaps(name, options().answer_window, values=[(1, "PERSON", name[1].words[7].start_s)]) != []
    # the agent reading the value back asks for a confirmation, not the value
    back = [timed_turn(0, "agent", "And the date of birth, the 14th October 56?"),
            timed_turn(1, "customer", "Spot on, yes.", start=6.0)]
    assert reply_gaps(back, options().answer_window) != []
    assert reply_gaps(back, options().answer_window, values=[(0, "DATE_OF_BIRTH", 2.0)]) == []


def test_the_reply_to_a_request_asked_again_is_muted_past_its_filler_sentences() -> None:
    # "Gwen Llewellyn" heard as "When the low end?", then, asked again, as "Yeah. Sorry. It's going the low end."
    turns = [timed_turn(0, "agent", "Can I take your full name, please?", start=0.0),
             timed_turn(1, "customer", "When the low end?", start=3.0),
             timed_turn(2, "agent", "Sorry. You broke up a bit there. Could you say that once more?", start=5.0),
             timed_turn(3, "customer", "Yeah. Sorry. It's going the low end.", start=9.0),
             timed_turn(4, "agent", "Thanks. Could you say that once more? The line is bad.", start=12.0),
             timed_turn(5, "customer", "It's about my bill.", start=16.0)]
    reply = turns[3].words
    gaps = reply_gaps(turns[:4], options().answer_window)
    assert gaps == [(2, "PERSON", reply[2].start_s, reply[-1].end_s)]
    # a turn that asks again for nothing asked before it takes nothing
    assert reply_gaps([turns[4], turns[5]], options().answer_window) == []
    assert reply_gaps(turns[:4], options().answer_window.model_copy(update={"reask_cues": []})) == []


def test_the_head_of_a_long_first_sentence_of_a_reply_to_an_address_request_is_muted_in_time() -> None:
    # "It's Flat one, Victoria Mansions, Oystermouth Road" heard as everyday words running on into the postcode
    reply_text = "to flat one, before he imagines, was from the throat, and the postcode is 0x4, 5 CT,"
    turns = [timed_turn(0, "agent", "No problem. What's the new address?", start=0.0),
             timed_turn(1, "customer", reply_text, start=3.0)]
    opts = options().answer_window
    words = turns[1].words
    assert [(i, t, a, b) for i, t, a, b in reply_gaps(turns, opts)] == [
        (0, "STREET_ADDRESS", words[0].start_s, words[opts.reply_gap_words - 1].end_s)]
    # only the listed types take its head: a reply to a phone request loses only its lead before a comma
    asked = [timed_turn(0, "agent", "Can I take a contact number?", start=0.0), turns[1]]
    assert reply_gaps(asked, opts) == [(0, "PHONE_NUMBER", words[0].start_s, words[2].end_s)]
    assert reply_gaps(turns, opts.model_copy(update={"reply_gap_head_types": []})) == []


@pytest.mark.parametrize(("question", "reply", "entity_type"), [
    # a reference broken by an aside ("Y S, sorry, the dog's going mad, one second, 8 4 8 3 0 7 4 0")
    ("Can you read me the reference from the top of the letter?",
     "Why have, sorry, the dog's going mad, one second, 8 .4 .8 .3 .0 .7 .4 .0.", "ACCOUNT_NUMBER"),
    # a postcode begun again ("I V two, no, sorry, let me start that again. I V two, seven W B")
    ("And the postcode?", "I need to, no, sorry, let me start that again. I need to, 8 -G -J,", "UK_POSTCODE"),
    # no comma written: the aside's first word ends the lead ("E X sorry ...")
    ("Can you read me the reference from the top of the letter?",
     "Ex sorry the dog's going mad one second eight eight oh nine eight five nine", "ACCOUNT_NUMBER"),
])
def test_the_lead_before_a_comma_of_a_long_reply_to_a_reference_or_postcode_request_is_muted_in_time(
        question: str, reply: str, entity_type: str) -> None:
    turns = [timed_turn(0, "agent", question, start=0.0), timed_turn(1, "customer", reply, start=4.0)]
    opts = options().answer_window
    words = turns[1].words
    lead = next(k for k, w in enumerate(words) if w.text.endswith(",") or words[k + 1].text == "sorry")
    assert reply_gaps(turns, opts) == [(0, entity_type, words[0].start_s, words[lead].end_s)]
    assert reply_gaps(turns, opts.model_copy(update={"reply_gap_lead_words": 0})) == []
    # a longer lead is talk ("It's about my bill, and ...")
    talk = "It is about my bill, and the reference is on the letter somewhere, hang on."
    assert reply_gaps([turns[0], timed_turn(1, "customer", talk, start=4.0)], opts) == []


def test_a_name_said_before_its_phonetic_spelling_is_muted_in_time() -> None:
    # "Rhys Mahmoud, M for Mike, A for alpha, H for hotel ..." with no stop
    reply = "We smack me turn in and for Mike for alpha H for hotel and for Mike offer Oscar"
    turns = [timed_turn(0, "agent", "Can I take your full name, please?", start=0.0),
             timed_turn(1, "customer", reply, start=4.0)]
    opts, phonetic = options(), frozenset(options().code_runs.phonetic_alphabet)
    words = turns[1].words
    assert reply_gaps(turns, opts.answer_window, phonetic) == [(0, "PERSON", words[0].start_s, words[4].end_s)]
    assert reply_gaps(turns, opts.answer_window) == []  # no alphabet, no spelling


def test_the_reply_to_a_date_of_birth_request_is_muted_in_time() -> None:
    # "tenth May eighty-four" heard as "that may a before": no date rule reads it
    turns = [timed_turn(0, "agent", "What's the date of birth on the account?", start=0.0),
             timed_turn(1, "customer", "that may a before", start=3.0)]
    opts = options().answer_window
    words = turns[1].words
    assert reply_gaps(turns, opts) == [(0, "DATE_OF_BIRTH", words[0].start_s, words[-1].end_s)]
    without = [t for t in opts.reply_gap_types if t != "DATE_OF_BIRTH"]
    assert reply_gaps(turns, opts.model_copy(update={"reply_gap_types": without})) == []


def test_mono_the_rest_of_a_name_request_sentence_is_the_merged_reply() -> None:
    for text, first in (("I need to check a few details. Can I take your full name, please or it's firm.", "or"),
                        ("First I just need the name on the account I'm happy to add it.", "I'm")):
        turn = timed_turn(0, "agent", text).model_copy(update={"channel": None})
        words = text.split()
        gaps = mid_turn_answer_gaps([turn], options().answer_window, values=[])
        assert (0, "PERSON", turn.words[words.index(first)].start_s, turn.words[-1].end_s) in gaps
    # the request's own question: nothing after it
    asked = timed_turn(0, "agent", "Can I take your full name and date of birth?").model_copy(update={"channel": None})
    assert mid_turn_answer_gaps([asked], options().answer_window, values=[]) == []


@pytest.mark.parametrize(("reply", "value", "kept"), [
    ("47, no length. And the postcode is on the letter.", "47, no length", "And the postcode"),
    ("Yeah 47, I think. Or maybe 49.", "47", "I think"),  # a new clause after the comma is talk
])
def test_a_house_number_takes_its_street_after_a_comma_when_the_sentence_ends_soon(reply: str, value: str,
                                                                                     kept: str) -> None:
    got = _window("What's the new address?", reply)
    assert value in got and not any(kept in g for g in got)


def test_a_reply_that_asks_in_turn_is_still_searched_as_the_reply() -> None:
    # mono: the agent's next request merged into the customer's reply makes its speaker unknown
    texts = ["What's the new address?", "It's 47 no length. And post -good is EC2A or key key."]
    got = [texts[1][d.start:d.end] for d in answer_windows(texts, ["agent", "unknown"], options().answer_window)]
    assert any("47" in g for g in got)


def test_a_short_reply_the_agent_repeats_back_is_the_value_however_garbled() -> None:
    # "A for Alpha, X for X-ray" heard as everyday words, in the reply and in the agent's read-back
    texts = ["Have you got your customer reference there?", "effort alpha, expert x -ray,",
             "Epper alpha, expert x -ray. Yep.", "Thanks, and the thing is I moved."]
    got = [(d.turn_index, texts[d.turn_index][d.start:d.end]) for d in
           answer_windows(texts, ["agent", "customer", "agent", "customer"], options().answer_window)
           if d.recognizer == "reply_echo"]
    assert got == [(1, "effort alpha, expert x -ray"), (2, "alpha, expert x -ray")]
    # a code's dots are no sentence ends, and a letter heard differently beside the repeated digits is the code's
    code = ["Can you confirm your postcode for me?", "E -1 .5.", "B -1 .5.", "Thank you."]
    got = [(d.turn_index, code[d.turn_index][d.start:d.end]) for d in
           answer_windows(code, ["agent", "customer", "agent", "customer"], options().answer_window)
           if d.recognizer == "reply_echo"]
    assert (2, "B -1 .5") in got
    # an agent's next turn sharing only talk words with the reply repeats nothing
    talk = ["Can I take your full name?", "Yes it's for the account.", "Lovely, thanks, and it's for the account?"]
    assert not any(d.recognizer == "reply_echo" for d in answer_windows(talk, ["agent", "customer", "agent"],
                                                                      options().answer_window))


def test_mono_a_request_ending_its_sentence_mid_turn_mutes_at_most_max_gap_s_of_what_follows() -> None:
    # "... is the postcode. If you have it to hand, ... for the one. One, eight, yeah. Thank you. That's you verified.
    # The courier ...": the merged reply comes first; the rest of the long turn is the agent talking on.
    text = ("So what I need from you next is the postcode. If you have it to hand and then I can get sorted for the one. "
            "One, eight, yeah. Thank you. That's you verified. The courier has it marked as delayed at the depot.")
    turn = timed_turn(0, "agent", text).model_copy(update={"channel": None})
    gaps = mid_turn_answer_gaps([turn], options().answer_window, values=[])
    a = turn.words[text.split().index("postcode.")].end_s
    assert [(t, round(x, 2), round(y, 2)) for _, t, x, y in gaps] == [("UK_POSTCODE", round(a, 2), round(a + 4.0, 2))]


def test_a_digit_heard_as_a_word_beside_a_number_is_part_of_a_number_reply() -> None:
    # "oh one four one, four one ..." heard as "a one for a one for ..."
    got = _window("What's the best number to reach you on?", "a one for a one for nine six")
    assert any("one for" in g for g in got) and all("a one" not in g for g in got)
    # only for the listed types; a range of days is no number
    texts, speakers = ["What's the best number to reach you on?", "a one for a one for nine six"], ["agent", "customer"]
    opts = options().answer_window.model_copy(update={"digit_types": []})
    assert [texts[1][d.start:d.end] for d in answer_windows(texts, speakers, opts)] == ["nine six"]
    assert _window("What's the best number to reach you on?", "It takes three to five working days.") == []


def test_a_short_sentence_ending_on_a_street_word_in_an_address_reply_is_the_street_with_the_house_name_before_it() -> None:
    asked = "So what I need next is the first line of the address. If you have it to hand."
    assert spans_of([asked, "Yeah.", "Fernbank. Kingfisher way. Do you want the reference now?"], "STREET_ADDRESS",
                    speakers=["agent", "customer", "customer"]) == ["Fernbank. Kingfisher way"]
    # a question, a lead-in, or no address request: nothing
    assert spans_of(["And the first line of the address?", "Yes. It's the same way. Do you need anything else?"],
                    "STREET_ADDRESS", speakers=["agent", "customer"]) == []
    assert spans_of(["How can I help?", "Fernbank. Kingfisher way."], "STREET_ADDRESS", speakers=["agent", "customer"]) == []
    # a garbled street name over several plain words ("Cairnfield Place" as "Care of the old place")
    got = spans_of(["What's the house number and street?", "It's E .B. Carry on the mill place."], "STREET_ADDRESS",
                   speakers=["agent", "customer"])
    assert any("Carry on the mill place" in g for g in got)


@pytest.mark.parametrize(("reply", "value"), [
    ("Yes, it's I beat to seven wb", "seven wb"),  # "I V two, seven W B": the inward code's letters in lower case
    ("Yes, it is the one by the church, at two pm I think.", None),  # a time's "pm" is no inward code
    ("It's 5 kg, the parcel, not the postcode.", None),
])
def test_an_inward_codes_letters_heard_in_lower_case_after_its_digit_are_the_postcode(reply: str, value: str | None) -> None:
    got = spans_of(["Thanks for holding. Could I take the postcode now?", reply], "UK_POSTCODE", speakers=["agent", "customer"])
    assert (value in got) if value else not any(w in " ".join(got) for w in ("pm", "kg"))


@pytest.mark.parametrize(("reply", "gap"), [
    ("That in the know what?", True),  # "Fatima Nowak" heard as a question
    ("Sorry, who is asking?", False),
    ("Is that for the joint account?", False),
])
def test_a_reply_to_a_name_request_with_a_question_mark_is_a_question_only_when_it_opens_like_one(
        reply: str, gap: bool) -> None:
    turns = [timed_turn(0, "agent", "Can I take your full name, please?", start=0.0),
             timed_turn(1, "customer", reply, start=3.0)]
    assert bool(reply_gaps(turns, options().answer_window)) is gap


@pytest.mark.parametrize(("text", "value"), [
    ("It's in my partner's name, really. But the first line of the addresses, okravens, we're guard.", "okravens, we're guard"),
    ("We wrote to both of the addresses last week.", None),
])
def test_the_first_line_of_the_address_is_run_together_declares_the_address(text: str, value: str | None) -> None:
    got = spans_of(["Can I take the reference?", text], "STREET_ADDRESS", speakers=["agent", "customer"])
    assert got == ([value] if value else [])


def test_a_turn_that_ends_on_a_closing_question_opens_no_window_gap_or_reply_gap() -> None:
    # mono: the read-back's "spot on" merged into the agent's turn, which then asks whether there is anything else
    agent = ("Let me spell that back, Y L A N Z, at the domain you said. Spot on. I'll correct the estimate for you. "
             "Is there anything else I can help with today?")
    turns = [timed_turn(0, "agent", agent), timed_turn(1, "customer", "No. That's everything.", start=12.0)]
    turns[0] = turns[0].model_copy(update={"end_s": 11.0})
    opts = options().answer_window
    texts, speakers = [t.text for t in turns], ["agent", "customer"]
    assert [d for d in answer_windows(texts, speakers, opts) if d.turn_index == 1] == []
    assert answer_gaps(turns, opts) == [] and reply_gaps(turns, opts) == []
    # without the rule the reply is taken for the name the read-back spelled
    off = opts.model_copy(update={"closing_questions": []})
    assert [d for d in answer_windows(texts, speakers, off) if d.turn_index == 1] != []
    assert reply_gaps(turns, off) != [] and answer_gaps(turns, off) != []
    # a request that is the turn's last sentence still opens them
    asked = [timed_turn(0, "agent", "Anything else? Can I take your full name, please?"), turns[1]]
    assert reply_gaps(asked, opts) != []
    # stereo: a reply begun before the closing question was asked answers the request before it, value-like words
    # and all ("... the security code. If you have it to hand. <reply: 'Yeah, for O9.'> ... Is there anything else?")
    code = timed_turn(0, "agent", "What I need next is the account reference. Usually three to five working days. "
                                  "Is there anything else I can help with today?")
    reply = timed_turn(1, "customer", "Yeah, R 40 9.", start=code.words[8].start_s)
    assert reply_gaps([code, reply], opts) != []
    assert [d for d in answer_windows([code.text, reply.text], speakers, opts) if d.turn_index == 1] != []


def test_a_reply_that_opens_with_a_wh_question_is_the_agent_asking_not_the_reply() -> None:
    # mono: the agent's next question written at the head of the customer's turn
    turns = [timed_turn(0, "agent", "Can I take your full name, please?"),
             timed_turn(1, "customer", "Where's the property? The first line.", start=3.0)]
    assert reply_gaps(turns, options().answer_window) == []
    garbled = [turns[0], timed_turn(1, "customer", "Well, the property?", start=3.0)]
    assert reply_gaps(garbled, options().answer_window) != []  # a value garbled into words with a question mark


def test_a_lead_clause_before_an_address_found_later_in_the_sentence_is_no_reply_gap() -> None:
    reply = "It's in my partner's name, really, but the first line of the address is Flat 25, Alder Court."
    turns = [timed_turn(0, "agent", "Can you give me the first line of the address?"),
             timed_turn(1, "customer", reply, start=4.0)]
    words = turns[1].words
    at = [(1, "STREET_ADDRESS", words[reply.split().index("Flat")].start_s)]
    opts = options().answer_window
    assert reply_gaps(turns, opts, values=at) == []
    assert reply_gaps(turns, opts) != []  # no address found: the head is muted as it was
    off = opts.model_copy(update={"reply_lead_sentence_types": []})
    assert reply_gaps(turns, off, values=at) != []
    # a short lead, or one with a value-like word in it, may be the value itself
    short = [turns[0], timed_turn(1, "customer", "Forty nine, sorry, the first line is 49 Cairnfield Place.", start=4.0)]
    assert reply_gaps(short, opts, values=[(1, "STREET_ADDRESS", short[1].words[7].start_s)]) != []
    named = [turns[0], timed_turn(1, "customer", "The Granary at Weaver's Wharf, then it's 4 Mill Lane.", start=4.0)]
    assert reply_gaps(named, opts, values=[(1, "STREET_ADDRESS", named[1].words[7].start_s)]) != []


def test_mono_a_cue_word_inside_a_statement_that_goes_on_is_no_mid_turn_request() -> None:
    # the organisation "Skylark Mobile" heard as "scour mobile": "mobile" asks for a phone only at a sentence's end
    text = ("Good morning, you're free to scour mobile more speaking calls are recorded for quality and training. "
            "How can I help?")
    turn = timed_turn(0, "agent", text).model_copy(update={"channel": None})
    assert mid_turn_answer_gaps([turn], options().answer_window, values=[]) == []
    asked = timed_turn(0, "agent", "Thanks. And a contact mobile. Yeah, it's oh seven seven. Lovely, thanks.").model_copy(
        update={"channel": None})
    assert [t for _, t, _, _ in mid_turn_answer_gaps([asked], options().answer_window, values=[])] == ["PHONE_NUMBER"]


def test_a_reply_begun_before_the_request_was_said_answers_something_else() -> None:
    # stereo: the agent's channel runs a read-back's "Is that still right?" into the next request; the customer's
    # "Yes, that's still correct." came between them, before the request
    agent = timed_turn(0, "agent", "Is that still right? And the house number and street?", start=0.0)
    asked_at = agent.words[4].start_s
    early = timed_turn(1, "customer", "Yes, that's still correct.", start=asked_at - 0.3)
    late = timed_turn(1, "customer", "Yes, that's still correct.", start=agent.words[-1].end_s + 0.3)
    opts = options().answer_window
    assert reply_gaps([agent, early], opts) == []
    assert reply_gaps([agent, late], opts) != []


def test_a_reply_after_the_requester_talked_on_in_a_turn_of_its_own_is_no_reply_gap() -> None:
    asked = timed_turn(0, "agent", "Can I take an email address?", start=0.0)
    back = timed_turn(1, "agent", "Let me spell that back, D Y L A N, at the domain you said.", start=6.0)
    spot = timed_turn(2, "customer", "Spot on.", start=11.0)
    opts = options().answer_window
    spelled = [(1, "PERSON", back.words[5].start_s)]  # the read-back's letters, found: it asks for a confirmation
    assert reply_gaps([asked, back, spot], opts, values=spelled) == []
    # an interjection of the requester's ("Mm-hm.") between the request and the reply does not end it
    assert reply_gaps([asked, timed_turn(1, "agent", "Mm-hm.", start=6.0), spot], opts) != []


@pytest.mark.parametrize(("text", "value"), [
    # volunteered, its "is" heard as a full stop, its "at" as "on", its domain over a second sentence
    ("Before you ask, my email addresses. Kay dot rule on B -47it. Yeah, who dot -co -dot -uk. I've got it here.",
     "Kay dot rule on B -47it. Yeah, who dot -co -dot -uk"),
    ("The email address you want is sam dot reed at gmail dot com and the phone is the same.",
     "sam dot reed at gmail dot com"),
    ("My email is the same. I'm at work now.", None),               # one e-mail word: no address
    ("Which email should the confirmation go to", None),            # a request, not a statement of one
    ("I'll send the email to you now at the end of the day.", None),
])
def test_an_email_stated_after_its_cue_is_redacted(text: str, value: str | None) -> None:
    got = [text[a:b] for a, b in declared_emails(text, options().answer_window)]
    assert got == ([value] if value else [])
    if value:  # and the policy redacts it, though nothing asked for an e-mail
        assert any(i == 1 and s == value for i, _, s in found(["Thanks, that's all I need.", text],
                                                                 speakers=["agent", "customer"]))
