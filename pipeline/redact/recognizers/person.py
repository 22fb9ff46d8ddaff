"""Person names beyond spaCy's NER: titles, self-introductions, names given when asked,
vocatives ("Thanks, Priya."), and spelled-out names ("O-K-A-F-O-R")."""

from __future__ import annotations

from pipeline.redact.recognizers._base import TablePatternRecognizer

__all__ = ["PersonContextRecognizer", "LowerCaseIntroRecognizer", "SpelledNameRecognizer", "NOT_NAMES", "LOWER_NOT_NAMES"]

# Capitalised words that start sentences or greet but are never names.
NOT_NAMES = (
    "Thanks|Thank|Yes|Yeah|Yep|Okay|Ok|Right|Sorry|Hello|Hi|Hiya|No|Well|Lovely|Great|Brilliant|Perfect|Sure"
    "|Fine|Morning|Afternoon|Evening|Good|Oh|Er|Erm|Um|The|That|This|And|So|But|It|Its|I|Just|Please|Cheers"
    "|Bye|Fab|Cool|Ta|Sir|Madam|Mr|Mrs|Ms|Miss|Dr|Dear|Everyone|All|Again|There|Then|Now|Here|What|How|Why"
    "|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|July"
    "|August|September|October|November|December|Visa|Mastercard|Team|Customer|Services?|Surname|Name|First"
    "|Forename|Full|Last"
)
LOWER_NOT_NAMES = (
    "its|it's|my|the|it|is|a|an|that|thats|that's|this|we|im|i'm|me|yes|yep|yeah|no|nope|ok|okay|sure|hi|hello"
    "|thanks|thank|you|cheers|fine|great|perfect|please|just|one|sec|hang|on|wait|hold|not|sorry|what|why|how"
    "|of|course|right|correct|all|good|and|or|so|but|be|do|did|done|got|have|has|can|will|would|should|in|at|to"
)
# Words that follow "i'm" / "this is" in a greeting and are not names.
_LOWER_INTRO_NOT = (
    "sorry|afraid|fine|well|good|great|ok|okay|here|there|back|still|also|really|very|so|just|not|trying|going"
    "|looking|calling|ringing|phoning|after|about|from|with|your|the|a|an|me|him|her|them|us|new|glad|happy|sure"
    "|unable|able|due|meant|supposed|on|in|at|to|out|off|up|down|over|through|now|today|tomorrow|ready|done|free"
    "|busy|away|home|staying|moving|paying|having|getting|being|one|two|it|that|this|what|why|how|who|when|where"
    "|actually|currently|basically|literally|hoping|wondering|worried|concerned|confused|annoyed|frustrated|upset"
    "|interested|aware|unsure|certain|positive|correct|right|wrong|late|early|pleased|delighted|speaking"
)
# "MacLeod", "McDonald", "DeVito": a capital inside the name is part of it, not the end of a shorter one.
_NAME = rf"(?!(?:{NOT_NAMES})\b)[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:['’-][A-Z]?[a-z]+)?"
_END = r"(?=[.,!?;:…]|$| that's| [Ss]peaking| here\b| at\b| from\b| and\b)"


class PersonContextRecognizer(TablePatternRecognizer):
    """Names from the words around them; weak patterns need 'name' nearby (or asked before)."""

    ENTITY = "PERSON"
    PATTERNS = [
        ("title", rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Sir|Dame)\.? (?:[A-Z]\.? )?{_NAME}(?: {_NAME})?", 0.7),
        # A title the transcriber kept before a name it wrote as common words ("Mr. trolling", "MS had it").
        ("title_lower", rf"\b(?:Mr|Mrs|Ms|MS|MRS|Mx|Dr)\.? (?!(?:{LOWER_NOT_NAMES})\b)[a-z][a-z'’-]+(?: (?!(?:{LOWER_NOT_NAMES}|and|or)\b)[a-z][a-z'’-]+)?", 0.6),
        ("self_intro", rf"(?<=\b(?:I'm|I am|[Tt]his is) ){_NAME}(?: {_NAME})?{_END}", 0.6),
        # Strong cues: the name need not end a phrase (a transcriber may drop the comma).
        ("introduced", rf"(?<=\b(?:[Mm]y name is|[Mm]y name's|[Nn]ame's|[Nn]ame is|[Ss]urname is|[Ss]urname's|speaking (?:to|with)|chatting (?:to|with)|talking (?:to|with)|through to) ){_NAME}(?: {_NAME}(?=[.,!?;:…]|$))?", 0.6),
        ("name_field", rf"(?<=\b(?:[Ss]urname|[Ff]irst name|[Ff]orename|[Ll]ast name|[Ff]ull name)(?: is|'s|:)?,? ){_NAME}(?: {_NAME})?{_END}", 0.6),
        ("speaking", rf"\b{_NAME}(?= [Ss]peaking\b| here[.,!])", 0.6),  # a transcriber's "Cormac Speaking"
        ("vocative", rf"(?<=\b(?:[Tt]hanks|[Tt]hank you|[Cc]heers|[Hh]i|[Hh]ello|[Hh]iya|[Hh]ey|[Mm]orning|[Ee]vening|[Aa]fternoon|[Bb]ye|[Tt]a|[Cc]are|[Rr]ecap|[Ss]orry),? ){_NAME}{_END}", 0.55),
        ("name_answer", rf"(?<=(?:^|[.,!?:;…] )(?:(?:[Ii]t's|[Ii]t is|[Yy]es|[Yy]eah|[Ee]r|[Ee]rm|[Uu]m|[Ss]ure|[Oo]kay|[Tt]hat's)[,.]* ){{0,2}}){_NAME}(?: {_NAME}){{0,2}}{_END}", 0.3),
        # A chat answer typed in lower case ("sophie nwosu, 07/03/1993"): two words, only when asked.
        ("name_answer_lower", rf"^(?!(?i:{NOT_NAMES}|{LOWER_NOT_NAMES})\b)[a-z]{{2,}} (?!(?i:{NOT_NAMES}|{LOWER_NOT_NAMES})\b)[a-z]{{2,}}(?=[.,!?]|$)", 0.2),
    ]
    CONTEXT = ["name", "surname", "called", "speaking", "passenger", "holder"]


