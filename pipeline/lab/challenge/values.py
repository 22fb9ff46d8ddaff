"""Random but valid personal-data values for the PII challenge corpus, and how people say them.

Every value is fictitious and valid where a check exists: card numbers pass Luhn (several
schemes and lengths), NHS numbers carry their mod-11 check digit, NINOs use allowed prefix
letters, phones sit in Ofcom's drama ranges, postcodes use real outward codes. A `Value` keeps
the canonical form (for uniqueness and validity checks); `say` turns it into words a caller
would speak, in a chosen style (the synthesiser speaks exactly that text, so it is the label).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = [
    "Value",
    "ValueFactory",
    "luhn_valid",
    "nhs_valid",
    "nino_valid",
    "say_digits",
    "say_pairs",
    "say_letters",
    "say_nato",
    "say",
    "STYLES",
]

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
             "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second", "twenty-third",
             "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh", "twenty-eighth", "twenty-ninth",
             "thirtieth", "thirty-first"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
NATO = {"A": "Alpha", "B": "Bravo", "C": "Charlie", "D": "Delta", "E": "Echo", "F": "Foxtrot", "G": "Golf",
        "H": "Hotel", "I": "India", "J": "Juliet", "K": "Kilo", "L": "Lima", "M": "Mike", "N": "November",
        "O": "Oscar", "P": "Papa", "Q": "Quebec", "R": "Romeo", "S": "Sierra", "T": "Tango", "U": "Uniform",
        "V": "Victor", "W": "Whiskey", "X": "X-ray", "Y": "Yankee", "Z": "Zulu"}

# Names of many origins (invented combinations; no real person is meant).
FIRST_NAMES = [
    "Priya", "Daniel", "Aisha", "Tomasz", "Siobhan", "Chidi", "Mei", "Rhys", "Fatima", "Oluwaseun", "Giorgos",
    "Ana", "Kwame", "Ingrid", "Rajesh", "Niamh", "Hamza", "Yuki", "Bogdan", "Ewan", "Amara", "Luca", "Deepa",
    "Callum", "Zainab", "Mateusz", "Grace", "Emeka", "Sana", "Dylan", "Leila", "Thi", "Agnieszka", "Kofi",
    "Morag", "Arjun", "Bronwen", "Yusuf", "Elif", "Catalina", "Farah", "Jamal", "Oksana", "Declan", "Nkechi",
    "Sunil", "Marisol", "Pawel", "Hannah", "Kayode", "Ifeoma", "Ruairi", "Tariq", "Ying", "Gwen", "Abdi",
]
SURNAMES = [
    "Okafor", "Kowalczyk", "Nguyen", "Mensah", "Papadopoulos", "Haddad", "Fitzgerald", "Adeyemi", "Rahman",
    "Iyer", "Yilmaz", "Esposito", "Ferreira", "Warsame", "Tanaka", "Kazlauskas", "Popescu", "MacLeod",
    "Llewellyn", "Qureshi", "Osei", "Zhang", "Brannigan", "Achterberg", "Nowak", "Chaudhry", "Obi", "Whitfield",
    "Abernethy", "Mwangi", "Sorensen", "Delacroix", "Harrowgate", "Balogun", "Szabo", "Petrenko", "Kaur",
    "Wojcik", "Ogunleye", "Cartwright", "Van der Berg", "O'Driscoll", "Bhattacharya", "Eze", "Lindqvist",
    "Mahmoud", "Trelawney", "Gallagher", "Asante", "Ivanova", "Pemberton", "Salazar", "Dunmore", "Aziz",
]
STREETS = [
    "Beechwood Road", "Harcourt Street", "Mill Lane", "Penhallow Terrace", "Ystrad Road", "Coldharbour Lane",
    "Quaggy Walk", "Wellington Crescent", "Bryn Derwen", "Saltram Close", "Kingfisher Way", "Abbotsford Drive",
    "Tollgate Mews", "Ravensworth Gardens", "Glebe Avenue", "Falkland Rise", "Chandos Parade", "Tinker's Row",
    "Marlowe Court", "Pendle View", "Oystermouth Road", "Cairnfield Place", "Lark Hill", "Orchard Grove",
    "Gorsey Bank", "Weaver's Wharf", "Station Approach", "Hollinsend Road", "Trafalgar Square Lane",
    "Bramblewood Close",
]
HOUSE_NAMES = ["Rose Cottage", "The Old Forge", "Ty Gwyn", "Hillcrest", "Bramble House", "The Willows",
               "Ash Lodge", "Fern Bank", "The Granary", "Sea View"]
BUILDINGS = ["Riverside House", "Harbour Point", "Victoria Mansions", "Alder Court", "Canal Wharf",
             "St Anne's Place", "Mercer Building", "Linden Heights"]
# Real outward codes across the UK.
OUTWARD = ["LS6", "LS1", "M14", "B15", "BS3", "CF10", "EH3", "G12", "SW1A", "NW3", "E17", "N1", "SE15", "W2", "OX4",
           "CB1", "NE6", "L8", "S10", "NG7", "LE2", "BN1", "PL4", "EX4", "YO10", "HU5", "DE22", "CV1", "SO17", "PO5",
           "RG1", "MK9", "AB10", "DD1", "BT9", "SA1", "LL57", "TR1", "IV2", "KY16", "WC1E", "EC2A", "M1", "B1"]
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
DOMAINS = ["gmail.com", "outlook.com", "btinternet.com", "yahoo.co.uk", "hotmail.co.uk", "sky.com", "icloud.com",
           "virginmedia.com", "protonmail.com", "talktalk.net", "live.co.uk", "aol.com"]
# Ofcom drama ranges: (area code, fixed local prefix, free digits).
LANDLINES = [("0113", "4960", 3), ("0114", "4960", 3), ("0117", "4960", 3), ("0121", "4960", 3),
             ("0131", "4960", 3), ("0141", "4960", 3), ("0161", "4960", 3), ("020", "7946 0", 3),
             ("029", "2018 0", 3), ("028", "9649 6", 3), ("01632", "960", 3)]
STYLES = ("zero", "oh", "doubles", "pairs")


@dataclass(frozen=True)
class Value:
    """One personal-data value: its type, canonical form, and structured parts for speaking it."""

    type: str
    canonical: str
    parts: dict = field(default_factory=dict, hash=False, compare=False)


def luhn_valid(number: str) -> bool:
    """True when the digit string passes the Luhn check (card numbers)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(number) >= 12 and total % 10 == 0


