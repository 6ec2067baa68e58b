"""Personal data in a citizen's message, found and masked before anything stores it.

What is found (docs/privacy.md):

- **Finnish personal identity codes** with every century sign (``+``; ``-`` and ``Y X W V U``;
  ``A B C D E F``, the latter ones in use since 2023), only with a real date and the right check
  character, so that order numbers and dates are left alone;
- **phone numbers**: international (``+358 40 …``, ``00358 …``, ``+1 (212) …``) and national ones
  starting with 0 (``040 123 4567``, ``(09) 310 11111``, ``070-123 45 67``), 8 to 15 digits, not
  a date;
- **email addresses**;
- **IBANs**, with the country's length where known and the mod-97 check;
- **payment card numbers**: a card network's prefix and length, and the Luhn check (an invoice
  reference of as many digits is not a card);
- **street addresses** where recognisable: a capitalised street name ending as streets do
  (``…tie``, ``…katu``, ``…gatan``, ``… Street``; ``knowledge/masking.yml``) with a house number.

``Masker.mask`` replaces each by its label in the conversation's language (``[henkilötunnus]``,
``[personbeteckning]``… from ``knowledge/masking.yml``) and returns what it found, so that the values
can be kept apart for an agent who must see one (bot/privacy/vault.py). Measured on 576 messages
written by people who had not seen this code (``python -m bench.masking_eval``,
docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from bot.core.errors import KnowledgeError
from bot.core.i18n import LANGUAGES
from bot.core.paths import knowledge_dir
from bot.knowledge.files import WordsLoader, trilingual


class Kind(str, Enum):
    """A kind of personal data the masker finds."""

    IDENTITY_CODE = "identity_code"
    PHONE = "phone"
    EMAIL = "email"
    IBAN = "iban"
    CARD = "card"
    ADDRESS = "address"


@dataclass(frozen=True)
class Found:
    """One value found: its kind, where it is in the text, and the value itself."""

    kind: Kind
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Masked:
    """A message with its personal data replaced by labels, and what was replaced."""

    text: str
    found: tuple[Found, ...]


CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURIES = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900}
CENTURIES |= {sign: 2000 for sign in "ABCDEF"}
# IBAN lengths of the countries citizens here are likely to write (ISO 13616 registry); other
# countries: any length 15-34 that passes mod-97.
IBAN_LENGTHS = {
    "FI": 18, "SE": 24, "EE": 20, "NO": 15, "DK": 18, "DE": 22, "GB": 22, "FR": 27, "ES": 24, "IT": 27,
    "NL": 18, "BE": 16, "AT": 20, "CH": 21, "PL": 28, "LT": 20, "LV": 21, "IE": 22, "PT": 25, "IS": 26,
}  # fmt: skip

# Digits may not touch it; letters may ("hetu:131052-308T", "är150822E0425"): the date and the
# check character keep ordinary strings out.
_IDENTITY = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})([-+A-FU-Ya-fu-y])(\d{3})([0-9A-Za-z])(?![\d])")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,32}")
_CARD = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
_PHONE = re.compile(r"(?<![\w+-])(?:\+|\(0|0)[\d \-()]{6,24}\d(?![\d])")
_DATE = re.compile(r"^\d{1,2}[-/]\d{1,2}[-/]\d{2,4}$")
_CREDITOR_REFERENCE = re.compile(r"(?<![A-Za-z0-9])[Rr][Ff]\d{2}(?:[ ]?\d{1,4}){1,6}(?![A-Za-z0-9])")
_BUSINESS_ID = re.compile(r"^\d{7}-\d$")  # a Finnish business ID (Y-tunnus), not a phone


def valid_identity_code(code: str) -> bool:
    """A Finnish personal identity code with a real date and the right check character."""
    match = _IDENTITY.fullmatch(code)
    if match is None:
        return False
    day, month, year, sign, number, check = match.groups()
    try:
        dt.date(CENTURIES[sign.upper()] + int(year), int(month), int(day))
    except ValueError:
        return False
    if not 2 <= int(number) <= 999:
        return False
    return CHECK_CHARACTERS[int(day + month + year + number) % 31] == check.upper()


def valid_iban(compact: str) -> bool:
    """An IBAN (no spaces) of its country's length, passing the mod-97 check."""
    compact = compact.upper()
    if compact.startswith("RF"):  # a creditor reference (ISO 11649) has the same check, is no account
        return False
    length = IBAN_LENGTHS.get(compact[:2])
    if (length is not None and len(compact) != length) or not 15 <= len(compact) <= 34 or not compact.isalnum():
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def _creditor_reference(reference: str) -> bool:
    """An RF creditor reference (ISO 11649: mod-97 like an IBAN)."""
    compact = re.sub(r"\s", "", reference).upper()
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return 5 <= len(compact) <= 25 and int(digits) % 97 == 1


