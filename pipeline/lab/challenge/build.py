"""Assemble the PII challenge corpus: service calls that carry many values, said in many ways.

Each call looks like a real service call (greeting and recording notice, the reason for
calling, identification and verification, the business of the sector, closing) and carries
about 8-12 labelled values. Values come from `values` (random but valid, never repeated in the
corpus), phrasings from `phrasings` (least-used first, so every phrasing gets used). The corpus
has a train half and a FROZEN test half: separate random streams, disjoint values, both
covering every entity type. Output: one YAML script per call in the tests/data/SCHEMA.md
format, named by call id only (no value ever reaches a file name).
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import yaml

from pipeline.lab.challenge.phrasings import PHRASINGS, Context, phrasings_for, turn
from pipeline.lab.challenge.values import ValueFactory
from pipeline.schema import PII_TYPES

__all__ = ["SECTORS", "AGENT_NAMES", "build_half", "build_corpus", "corpus_values", "write_corpus"]

AGENT_NAMES = [
    "Beatrix", "Joaquim", "Marnie", "Oisin", "Delphine", "Tobias", "Anwen", "Rashid", "Carys", "Wilfred", "Ottilie",
    "Lorcan", "Imogen", "Kasia", "Bilal", "Saoirse", "Jude", "Harriet", "Noor", "Fergus", "Esme", "Dev", "Rosalind",
    "Kenji", "Maeve", "Horace", "Ayesha", "Stellan", "Philippa", "Idris", "Clodagh", "Rufus", "Zofia", "Ezra",
    "Lowri", "Nasser", "Greta", "Barnaby", "Soraya", "Cormac", "Veda", "Alistair", "Jolene", "Tamsin", "Osman",
    "Perpetua", "Hollis", "Yasmin", "Torin", "Eleri", "Matthias", "Dorcas", "Lennox", "Aoife", "Silas", "Bethan",
    "Kieran", "Rosa", "Thaddeus", "Minnie",
]

# sector: (organisations, reason lines, business value types, small-talk exchanges with no PII)
SECTORS: dict[str, dict] = {
    "energy": {
        "orgs": ["Brightwater Energy", "Fenland Power", "Copperleaf Gas and Electric"],
        "reasons": ["My last bill's gone up by nearly two hundred pounds and I don't understand why.",
                    "I want to pay off the arrears on my account today, if I can."],
        "business": ["ACCOUNT_NUMBER", "CREDIT_CARD", "EMAIL_ADDRESS"],
        "chat": [("agent", "I can see the estimate was high because no reading came through in March."),
                 ("customer", "I did send one, through the website, but it never confirmed it."),
                 ("agent", "That happens sometimes. I'll correct the estimate and spread the balance for you.")],
    },
    "bank": {
        "orgs": ["Harbourside Bank", "Millstone Building Society", "Cedar Mutual"],
        "reasons": ["I need to set up a new payee and it keeps failing in the app.",
                    "I think my card's been used somewhere I've never been."],
        "business": ["UK_SORT_CODE", "CREDIT_CARD", "PHONE_NUMBER"],
        "chat": [("agent", "Okay, I've blocked that transaction and a new card will follow in the post."),
                 ("customer", "How long will that take? I'm away next week."),
                 ("agent", "Usually three to five working days. You can use the app in the meantime.")],
    },
    "telecom": {
        "orgs": ["Skylark Mobile", "Northline Broadband", "Pebble Telecom"],
        "reasons": ["My broadband keeps dropping every evening around eight.",
                    "I want to move my number over to a new contract."],
        "business": ["PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD"],
        "chat": [("agent", "I'm running a line test now, it takes about a minute."),
                 ("customer", "It's been like this for two weeks, it's driving me mad."),
                 ("agent", "I can see errors on the line, so I'll book an engineer for Thursday morning.")],
    },
    "health": {
        "orgs": ["Riverside Surgery", "Meadowbank Health Centre", "Eastgate Dental Practice"],
        "reasons": ["I need to rebook my mum's appointment, she can't make Tuesday.",
                    "I'm trying to get a repeat prescription sorted before the weekend."],
        "business": ["UK_NHS", "DATE_OF_BIRTH", "PHONE_NUMBER"],
        "chat": [("agent", "I've got a slot on Friday at ten past two, would that work?"),
                 ("customer", "Friday's fine, yes, the afternoon's better anyway."),
                 ("agent", "Lovely, you'll get a text reminder the day before.")],
    },
    "pensions": {
        "orgs": ["Thornbury Pensions", "Greenway Benefits Advice", "Castlegate Payroll Services"],
        "reasons": ["My pension payment didn't arrive this month.",
                    "I've changed banks and need my payments to go to the new account."],
        "business": ["UK_NINO", "UK_SORT_CODE", "ACCOUNT_NUMBER"],
        "chat": [("agent", "The payment was returned by the old bank, which is why it didn't reach you."),
                 ("customer", "So will I get it this month or do I have to wait?"),
                 ("agent", "Once the new details are on, it'll be reissued within five working days.")],
    },
    "insurance": {
        "orgs": ["Kestrel Home Insurance", "Beacon Motor Cover", "Oakridge Insurance"],
        "reasons": ["I need to make a claim, there's been a leak from the flat upstairs.",
                    "My renewal's come through and the price has nearly doubled."],
        "business": ["ACCOUNT_NUMBER", "STREET_ADDRESS", "CREDIT_CARD"],
        "chat": [("agent", "I'm sorry to hear that. Has anyone been out to stop the leak yet?"),
                 ("customer", "The landlord's plumber came yesterday but the ceiling's ruined."),
                 ("agent", "I'll log the claim now and an assessor will call you within two days.")],
    },
    "retail": {
        "orgs": ["Hollybrook Home Store", "Gantry Outdoor", "Pennywhistle Toys"],
        "reasons": ["My order never turned up and the tracking's stuck.",
                    "I'd like to order the sofa I saw in the catalogue."],
        "business": ["CREDIT_CARD", "EMAIL_ADDRESS", "STREET_ADDRESS"],
        "chat": [("agent", "The courier has it marked as delayed at the depot."),
                 ("customer", "That's what it said last week as well."),
                 ("agent", "I'll send a replacement by next-day delivery and chase the courier.")],
    },
    "council": {
        "orgs": ["Ashdown District Council", "Wrexley Borough Council", "Lowmoor City Council"],
        "reasons": ["I want to set up a direct debit for my council tax.",
                    "My bin hasn't been collected for three weeks."],
        "business": ["UK_SORT_CODE", "STREET_ADDRESS", "UK_NINO"],
        "chat": [("agent", "I can spread the council tax over twelve months instead of ten."),
                 ("customer", "Twelve would be better, it's a bit tight at the moment."),
                 ("agent", "That's done, and the first payment will be on the first of next month.")],
    },
    "water": {
        "orgs": ["Tarnside Water", "Severnvale Water Services", "Brookmere Water"],
        "reasons": ["There's a leak in the pavement outside my house.",
                    "I've been charged for two properties and I only live in one."],
        "business": ["UK_SORT_CODE", "PHONE_NUMBER", "EMAIL_ADDRESS"],
        "chat": [("agent", "I can see the old account was never closed when you moved."),
                 ("customer", "I rang at the time to close it, I'm sure I did."),
                 ("agent", "I'll close it from your move date and refund what you paid on it.")],
    },
    "travel": {
        "orgs": ["Bluewake Ferries", "Larkspur Holidays", "Highmoor Rail Tours"],
        "reasons": ["I need to change the date on my booking.",
                    "I want to book the coach tour for two in September."],
        "business": ["DATE_OF_BIRTH", "CREDIT_CARD", "EMAIL_ADDRESS"],
        "chat": [("agent", "There's space on the later sailing, there's a small change fee."),
                 ("customer", "How much is the fee?"),
                 ("agent", "Fifteen pounds, and the fare difference is nothing on that date.")],
    },
}
IDV_TYPES = ["PERSON", "DATE_OF_BIRTH", "UK_POSTCODE", "STREET_ADDRESS", "PHONE_NUMBER", "EMAIL_ADDRESS",
             "ACCOUNT_NUMBER"]
# A call whose sector does not take card details still gets an extra value of the rarer types, so
# every half covers every type.
EXTRA_TYPES = ["CARD_EXPIRY", "CARD_SECURITY_CODE", "UK_BANK_ACCOUNT", "UK_NHS", "UK_NINO"]


class _Picker:
    """Least-used phrasing for a type, ties broken at random: spreads use over the table."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, Counter()

    def pick(self, entity_type: str, exclude: frozenset[str] = frozenset()):
        options = [p for p in phrasings_for(entity_type) if p.id not in exclude]
        low = min(self.used[p.id] for p in options)
        choice = self.rng.choice([p for p in options if self.used[p.id] == low])
        self.used[choice.id] += 1
        return choice