def nhs_valid(number: str) -> bool:
    """True when a 10-digit NHS number has its mod-11 check digit."""
    if len(number) != 10 or not number.isdigit():
        return False
    check = 11 - sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1))) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(number[9])


_NINO_BAD_FIRST, _NINO_BAD_SECOND = set("DFIQUV"), set("DFIOQUV")
_NINO_BAD_PREFIX = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def nino_valid(nino: str) -> bool:
    """True for AB123456C with allowed prefix letters and suffix A-D."""
    return (len(nino) == 9 and nino[0].isalpha() and nino[1].isalpha() and nino[2:8].isdigit()
            and nino[0] not in _NINO_BAD_FIRST and nino[1] not in _NINO_BAD_SECOND
            and nino[:2] not in _NINO_BAD_PREFIX and nino[8] in "ABCD")


# ------------------------------------------------------------------------------ spoken forms


def number_words(n: int) -> str:
    """0-99 in words ("forty-five")."""
    if n < 10:
        return _ONES[n]
    if n < 20:
        return _TEENS[n - 10]
    return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])


def year_words(year: int) -> str:
    if 2000 <= year < 2010:
        return "two thousand" + ("" if year == 2000 else " and " + _ONES[year - 2000])
    hi, lo = divmod(year, 100)
    return number_words(hi) + " " + ("hundred" if lo == 0 else ("oh " + _ONES[lo] if lo < 10 else number_words(lo)))


def say_digits(digits: str, style: str = "oh", groups: tuple[int, ...] | None = None, sep: str = ", ") -> str:
    """Digits one by one; zero as "zero" or "oh"; "doubles" also says "double"/"triple" for runs."""
    zero = "zero" if style == "zero" else "oh"
    chunks = _chunks(digits, groups)
    spoken = []
    for chunk in chunks:
        words, i = [], 0
        while i < len(chunk):
            run = 1
            while style == "doubles" and i + run < len(chunk) and chunk[i + run] == chunk[i] and run < 3:
                run += 1
            word = zero if chunk[i] == "0" else _ONES[int(chunk[i])]
            words.append({1: word, 2: f"double {word}", 3: f"triple {word}"}[run])
            i += run
        spoken.append(" ".join(words))
    return sep.join(spoken)


def say_pairs(digits: str, sep: str = ", ") -> str:
    """Digits as two-digit numbers ("forty-five, oh seven, double oh"), a last single digit alone."""
    out = []
    for k in range(0, len(digits), 2):
        pair = digits[k:k + 2]
        if len(pair) == 1:
            out.append(_ONES[int(pair)])
        elif pair == "00":
            out.append("double oh")
        elif pair[0] == "0":
            out.append("oh " + _ONES[int(pair[1])])
        else:
            out.append(number_words(int(pair)))
    return sep.join(out)


