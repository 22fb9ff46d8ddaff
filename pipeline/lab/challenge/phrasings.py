"""The ways a value gets said in a call: phrasing templates for the PII challenge corpus.

A phrasing is a small exchange (one or more scripted turns) that carries one value: asked and
answered, volunteered unasked, read back by the agent, corrected mid-way, split across turns
with interjections, spelled letter by letter or in the NATO alphabet, said during a hold, given
after a garbled request, and so on. Each is written for this corpus (none is copied from a held-out
set). A phrasing returns turns in the tests/data/SCHEMA.md shape; every PII label's text is the
exact spoken words in its turn (what the synthesiser says).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.lab.challenge.values import Value, say, say_digits

__all__ = ["Context", "Phrasing", "PHRASINGS", "phrasings_for", "turn", "WHAT", "ASK"]

DIGIT_TYPES = {"CREDIT_CARD", "UK_SORT_CODE", "UK_BANK_ACCOUNT", "UK_NHS", "PHONE_NUMBER", "ACCOUNT_NUMBER",
               "CARD_SECURITY_CODE"}
LONG_TYPES = DIGIT_TYPES - {"CARD_SECURITY_CODE"} | {"UK_NINO", "EMAIL_ADDRESS", "UK_POSTCODE"}
ALL_TYPES = DIGIT_TYPES | {"PERSON", "EMAIL_ADDRESS", "UK_POSTCODE", "STREET_ADDRESS", "DATE_OF_BIRTH",
                           "CARD_EXPIRY", "UK_NINO"}

WHAT = {
    "PERSON": "full name", "PHONE_NUMBER": "phone number", "EMAIL_ADDRESS": "email address",
    "UK_POSTCODE": "postcode", "STREET_ADDRESS": "first line of the address", "DATE_OF_BIRTH": "date of birth",
    "CREDIT_CARD": "card number", "CARD_SECURITY_CODE": "security code", "CARD_EXPIRY": "expiry date",
    "UK_SORT_CODE": "sort code", "UK_BANK_ACCOUNT": "account number", "UK_NINO": "National Insurance number",
    "UK_NHS": "NHS number", "ACCOUNT_NUMBER": "customer reference",
}
ASK = {
    "PERSON": ["Can I take your full name, please?", "Who am I speaking with today?",
               "And the name on the account?"],
    "PHONE_NUMBER": ["What's the best number to reach you on?", "Can you confirm the phone number we hold?",
                     "And a contact number, please?"],
    "EMAIL_ADDRESS": ["What email address should the confirmation go to?", "Can I take an email address?",
                      "And your email, please?"],
    "UK_POSTCODE": ["And the postcode, please?", "Can you confirm your postcode for me?",
                    "What's the postcode there?"],
    "STREET_ADDRESS": ["Can you give me the first line of the address?", "And the house number and street?",
                       "Where's the property, the first line?"],
    "DATE_OF_BIRTH": ["And your date of birth?", "Can you confirm your date of birth, please?",
                      "What's the date of birth on the account?"],
    "CREDIT_CARD": ["When you're ready, the long number across the front of the card.",
                    "Can I take the card number, please?", "Okay, go ahead with the card number."],
    "CARD_SECURITY_CODE": ["And the security code, the last three digits on the back?",
                           "Then the three-digit code on the signature strip.", "And the security number?"],
    "CARD_EXPIRY": ["What's the expiry date?", "And when does the card expire?", "The expiry on the card?"],
    "UK_SORT_CODE": ["What's the sort code of the account?", "Can I take the sort code, please?",
                     "And the six-digit sort code?"],
    "UK_BANK_ACCOUNT": ["And the eight-digit account number?", "Then the bank account number, please.",
                        "What's the account number with the bank?"],
    "UK_NINO": ["Can I take your National Insurance number?", "And your National Insurance number, please?",
                "I'll need the National Insurance number to find the claim."],
    "UK_NHS": ["Do you have your NHS number handy?", "Can you give me the NHS number, please?",
               "And the patient's NHS number?"],
    "ACCOUNT_NUMBER": ["Have you got your customer reference there?", "What's the account reference, please?",
                       "Can you read me the reference from the top of the letter?"],
}
# Requests the way they come out on a bad line or from a hurried agent: no keyword to catch.
GARBLED = ["Right, and, er, the, the long one when you're ready.", "Okay so if you can just, um, pop those through.",
           "Lovely, and the, sorry, the other bit now.", "And go on then, from the start.",
           "Yep, fire away with the, with those."]
FILLERS = ["um", "er", "erm", "uh"]


@dataclass(frozen=True)
class Context:
    """What a phrasing may mention besides its value."""

    organisation: str
    agent: str
    customer_first: str
    helper: str = "Sam"  # someone in the room with the customer


Lines = list[dict]
Render = Callable[[random.Random, Value, Context, "Factory"], Lines]
Factory = Callable[[str], Value]


@dataclass(frozen=True)
class Phrasing:
    """One template: its id, the entity types it can carry, and how it renders."""

    id: str
    types: frozenset[str]
    render: Render


def turn(speaker: str, text: str, *pii: tuple[str, str], labels: tuple[str, ...] = (), **timing) -> dict:
    """One scripted turn; each (type, words) must occur verbatim in `text`."""
    for _, words in pii:
        if words not in text:
            raise AssertionError("a phrasing put a label that is not in its text")
    out = {"speaker": speaker, "text": text, "labels": list(labels),
           "pii": [{"type": t, "text": w} for t, w in pii]}
    out.update({k: v for k, v in timing.items() if v})
    return out


def _ask(rng: random.Random, t: str) -> dict:
    labels = ("call.idv",) if t in ("PERSON", "DATE_OF_BIRTH", "UK_POSTCODE", "STREET_ADDRESS") else ()
    return turn("agent", rng.choice(ASK[t]), labels=labels)


def _split(spoken: str, parts: int = 2) -> list[str]:
    """Split spoken words into `parts` pieces at group (comma) or word boundaries."""
    groups = [g for g in spoken.split(", ") if g]
    if len(groups) < parts:
        groups = spoken.replace(",", "").split(" ")
    size = max(1, round(len(groups) / parts))
    pieces = [groups[k * size:(k + 1) * size] for k in range(parts - 1)] + [groups[(parts - 1) * size:]]
    sep = ", " if ", " in spoken else " "
    return [sep.join(p) for p in pieces if p]


def _mutate(value: Value) -> Value:
    """The same value with one digit changed (what a caller says before correcting it)."""
    c = value.canonical
    k = max(i for i, ch in enumerate(c) if ch.isdigit()) - 1
    while k >= 0 and not c[k].isdigit():
        k -= 1
    k = max(k, 0)
    new = c[:k] + str((int(c[k]) + 3) % 10) + c[k + 1:] if c[k].isdigit() else c
    parts = dict(value.parts)
    if value.type == "ACCOUNT_NUMBER":
        parts["digits"] = new[len(parts["letters"]):]
    return Value(value.type, new, parts)


# ------------------------------------------------------------------------ generic structures
# Each takes the spoken style as a bound argument; WHAT/ASK words come from the value's type.


def _plain(style: str, lead: str = "It's {v}.") -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [_ask(rng, value.type), turn("customer", lead.format(v=v), (value.type, v))]
    return render


def _readback(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        again = say(value, "zero" if style != "zero" else "oh")
        return [_ask(rng, value.type), turn("customer", f"Yeah, {v}.", (value.type, v)),
                turn("agent", f"So that's {again}, is that right?", (value.type, again)),
                turn("customer", "That's it, yeah.")]
    return render


def _readback_tail(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        tail = _split(v, 3)[-1]
        return [_ask(rng, value.type), turn("customer", f"{v}.", (value.type, v)),
                turn("agent", f"Thank you, and that one ends {tail}, yes?", (value.type, tail)),
                turn("customer", "Correct.")]
    return render


def _say_again(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [_ask(rng, value.type), turn("customer", f"{v}.", (value.type, v)),
                turn("agent", "Sorry, you broke up a bit there, could you say that once more?"),
                turn("customer", f"Yeah, sorry, it's {v}.", (value.type, v))]
    return render


def _restart(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        first = _split(v, 2)[0]
        return [_ask(rng, value.type),
                turn("customer", f"{first}, no, sorry, let me start that again. {v}.", (value.type, first),
                     (value.type, v))]
    return render


def _digit_fix(style: str) -> Render:
    def render(rng, value, ctx, make):
        wrong, right = say(_mutate(value), style), say(value, style)
        return [_ask(rng, value.type),
                turn("customer", f"{wrong}. Oh, hang on, no, I've misread that. It's {right}.",
                     (value.type, wrong), (value.type, right))]
    return render


def _split_turns(style: str, interjection: str = "Mm-hm.") -> Render:
    def render(rng, value, ctx, make):
        a, b = _split(say(value, style), 2)
        return [_ask(rng, value.type), turn("customer", f"{a}...", (value.type, a)),
                turn("agent", interjection), turn("customer", f"{b}.", (value.type, b))]
    return render


def _split_three(style: str) -> Render:
    def render(rng, value, ctx, make):
        pieces = _split(say(value, style), 3)
        lines = [_ask(rng, value.type)]
        for k, p in enumerate(pieces):
            lines.append(turn("customer", f"{p}.", (value.type, p)))
            if k < len(pieces) - 1:
                lines.append(turn("agent", ["Yep.", "Okay.", "Go on."][k % 3]))
        return lines
    return render


def _interjected(style: str) -> Render:
    def render(rng, value, ctx, make):
        a, b = _split(say(value, style), 2)
        aside = rng.choice(["sorry, the dog's going mad, one second", "hang on, my glasses, right",
                            "sorry, someone's at the door, okay"])
        return [_ask(rng, value.type), turn("customer", f"{a}, {aside}, {b}.", (value.type, a), (value.type, b))]
    return render


def _garbled(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [turn("agent", rng.choice(GARBLED)), turn("customer", f"Okay. {v}.", (value.type, v))]
    return render


def _go_on(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [turn("customer", f"Do you want the {WHAT[value.type]} now?"), turn("agent", "Go on."),
                turn("customer", f"{v}.", (value.type, v))]
    return render


def _during_hold(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [turn("agent", "Bear with me, I'll just put you on hold for a moment while I check.",
                     labels=("call.hold_request",), hold_s=round(rng.uniform(3.0, 5.0), 1)),
                turn("customer", f"{ctx.helper}, can you pass me that letter? Ta. Right, {v}, got it ready.",
                     (value.type, v), pause_before_s=0.2),
                turn("agent", "Thanks for holding. Could I take the {0} now?".format(WHAT[value.type]),
                     labels=("call.hold_return",)),
                turn("customer", f"Yes, it's {v}.", (value.type, v))]
    return render


def _fillers(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        f1, f2 = rng.sample(FILLERS, 2)
        return [_ask(rng, value.type), turn("customer", f"{f1.capitalize()}, it's, {f2}, {v}, I think, yeah.",
                                            (value.type, v))]
    return render


def _embedded(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [turn("customer", f"The thing is, I moved in the spring and nothing got updated, so the "
                                 f"{WHAT[value.type]} you want is {v}, and I've told three people that already.",
                     (value.type, v))]
    return render


def _third_party(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [_ask(rng, value.type),
                turn("customer", f"It's in my partner's name really, but the {WHAT[value.type]} is {v}.",
                     (value.type, v))]
    return render


def _agent_holds(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [turn("agent", f"I've got the {WHAT[value.type]} down as {v}. Is that still right?",
                     (value.type, v), labels=("call.idv",)),
                turn("customer", "Yes, that's still correct.")]
    return render


def _volunteered(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [turn("customer", f"Before you ask, my {WHAT[value.type]} is {v}, I've got it in front of me.",
                     (value.type, v)),
                turn("agent", "Oh, thank you, that saves a step.")]
    return render


def _overlap(style: str) -> Render:
    def render(rng, value, ctx, make):
        v = say(value, style)
        return [turn("agent", f"Okay, so what I need from you next is the {WHAT[value.type]}, if you have "
                              "it to hand, and then I can get that sorted for you."),
                turn("customer", f"Yeah, {v}.", (value.type, v), overlap_s=0.8)]
    return render


def _spelled_after(style: str, spell: str) -> Render:
    def render(rng, value, ctx, make):
        v, s = say(value, style), say(value, spell)
        return [_ask(rng, value.type),
                turn("customer", f"{v}, that's {s}.", (value.type, v), (value.type, s))]
    return render


def _split_letters_turns(style: str) -> Render:
    """Spelled in two turns with the agent repeating the first half (postcodes, NINOs)."""
    def render(rng, value, ctx, make):
        a, b = _split(say(value, style), 2)
        return [_ask(rng, value.type), turn("customer", f"{a}...", (value.type, a)),
                turn("agent", f"{a}, yep.", (value.type, a)), turn("customer", f"{b}.", (value.type, b))]
    return render


# ------------------------------------------------------------------------ type-specific ones


def _card_full(rng, value, ctx, make):
    expiry, cvv = make("CARD_EXPIRY"), make("CARD_SECURITY_CODE")
    c, e, s = say(value, rng.choice(["oh", "zero"])), say(expiry, "oh"), say(cvv, "oh")
    return [turn("agent", "I can take that payment now. Whenever you're ready with the card."),
            turn("customer", f"Okay, long number is {c}, expiry {e}, and the three on the back are {s}.",
                 ("CREDIT_CARD", c), ("CARD_EXPIRY", e), ("CARD_SECURITY_CODE", s))]


def _card_fours(rng, value, ctx, make):
    groups = say(value, "oh").split(", ")
    lines = [turn("agent", rng.choice(ASK["CREDIT_CARD"]))]
    for k, g in enumerate(groups):
        lines.append(turn("customer", f"{g}.", ("CREDIT_CARD", g), pause_before_s=0.3))
        if k < len(groups) - 1:
            lines.append(turn("agent", "Yep."))
    return lines


def _card_someone_else(rng, value, ctx, make):
    c = say(value, "doubles")
    return [turn("agent", rng.choice(ASK["CREDIT_CARD"])),
            turn("customer", f"{ctx.helper}, read it out to me. Right, she says {c}.", ("CREDIT_CARD", c))]


def _expiry_natural(rng, value, ctx, make):
    e = say(value, "natural")
    return [turn("agent", rng.choice(ASK["CARD_EXPIRY"])), turn("customer", f"End of {e}.", ("CARD_EXPIRY", e))]


def _expiry_slash(rng, value, ctx, make):
    e = say(value, "oh")
    return [turn("agent", rng.choice(ASK["CARD_EXPIRY"])),
            turn("customer", f"It says valid thru {e}.", ("CARD_EXPIRY", e))]


def _cvv_back(rng, value, ctx, make):
    s = say(value, "oh")
    return [turn("agent", rng.choice(ASK["CARD_SECURITY_CODE"])),
            turn("customer", f"Last three, {s}.", ("CARD_SECURITY_CODE", s))]


def _cvv_unasked_front(rng, value, ctx, make):
    s = say(value, "zero")
    return [turn("customer", f"Do you need the little code as well? It's {s}.", ("CARD_SECURITY_CODE", s)),
            turn("agent", "I do, thank you.")]


def _sort_dashes(rng, value, ctx, make):
    d = value.canonical
    s = " dash ".join(say_digits(d[k:k + 2], "oh") for k in (0, 2, 4))
    return [turn("agent", rng.choice(ASK["UK_SORT_CODE"])), turn("customer", f"It's {s}.", ("UK_SORT_CODE", s))]


def _bank_pair(rng, value, ctx, make):
    account = make("UK_BANK_ACCOUNT")
    s, a = say(value, "pairs"), say(account, rng.choice(["doubles", "pairs"]))
    return [turn("agent", "For the direct debit I'll need the bank details. Sort code first."),
            turn("customer", f"{s}.", ("UK_SORT_CODE", s)),
            turn("agent", "And the account number."),
            turn("customer", f"{a}.", ("UK_BANK_ACCOUNT", a))]


def _bank_one_breath(rng, value, ctx, make):
    account = make("UK_BANK_ACCOUNT")
    s, a = say(value, "oh"), say(account, "oh")
    return [turn("agent", "Which account would you like the refund paid into?"),
            turn("customer", f"Sort code {s}, account {a}.", ("UK_SORT_CODE", s), ("UK_BANK_ACCOUNT", a))]


def _email_readback_spelled(rng, value, ctx, make):
    v = say(value, "oneword")
    local = value.canonical.split("@")[0]
    spelled = " ".join(c.upper() for c in local if c.isalpha())[:40].strip()
    return [_ask(rng, "EMAIL_ADDRESS"), turn("customer", f"{v}.", ("EMAIL_ADDRESS", v)),
            turn("agent", f"Let me spell that back: {spelled}, at the domain you said?", ("EMAIL_ADDRESS", spelled)),
            turn("customer", "Spot on.")]


def _phone_two(rng, value, ctx, make):
    other = make("PHONE_NUMBER")
    a, b = say(value, "oh"), say(other, "doubles")
    return [turn("agent", "Have you got a daytime number and an evening one?"),
            turn("customer", f"Daytime's {a}, and evenings best on {b}.", ("PHONE_NUMBER", a), ("PHONE_NUMBER", b))]


def _name_spell_nato_surname(rng, value, ctx, make):
    first, last = value.parts["first"], value.parts["last"]
    n = say(value, "nato")
    return [_ask(rng, "PERSON"),
            turn("customer", f"{first} {last}. Surname's {n}.", ("PERSON", f"{first} {last}"), ("PERSON", n))]


def _name_title(rng, value, ctx, make):
    title = rng.choice(["Mrs", "Mr", "Ms", "Dr"])
    full = f"{title} {value.parts['first']} {value.parts['last']}"
    return [_ask(rng, "PERSON"), turn("customer", f"It's {full}.", ("PERSON", full))]


def _agent_name_asked(rng, value, ctx, make):
    return [turn("customer", "Sorry, who was I speaking to, just so I have it?"),
            turn("agent", f"It's {ctx.agent}.", ("PERSON", ctx.agent))]


def _dob_born(rng, value, ctx, make):
    d = say(value, "short")
    return [_ask(rng, "DATE_OF_BIRTH"), turn("customer", f"I was born on the {d}.", ("DATE_OF_BIRTH", d))]


def _address_moved(rng, value, ctx, make):
    a = say(value, "natural")
    postcode = make("UK_POSTCODE")
    p = say(postcode, "natural")
    return [turn("customer", "I need to change my address, I've just moved."),
            turn("agent", "No problem, what's the new address?"),
            turn("customer", f"It's {a}, and the postcode is {p}.", ("STREET_ADDRESS", a), ("UK_POSTCODE", p))]


def _nino_letters_pairs(rng, value, ctx, make):
    c = value.canonical
    n = f"{c[0]} {c[1]}, {say(Value('UK_SORT_CODE', c[2:8]), 'pairs')}, {c[8]}"
    return [_ask(rng, "UK_NINO"), turn("customer", f"{n}.", ("UK_NINO", n))]


def _reference_on_letter(rng, value, ctx, make):
    v = say(value, "oh")
    return [turn("agent", rng.choice(ASK["ACCOUNT_NUMBER"])),
            turn("customer", f"Top right of the letter, it says reference {v}.", ("ACCOUNT_NUMBER", v))]


def _nhs_from_app(rng, value, ctx, make):
    v = say(value, "zero")
    return [turn("agent", rng.choice(ASK["UK_NHS"])),
            turn("customer", f"Let me open the app. Okay, it's showing {v}.", ("UK_NHS", v))]


# ------------------------------------------------------------------------ the table

_D = frozenset(DIGIT_TYPES)
_LONG = frozenset(LONG_TYPES)
_ALL = frozenset(ALL_TYPES)
_SPELLABLE = frozenset({"UK_POSTCODE", "UK_NINO", "ACCOUNT_NUMBER"})


def _p(pid: str, types, render: Render) -> Phrasing:
    return Phrasing(pid, frozenset(types), render)


PHRASINGS: tuple[Phrasing, ...] = (
    _p("asked-plain-oh", _ALL, _plain("oh")),
    _p("asked-plain-zero", _D, _plain("zero")),
    _p("asked-yeah-doubles", _D, _plain("doubles", "Yeah, {v}.")),
    _p("asked-pairs", {"UK_SORT_CODE", "UK_BANK_ACCOUNT", "CREDIT_CARD", "ACCOUNT_NUMBER"}, _plain("pairs", "{v}.")),
    _p("asked-pairs-sort-three-numbers", {"UK_SORT_CODE"}, _plain("pairs", "Sort code's {v}.")),
    _p("readback-full", _LONG | {"DATE_OF_BIRTH"}, _readback("oh")),
    _p("readback-doubles", _D, _readback("doubles")),
    _p("readback-tail", _D - {"CARD_SECURITY_CODE"}, _readback_tail("oh")),
    _p("say-again", _ALL, _say_again("oh")),
    _p("say-again-doubles", _D, _say_again("doubles")),
    _p("restart-midway", _LONG, _restart("oh")),
    _p("digit-corrected", _D, _digit_fix("oh")),
    _p("digit-corrected-doubles", _D, _digit_fix("doubles")),
    _p("split-two-turns", _LONG, _split_turns("oh")),
    _p("split-two-turns-okay", _LONG, _split_turns("zero", "Okay, and the rest?")),
    _p("split-three-turns", _D - {"CARD_SECURITY_CODE"}, _split_three("oh")),
    _p("split-three-doubles", _D - {"CARD_SECURITY_CODE"}, _split_three("doubles")),
    _p("interjection-inside", _LONG, _interjected("oh")),
    _p("interjection-inside-pairs", {"UK_BANK_ACCOUNT", "CREDIT_CARD"}, _interjected("pairs")),
    _p("garbled-request", _D | {"UK_NINO", "CARD_EXPIRY"}, _garbled("oh")),
    _p("garbled-request-doubles", _D, _garbled("doubles")),
    _p("go-on", _D | {"CARD_EXPIRY", "UK_NINO"}, _go_on("oh")),
    _p("during-hold", _LONG | {"CARD_SECURITY_CODE"}, _during_hold("oh")),
    _p("fillers", _ALL, _fillers("oh")),
    _p("embedded-long-sentence", {"PHONE_NUMBER", "EMAIL_ADDRESS", "UK_POSTCODE", "STREET_ADDRESS",
                                  "ACCOUNT_NUMBER"}, _embedded("natural")),
    _p("third-party", _ALL - {"PERSON"}, _third_party("oh")),
    _p("agent-reads-from-system", {"PHONE_NUMBER", "EMAIL_ADDRESS", "UK_POSTCODE", "STREET_ADDRESS",
                                   "DATE_OF_BIRTH", "ACCOUNT_NUMBER", "UK_SORT_CODE"}, _agent_holds("oh")),
    _p("volunteered", _ALL - {"CARD_SECURITY_CODE", "CARD_EXPIRY"}, _volunteered("oh")),
    _p("talks-over-agent", _ALL, _overlap("oh")),
    _p("spelled-letters", _SPELLABLE | {"PERSON"}, _plain("letters", "{v}.")),
    _p("spelled-nato", _SPELLABLE | {"PERSON"}, _plain("nato", "{v}.")),
    _p("natural-then-letters", {"UK_POSTCODE", "PERSON"}, _spelled_after("natural", "letters")),
    _p("natural-then-nato", {"UK_POSTCODE", "PERSON", "UK_NINO"}, _spelled_after("natural", "nato")),
    _p("spelled-across-turns", {"UK_POSTCODE", "UK_NINO"}, _split_letters_turns("letters")),
    _p("nato-across-turns", {"UK_POSTCODE", "UK_NINO", "ACCOUNT_NUMBER"}, _split_letters_turns("nato")),
    _p("postcode-natural", {"UK_POSTCODE"}, _plain("natural", "It's {v}.")),
    _p("phone-doubles-oh", {"PHONE_NUMBER"}, _plain("doubles", "{v}.")),
    _p("email-hyphen-dash", {"EMAIL_ADDRESS"}, _plain("dash", "It's {v}.")),
    _p("email-all-one-word", {"EMAIL_ADDRESS"}, _plain("oneword", "{v}.")),
    _p("email-spelled-out", {"EMAIL_ADDRESS"}, _plain("spelled", "Okay, {v}.")),
    _p("email-agent-spells-back", {"EMAIL_ADDRESS"}, _email_readback_spelled),
    _p("dob-full", {"DATE_OF_BIRTH"}, _plain("natural", "It's {v}.")),
    _p("dob-short", {"DATE_OF_BIRTH"}, _plain("short", "{v}.")),
    _p("dob-numeric", {"DATE_OF_BIRTH"}, _plain("numeric", "{v}.")),
    _p("dob-month-first", {"DATE_OF_BIRTH"}, _plain("us", "{v}.")),
    _p("dob-born-on", {"DATE_OF_BIRTH"}, _dob_born),
    _p("card-number-expiry-code-one-turn", {"CREDIT_CARD"}, _card_full),
    _p("card-groups-with-yeps", {"CREDIT_CARD"}, _card_fours),
    _p("card-read-by-someone-else", {"CREDIT_CARD"}, _card_someone_else),
    _p("expiry-month-name", {"CARD_EXPIRY"}, _expiry_natural),
    _p("expiry-valid-thru", {"CARD_EXPIRY"}, _expiry_slash),
    _p("cvv-last-three", {"CARD_SECURITY_CODE"}, _cvv_back),
    _p("cvv-offered-unasked", {"CARD_SECURITY_CODE"}, _cvv_unasked_front),
    _p("sort-code-dashes", {"UK_SORT_CODE"}, _sort_dashes),
    _p("sort-and-account-two-asks", {"UK_SORT_CODE"}, _bank_pair),
    _p("sort-and-account-one-breath", {"UK_SORT_CODE"}, _bank_one_breath),
    _p("two-phones-one-turn", {"PHONE_NUMBER"}, _phone_two),
    _p("name-with-nato-surname", {"PERSON"}, _name_spell_nato_surname),
    _p("name-with-title", {"PERSON"}, _name_title),
    _p("agent-name-asked", {"PERSON"}, _agent_name_asked),
    _p("address-moved-with-postcode", {"STREET_ADDRESS"}, _address_moved),
    _p("nino-pairs", {"UK_NINO"}, _nino_letters_pairs),
    _p("reference-on-letter", {"ACCOUNT_NUMBER"}, _reference_on_letter),
    _p("nhs-from-app", {"UK_NHS"}, _nhs_from_app),
    _p("address-plain", {"STREET_ADDRESS"}, _plain("natural", "It's {v}.")),
    _p("address-first-line-is", {"STREET_ADDRESS"}, _plain("natural", "First line is {v}.")),
)


def phrasings_for(entity_type: str) -> list[Phrasing]:
    """The phrasings that can carry a value of this type, in table order."""
    return [p for p in PHRASINGS if entity_type in p.types]