def _count(lines: list[dict]) -> int:
    return sum(len(line["pii"]) for line in lines)


def _call(call_id: str, index: int, rng: random.Random, factory: ValueFactory, picker: _Picker,
          agent: str) -> dict:
    sector_name = list(SECTORS)[index % len(SECTORS)]
    sector = SECTORS[sector_name]
    org = rng.choice(sector["orgs"])
    customer = factory.make("PERSON")
    ctx = Context(organisation=org, agent=agent, customer_first=customer.parts["first"],
                  helper=rng.choice(["Sam", "Jo", "love", "Mum"]))
    used: list[str] = []

    def exchange(entity_type: str, value=None, exclude: frozenset[str] = frozenset()) -> list[dict]:
        phrasing = picker.pick(entity_type, exclude)
        used.append(phrasing.id)
        return phrasing.render(rng, value or factory.make(entity_type), ctx, factory.make)

    greeting = rng.choice(["Good morning", "Good afternoon", "Hello"])
    lines = [turn("agent", f"{greeting}, you're through to {org}, {agent} speaking. Calls are recorded for "
                           "quality and training. How can I help?", ("PERSON", agent),
                  labels=("call.greeting", "call.recording_notice"), pause_before_s=round(rng.uniform(0.6, 1.5), 1)),
             turn("customer", rng.choice(sector["reasons"])),
             turn("agent", "I can help with that. First I just need to check a few details.", labels=("call.idv",))]
    # The customer's own name: any phrasing but the one that asks the agent's name.
    lines += exchange("PERSON", customer, frozenset({"agent-name-asked"}))
    idv = rng.sample([t for t in IDV_TYPES if t != "PERSON"], 3)
    for t in idv:
        lines += exchange(t)
    lines.append(turn("agent", "Thank you, that's you verified.", labels=("call.idv",)))
    for speaker, text in sector["chat"][:2]:
        lines.append(turn(speaker, text))
    business = list(sector["business"])
    business.append(EXTRA_TYPES[index % len(EXTRA_TYPES)])
    for t in business:
        if _count(lines) >= 12:
            break
        got = exchange(t)
        lines += got
        if t == "CREDIT_CARD" and not any(p["type"] == "CARD_EXPIRY" for g in got for p in g["pii"]):
            # A card payment asks for the expiry and the security code too (PCI: never retained).
            lines += exchange("CARD_EXPIRY") + exchange("CARD_SECURITY_CODE")
        if t == "UK_SORT_CODE" and not any(p["type"] == "UK_BANK_ACCOUNT" for g in got for p in g["pii"]):
            lines += exchange("UK_BANK_ACCOUNT")
    while _count(lines) < 8:
        lines += exchange(rng.choice(IDV_TYPES[1:]))
    speaker, text = sector["chat"][2]
    lines.append(turn(speaker, text, labels=("commitment.timescale",) if speaker == "agent" else ()))
    title = rng.choice(["Mr", "Mrs", "Ms"])
    closing_name = f"{title} {customer.parts['last']}"
    lines.append(turn("agent", "Is there anything else I can help with today?", labels=("lass.satisfy",)))
    lines.append(turn("customer", "No, that's everything, thanks."))
    lines.append(turn("agent", f"Thanks for calling, {closing_name}. Take care now.", ("PERSON", closing_name),
                      labels=("call.closing",)))
    return {
        "call_id": call_id,
        "channel_type": "telephone",
        "scenario": f"PII challenge call ({sector_name}): identification, {', '.join(business)}.",
        "organisation": org,
        "agent_name": agent,
        "turns": lines,
        "expected": {"complaint": False, "phrasings": used, "sector": sector_name},
    }