def say_letters(text: str) -> str:
    """Letter by letter, digits as words ("L S six")."""
    return " ".join(_ONES[int(c)] if c.isdigit() else c.upper() for c in text if c.isalnum())


def say_nato(text: str) -> str:
    """Letters as "L for Lima", digits as words."""
    return ", ".join(_ONES[int(c)] if c.isdigit() else f"{c.upper()} for {NATO[c.upper()]}" for c in text
                     if c.isalnum())


def _chunks(digits: str, groups: tuple[int, ...] | None) -> list[str]:
    if not groups:
        return [digits]
    out, k = [], 0
    for g in groups:
        out.append(digits[k:k + g])
        k += g
    if k < len(digits):
        out.append(digits[k:])
    return [c for c in out if c]


def _say_number_group(digits: str, style: str) -> str:
    return say_pairs(digits, sep=" ") if style == "pairs" else say_digits(digits, style)


def _postcode_words(value: Value, style: str) -> str:
    outward, inward = value.parts["outward"], value.parts["inward"]
    if style == "nato":
        return say_nato(outward) + ", " + say_nato(inward)
    if style == "letters":
        return say_letters(outward) + ", " + say_letters(inward)
    # Natural: the area letters spelled, the district said as a number ("M fourteen", "S W one A").
    k = next(i for i, c in enumerate(outward) if c.isdigit())
    head, district = " ".join(outward[:k]), outward[k:]
    digits = district.rstrip("ABCDEFGHJKLMNPRSTUVWXY")
    spoken_district = number_words(int(digits)) + ("" if digits == district else " " + district[len(digits):])
    return f"{head} {spoken_district}, {say_letters(inward)}"


def say(value: Value, style: str = "oh") -> str:
    """The words a caller says for `value` in `style`.

    Styles: digits "zero" / "oh" / "doubles" / "pairs"; spelled "letters" / "nato"; "natural"
    (the usual way for names, addresses, dates). Types without a style of that name use their
    natural form.
    """
    t, p = value.type, value.parts
    if t == "CREDIT_CARD":
        return ", ".join(_say_number_group(g, style) for g in _chunks(value.canonical, p["groups"]))
    if t in ("UK_SORT_CODE",):
        if style == "pairs":
            return say_pairs(value.canonical)
        return ", ".join(say_digits(value.canonical[k:k + 2], style) for k in (0, 2, 4))
    if t in ("UK_BANK_ACCOUNT", "CARD_SECURITY_CODE"):
        return say_pairs(value.canonical) if style == "pairs" else say_digits(value.canonical, style, (4, 4))
    if t == "UK_NHS":
        return say_digits(value.canonical, "zero" if style == "pairs" else style, (3, 3, 4))
    if t == "PHONE_NUMBER":
        digits = value.canonical.replace(" ", "")
        zero = "zero" if style == "zero" else "oh"
        if p.get("plus44"):
            rest = digits[1:]
            return "plus four four, " + say_digits(rest, "doubles" if style == "doubles" else zero, p["groups_44"])
        return say_digits(digits, "doubles" if style == "doubles" else zero, p["groups"])
    if t == "UK_NINO":
        c = value.canonical
        if style == "nato":
            return say_nato(c[:2]) + ", " + say_pairs(c[2:8]) + ", " + say_nato(c[8])
        return f"{c[0]} {c[1]}, {say_digits(c[2:8], 'oh' if style == 'pairs' else style, (2, 2, 2))}, {c[8]}"
    if t == "UK_POSTCODE":
        return _postcode_words(value, style)
    if t == "ACCOUNT_NUMBER":
        letters, digits = p["letters"], p["digits"]
        head = say_nato(letters) if style == "nato" else say_letters(letters)
        body = say_pairs(digits, sep=" ") if style == "pairs" else say_digits(digits, style, sep=" ")
        return f"{head}, {body}" if letters else body
    if t == "CARD_EXPIRY":
        month, year = p["month"], p["year"]
        if style == "natural":
            return f"{_MONTHS[month - 1]} twenty {number_words(year % 100)}"
        return f"{say_pairs(f'{month:02d}')} {number_words(year % 100)}"
    if t == "DATE_OF_BIRTH":
        return _say_date(value, style)
    if t == "EMAIL_ADDRESS":
        return _say_email(value, style)
    if t == "PERSON" and style in ("letters", "nato"):
        return say_letters(p["spell"]) if style == "letters" else say_nato(p["spell"])
    return p.get("spoken", value.canonical)