def luhn(digits: str) -> bool:
    """The Luhn check of a card number's digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_network(digits: str) -> bool:
    """Whether the digits start and are as long as a card network's numbers."""
    n = len(digits)
    if digits[0] == "4":
        return n in (13, 16, 19)
    if digits[:2] in ("34", "37"):
        return n == 15
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return n == 16
    if digits.startswith(("6011", "65", "35", "62")) or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19
    return False


@dataclass(frozen=True)
class MaskingConfig:
    """The labels and street words of ``knowledge/masking.yml``."""

    labels: dict[Kind, dict[str, str]]
    streets: tuple[str, ...]
    street_prefixes: tuple[str, ...]


def load_masking(directory: Path | None = None) -> MaskingConfig:
    """Read and check ``knowledge/masking.yml``; KnowledgeError names what is wrong."""
    path = (directory or knowledge_dir()) / "masking.yml"
    try:
        data = WordsLoader(path.read_text(encoding="utf-8")).get_single_data()
    except Exception as error:  # noqa: BLE001 - any failure to read it is the editors' error
        raise KnowledgeError(f"{path}: {error}") from error
    given = data.get("labels") or {}
    labels = {kind: trilingual(given.get(kind.value), f"{path}: labels.{kind.value}") for kind in Kind}
    streets = data.get("streets") or {}
    if set(streets) != set(LANGUAGES) or not all(streets.values()):
        raise KnowledgeError(f"{path}: streets needs word endings for fi, sv and en")
    endings = tuple(sorted({str(w).lower() for words in streets.values() for w in words}, key=len, reverse=True))
    return MaskingConfig(labels, endings, tuple(str(w) for w in data.get("street_prefixes") or ()))