def build_half(half: str, seed: int, calls: int, factory: ValueFactory, agents: list[str]) -> list[dict]:
    """The scripts of one half ("train" or "test"): its own random stream, values from `factory`
    (shared by both halves, so no value repeats across them)."""
    rng = random.Random(f"callqa-challenge/{seed}/{half}")
    picker = _Picker(rng)
    return [_call(f"challenge-{half}-{i + 1:03d}", i, rng, factory, picker, agents[i]) for i in range(calls)]


def build_corpus(seed: int = 15, calls: int = 44) -> dict[str, list[dict]]:
    """Both halves: `calls` scripts in all, half each (train first, then the frozen test half).

    Deterministic per seed. Agent names are split between the halves too.
    """
    return _build(seed, calls)[0]


def corpus_values(seed: int = 15, calls: int = 44) -> dict[str, set[tuple[str, str]]]:
    """The (type, canonical value) pairs each half drew, for checking validity and disjointness."""
    return _build(seed, calls)[1]


def _build(seed: int, calls: int) -> tuple[dict[str, list[dict]], dict[str, set[tuple[str, str]]]]:
    if calls < 2 * len(SECTORS) or calls > 2 * len(AGENT_NAMES) - 2:
        raise ValueError(f"calls must be between {2 * len(SECTORS)} and {2 * len(AGENT_NAMES) - 2}")
    factory = ValueFactory(random.Random(f"callqa-challenge/{seed}/values"))
    agents = list(AGENT_NAMES)
    random.Random(f"callqa-challenge/{seed}/agents").shuffle(agents)
    n_train = calls // 2
    scripts, values = {}, {}
    for half, half_seed, n, names in (("train", seed, n_train, agents[:n_train]),
                                      ("test", seed + 1_000_003, calls - n_train, agents[n_train:])):
        factory.made = []
        scripts[half] = build_half(half, half_seed, n, factory, names)
        values[half] = {(v.type, v.canonical) for v in factory.made}
    return scripts, values


def write_corpus(out_dir: Path | str, *, seed: int = 15, calls: int = 44) -> dict[str, list[Path]]:
    """Write OUT/train/*.yaml and OUT/test/*.yaml; returns the files per half."""
    out = Path(out_dir)
    written: dict[str, list[Path]] = {}
    for half, scripts in build_corpus(seed, calls).items():
        folder = out / half
        folder.mkdir(parents=True, exist_ok=True)
        written[half] = []
        for script in scripts:
            path = folder / f"{script['call_id']}.yaml"
            path.write_text(yaml.safe_dump(script, sort_keys=False, allow_unicode=True, width=10_000),
                            encoding="utf-8")
            written[half].append(path)
    return written


assert set(PII_TYPES) >= {t for p in PHRASINGS for t in p.types}