def _say_date(value: Value, style: str) -> str:
    d, m, y = value.parts["day"], value.parts["month"], value.parts["year"]
    if style == "numeric":
        return f"{say_pairs(f'{d:02d}')}, {say_pairs(f'{m:02d}')}, {year_words(y)}"
    if style == "short":
        return f"{_ORDINALS[d]} {_MONTHS[m - 1]} {number_words(y % 100)}"
    if style == "us":
        return f"{_MONTHS[m - 1]} the {_ORDINALS[d]}, {year_words(y)}"
    return f"the {_ORDINALS[d]} of {_MONTHS[m - 1]}, {year_words(y)}"


def _say_email(value: Value, style: str) -> str:
    local, domain = value.canonical.split("@")
    spoken_local = []
    for piece in _split_keep(local):
        if piece == ".":
            spoken_local.append("dot")
        elif piece == "-":
            spoken_local.append("hyphen" if style != "dash" else "dash")
        elif piece == "_":
            spoken_local.append("underscore")
        elif piece.isdigit():
            spoken_local.append(say_pairs(piece, sep=" ") if len(piece) == 2 else say_digits(piece, "oh", sep=" "))
        else:
            spoken_local.append(piece)
    head = " ".join(spoken_local)
    if style == "oneword":
        head += ", all one word,"
    if style == "spelled":
        head += ", that's " + say_letters(local.replace(".", "").replace("-", "").replace("_", ""))[:60] + ","
    return f"{head} at {' dot '.join(domain.split('.'))}"


def _split_keep(local: str) -> list[str]:
    out, cur = [], ""
    for ch in local:
        kind = "d" if ch.isdigit() else ("s" if ch in ".-_" else "a")
        if cur and (kind == "s" or (cur[-1] in ".-_") or (cur[-1].isdigit() != ch.isdigit())):
            out.append(cur)
            cur = ""
        cur += ch
    if cur:
        out.append(cur)
    return out


# ------------------------------------------------------------------------------ generation