class LowerCaseIntroRecognizer(TablePatternRecognizer):
    """A self-introduction a transcriber wrote in lower case ("hi there i'm priya how can i help",
    "this is tom from acme"): the word after the cue, when what follows is the rest of a greeting
    and the word is not one of the common words said there ("i'm sorry", "i'm calling")."""

    ENTITY = "PERSON"
    PATTERNS = [
        ("intro_lower", rf"(?<=\b(?:i'm|i’m|im|i am|this is|my name's|my name is|name's|it's) )(?!(?:{LOWER_NOT_NAMES}|{_LOWER_INTRO_NOT})\b)[a-z]{{2,}}(?=[,.!?]? (?:speaking|from|here|how|and|calling|with|at|on behalf)\b)", 0.55),
        # After "my name's" the next word is the name wherever the turn ends.
        ("name_lower", rf"(?<=\b(?:my name's|my name is|name's) )(?!(?:{LOWER_NOT_NAMES}|{_LOWER_INTRO_NOT})\b)[a-z]{{2,}}", 0.55),
        # After "full name is" the words up to the next punctuation mark ("my full name is pre -prolining.").
        ("full_name_lower", rf"(?<=\b(?:[Ff]ull name is|[Ff]ull name's) )(?!(?:{LOWER_NOT_NAMES}|{_LOWER_INTRO_NOT})\b)[a-z][a-z' -]{{1,30}}?(?=[.,!?;]|$)", 0.55),
        # A declared full name is the next words whatever they became ("my full name is all the way from AI or
        # I've got it in front of me"): up to four, to a punctuation mark.
        ("full_name_any", r"(?<=\b(?:[Ff]ull name is|[Ff]ull name's) )(?!(?:on|in|under|the same|still|correct|right|as|spelt|spelled|not)\b)"
                          r"[\w'’-]+(?: (?!(?:I|I've|I'm|I'll|and|so|it|it's|that|yeah)\b)[\w'’-]+){0,3}", 0.55),
        # ... and "my full name is" heard as "my full name as" ("before you ask my full name as the urey ballagine"),
        # not "as it appears" / "as on the card".
        ("full_name_as", r"(?<=\b[Mm]y full name as )(?!(?:it|on|in|per|shown|written|printed|stated|above|before|well)\b)"
                         r"[\w'’-]+(?: (?!(?:I|I've|I'm|I'll|and|so|it|it's|that|yeah)\b)[\w'’-]+){0,3}", 0.55),
    ]
    CONTEXT = ["name", "speaking", "calling"]

    def validate_result(self, pattern_text: str) -> bool | None:
        # One word ending like a verb or adverb follows "i'm" as often as a name does ("i'm calling");
        # words after "full name is" are the name whatever they end with.
        return False if " " not in pattern_text and pattern_text.endswith(("ing", "ed", "ly")) else None


class SpelledNameRecognizer(TablePatternRecognizer):
    """A word spelled letter by letter: 'O-K-A-F-O-R' always; 'OKAFOR' (spelled with spaces,
    written by the normaliser as one capitalised run) only near 'spell' / 'name'."""

    ENTITY = "PERSON"
    PATTERNS = [
        ("spelled_hyphens", r"(?<![A-Za-z-])[A-Za-z](?:-[A-Za-z]){2,}(?![A-Za-z-])", 0.6),
        ("spelled_run", r"(?<![A-Za-z0-9])[A-Z]{4,}(?![A-Za-z0-9])", 0.3),
    ]
    CONTEXT = ["spell", "spelt", "spelled", "surname", "name"]
