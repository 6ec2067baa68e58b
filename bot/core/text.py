"""Text normalisation shared by NLU components and entity matching."""

import re
import unicodedata

_FOLD = str.maketrans({"ä": "a", "ö": "o", "å": "a", "é": "e", "ü": "u", "æ": "a", "ø": "o"})
_WORD = re.compile(r"[\w-]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case ``text`` and fold the diacritics citizens often leave out (ä→a, ö→o, å→a).

    Finnish and Swedish speakers on foreign keyboards and phones write "paivakoti" for
    "päiväkoti" and "halsostation" for "hälsostation"; folding makes both the same word.
    """
    lowered = unicodedata.normalize("NFC", text).casefold()
    return lowered.translate(_FOLD)


def words(text: str) -> list[str]:
    """Return the folded words of ``text`` in order (letters, digits, hyphens)."""
    return _WORD.findall(fold(text))