class ValueFactory:
    """Random valid values, never the same canonical value twice (for one factory)."""

    def __init__(self, rng: random.Random, taken: set[str] | None = None) -> None:
        self.rng = rng
        self.taken: set[str] = taken if taken is not None else set()
        self.made: list[Value] = []  # every value handed out, in order

    def _unique(self, make) -> Value:
        for _ in range(1000):
            v = make()
            if v.canonical not in self.taken:
                self.taken.add(v.canonical)
                self.made.append(v)
                return v
        raise RuntimeError("value space exhausted; use fewer calls")

    def make(self, entity_type: str) -> Value:
        return self._unique(getattr(self, "_" + entity_type.lower()))

    def _digits(self, n: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def _credit_card(self) -> Value:
        scheme = self.rng.choice(["visa", "mastercard", "amex", "maestro", "maestro19", "visa13"])
        prefix, length, groups = {
            "visa": ("4", 16, (4, 4, 4, 4)), "visa13": ("4", 13, (4, 3, 3, 3)),
            "mastercard": (self.rng.choice(["51", "52", "53", "54", "55", "2221", "2720"]), 16, (4, 4, 4, 4)),
            "amex": (self.rng.choice(["34", "37"]), 15, (4, 6, 5)),
            "maestro": (self.rng.choice(["6759", "5018", "6304"]), 16, (4, 4, 4, 4)),
            "maestro19": (self.rng.choice(["6759", "5018"]), 19, (4, 4, 4, 4, 3)),
        }[scheme]
        body = prefix + self._digits(length - len(prefix) - 1)
        for check in "0123456789":
            if luhn_valid(body + check):
                return Value("CREDIT_CARD", body + check, {"groups": groups, "scheme": scheme})
        raise AssertionError("unreachable: one check digit always fits")

    def _card_security_code(self) -> Value:
        n = self.rng.choice([3, 3, 3, 4])
        return Value("CARD_SECURITY_CODE", self._digits(n), {})

    def _card_expiry(self) -> Value:
        month, year = self.rng.randint(1, 12), self.rng.randint(2026, 2031)
        return Value("CARD_EXPIRY", f"{month:02d}/{year}", {"month": month, "year": year})

    def _uk_sort_code(self) -> Value:
        return Value("UK_SORT_CODE", self.rng.choice(["20", "40", "30", "60", "09", "07", "11", "77", "83"])
                     + self._digits(4), {})

    def _uk_bank_account(self) -> Value:
        d = self._digits(8)
        if self.rng.random() < 0.4:  # a repeated pair, so "double" gets said
            k = self.rng.randrange(7)
            d = d[:k] + d[k] * 2 + d[k + 2:]
        return Value("UK_BANK_ACCOUNT", d, {})

    def _uk_nhs(self) -> Value:
        while True:
            body = str(self.rng.randint(4, 9)) + self._digits(8)
            check = 11 - sum(int(c) * w for c, w in zip(body, range(10, 1, -1))) % 11
            check = 0 if check == 11 else check
            if check != 10:
                return Value("UK_NHS", body + str(check), {})

    def _uk_nino(self) -> Value:
        letters = "ABCEGHJKLMNPRSTWXYZ"
        while True:
            prefix = self.rng.choice(letters) + self.rng.choice(letters.replace("O", ""))
            nino = prefix + self._digits(6) + self.rng.choice("ABCD")
            if nino_valid(nino):
                return Value("UK_NINO", nino, {})

    def _phone_number(self) -> Value:
        plus44 = self.rng.random() < 0.35
        if self.rng.random() < 0.5:
            number = "07700 900" + self._digits(3)
            groups, groups_44 = (5, 6), (4, 3, 3)
        else:
            area, local, free = self.rng.choice(LANDLINES)
            number = f"{area} {local}{self._digits(free)}"
            digits = number.replace(" ", "")
            groups = (len(area), len(digits) - len(area) - 4, 4)
            groups_44 = (len(area) - 1, len(digits) - len(area) - 4, 4)
        return Value("PHONE_NUMBER", number, {"plus44": plus44, "groups": groups, "groups_44": groups_44})

    def _uk_postcode(self) -> Value:
        outward = self.rng.choice(OUTWARD)
        inward = str(self.rng.randint(1, 9)) + "".join(self.rng.choice(_INWARD_LETTERS) for _ in range(2))
        return Value("UK_POSTCODE", f"{outward} {inward}", {"outward": outward, "inward": inward})

    def _date_of_birth(self) -> Value:
        d, m, y = self.rng.randint(1, 28), self.rng.randint(1, 12), self.rng.randint(1938, 2006)
        return Value("DATE_OF_BIRTH", f"{y:04d}-{m:02d}-{d:02d}", {"day": d, "month": m, "year": y})

    def _person(self) -> Value:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(SURNAMES)
        return Value("PERSON", f"{first} {last}", {"first": first, "last": last, "spoken": f"{first} {last}",
                                                    "spell": last.replace(" ", "").replace("'", "")})

    def _email_address(self) -> Value:
        first, last = self.rng.choice(FIRST_NAMES).lower(), self.rng.choice(SURNAMES).lower().replace(" ", "")
        last = last.replace("'", "")
        shape = self.rng.choice(["dot", "hyphen", "underscore", "initial", "joined", "digits"])
        local = {
            "dot": f"{first}.{last}", "hyphen": f"{first}-{last}", "underscore": f"{first}_{last}",
            "initial": f"{first[0]}.{last}{self.rng.randint(10, 99)}", "joined": f"{first}{last}",
            "digits": f"{last}{self.rng.randint(1, 9)}{self.rng.randint(0, 9)}{self.rng.randint(0, 9)}",
        }[shape]
        return Value("EMAIL_ADDRESS", f"{local}@{self.rng.choice(DOMAINS)}", {"shape": shape})

    def _street_address(self) -> Value:
        street = self.rng.choice(STREETS)
        number = self.rng.randint(2, 180)
        shape = self.rng.choice(["plain", "words", "flat", "house", "building", "letter"])
        spoken = {
            "plain": f"{number} {street}",
            "words": f"{_number_phrase(number)} {street}",
            "flat": f"Flat {self.rng.randint(1, 24)}, {number} {street}",
            "house": f"{self.rng.choice(HOUSE_NAMES)}, {street}",
            "building": f"Flat {_number_phrase(self.rng.randint(1, 40))}, {self.rng.choice(BUILDINGS)}, {street}",
            "letter": f"{number}{self.rng.choice('ab')} {street}",
        }[shape]
        return Value("STREET_ADDRESS", spoken, {"spoken": spoken})

    def _account_number(self) -> Value:
        letters = "".join(self.rng.choice("ABCDEFGHJKLMNPRSTWXYZ") for _ in range(self.rng.choice([0, 2, 2, 3])))
        digits = self._digits(self.rng.choice([7, 8, 9]))
        return Value("ACCOUNT_NUMBER", letters + digits, {"letters": letters, "digits": digits})


def _number_phrase(n: int) -> str:
    if n < 100:
        return number_words(n)
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")