class Masker:
    """Finds and masks personal data in a message (see the module's docstring)."""

    def __init__(self, config: MaskingConfig | None = None) -> None:
        self._config = config or load_masking()
        endings = "|".join(re.escape(e) for e in self._config.streets)
        prefixes = "|".join(re.escape(p) for p in self._config.street_prefixes)
        letters = r"A-Za-zÅÄÖåäöÉéÜü"
        number = (
            r"\d{1,4}(?:[-–]\d{1,4})?(?:\s?[A-Za-z](?![" + letters + r"]))?"  # 12, 11-13, 12b, 12 B
            r"(?:\s?(?:as\.?|bost\.?|lgh\.?|apt\.?)?\s?\d{1,3}(?![\d:]))?"  # 34, as. 14
        )
        word = rf"[A-ZÅÄÖ][{letters}\-]+"
        street = "|".join(
            [
                rf"{word}\s+[a-zåäö][{letters}\-]*(?:{endings})",  # "Pispalan valtatie", "Hakaniemen ranta"
                rf"{word}\s+(?i:{endings})",  # "Main Street" (a street word alone needs a name)
                rf"(?:(?:{prefixes})\s+)?(?=[A-ZÅÄÖ])[{letters}\-]*(?i:{endings})",  # "Vanha Porvoontie"
            ]
        )
        # "Mannerheimintie 12 B 34", "Vanha Porvoontie 245", "Runebergsgatan 5 a 7"
        nordic = rf"(?<![{letters}])(?:{street})(?![{letters}])\s+{number}(?![{letters}\d])"
        # "221B Baker Street", "45 Kings Road", "47 Elm Street apt 3"
        english = (
            rf"(?<![\w])\d{{1,4}}[A-Za-z]?\s+(?:[A-Z][{letters}'\-]+\s+){{1,3}}(?i:{endings})\b\.?"
            r"(?:,?\s(?:apt|flat|unit|#)\.?\s?\d{1,4}[A-Za-z]?\b)?"
        )
        self._address = re.compile(f"{nordic}|{english}")

    def label(self, kind: Kind, language: str) -> str:
        """The placeholder for ``kind`` in ``language``."""
        labels = self._config.labels[kind]
        return labels.get(language) or labels["fi"]

    def find(self, text: str) -> list[Found]:
        """The personal data in ``text``, in order, without overlaps (the first finder wins:
        emails, IBANs, identity codes, cards, phones, addresses)."""
        taken: list[Found] = []

        # Look-alikes that are not personal data keep their place, so that no finder takes a
        # part of them: creditor references (RF18 5390 0754 7034, same check as an IBAN).
        reserved = [(m.start(), m.end()) for m in _CREDITOR_REFERENCE.finditer(text) if _creditor_reference(m.group())]

        def free(start: int, end: int) -> bool:
            return all(end <= f.start or start >= f.end for f in taken) and all(
                end <= s or start >= e for s, e in reserved
            )

        def add(kind: Kind, start: int, end: int) -> None:
            if free(start, end):
                taken.append(Found(kind, start, end, text[start:end]))

        for match in _EMAIL.finditer(text):
            add(Kind.EMAIL, match.start(), match.end())
        for match in _IBAN.finditer(text):
            span = _iban_span(text, match.start(), match.end())
            if span is not None:
                add(Kind.IBAN, *span)
        for match in _IDENTITY.finditer(text):
            if valid_identity_code(match.group()):
                add(Kind.IDENTITY_CODE, match.start(), match.end())
        for match in _CARD.finditer(text):
            digits = re.sub(r"\D", "", match.group())
            if card_network(digits) and luhn(digits):
                add(Kind.CARD, match.start(), match.end())
        for match in _PHONE.finditer(text):
            length = _phone_length(match.group())
            if length is not None:
                add(Kind.PHONE, match.start(), match.start() + length)
        for match in self._address.finditer(text):
            add(Kind.ADDRESS, match.start(), match.end())
        return sorted(taken, key=lambda f: f.start)

    def mask(self, text: str, language: str, found: list[Found] | None = None) -> Masked:
        """``text`` with each value replaced by its label in ``language`` (``found``: what
        ``find`` gave for this text, if it was already called)."""
        found = self.find(text) if found is None else found
        if not found:
            return Masked(text, ())
        parts, at = [], 0
        for item in found:
            parts += [text[at : item.start], self.label(item.kind, language)]
            at = item.end
        parts.append(text[at:])
        return Masked("".join(parts), tuple(found))


def _iban_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where a valid IBAN starting at ``start`` ends (its country's length, or the longest
    length that passes mod-97), if there is one."""
    positions = [i for i in range(start, end) if text[i].isalnum()]
    compact = "".join(text[i] for i in positions).upper()
    known = IBAN_LENGTHS.get(compact[:2])
    for length in [known] if known else range(min(len(compact), 34), 14, -1):
        if length is not None and length <= len(compact) and valid_iban(compact[:length]):
            return start, positions[length - 1] + 1
    return None


def _phone_length(candidate: str) -> int | None:
    """How long the phone number at the start of a run of digits, spaces, dashes and brackets
    is, if it is one."""
    stripped = candidate.rstrip(" -(")
    stripped = stripped.rstrip(")") if stripped.count("(") < stripped.count(")") else stripped
    if _DATE.match(stripped.strip()) or _BUSINESS_ID.match(stripped.strip()):
        return None
    digits = re.sub(r"\D", "", stripped)
    if stripped.startswith("+"):
        ok = 8 <= len(digits) <= 15
    elif stripped.startswith("00"):
        ok = 10 <= len(digits) <= 17 and digits[2] != "0"
    else:
        ok = 8 <= len(digits) <= 12 and digits[1] != "0"
    return len(stripped) if ok else None


@lru_cache(maxsize=1)
def default_masker() -> Masker:
    """The masker with the knowledge's labels and streets (built once per process)."""
    return Masker()


__all__ = ["Found", "Kind", "Masked", "Masker", "default_masker", "load_masking", "luhn", "valid_iban"]
