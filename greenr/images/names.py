"""File names from untrusted clients, made safe to store, log and show.

A name is only a label for people: it is never used as a path. What is removed and why:
- control characters (NUL, newline, escape, C1): PostgreSQL refuses NUL in text columns (the
  whole request's insert fails), newlines forge log lines, escapes drive terminals;
- bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C): an RTL
  override shows `photo\u202egpj.exe` as `photoexe.jpg`;
- other invisible format characters (zero-width space, BOM, soft hyphen...), except the
  zero-width joiners that some scripts and emoji need;
- lone surrogates, which cannot be encoded as UTF-8.
What remains is NFC-normalised, its whitespace runs collapsed to one space, and cut to
`MAX_NAME_CHARS` characters.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

MAX_NAME_CHARS = 255
# Zero-width non-joiner and joiner: part of correct spelling in Persian, Indic scripts and emoji.
_KEPT_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_WHITESPACE_RUN = re.compile(r"\s+")


def _kept(character: str) -> bool:
    if character in _KEPT_FORMAT_CHARACTERS:
        return True
    return unicodedata.category(character) not in _DROPPED_CATEGORIES


def clean_name(raw: str) -> str:
    """`raw` without control, bidi and invisible characters, NFC, one space per run, at most 255 chars.

    May return "" (a name made only of such characters): callers supply their own fallback.
    """
    # Controls become spaces rather than vanishing, so "a\tb" stays two words.
    spaced = "".join(" " if unicodedata.category(c) == "Cc" or c in "\u2028\u2029" else c for c in raw)
    kept = "".join(c for c in spaced if _kept(c))
    normal = unicodedata.normalize("NFC", kept)
    return _WHITESPACE_RUN.sub(" ", normal).strip()[:MAX_NAME_CHARS].strip()


def clean_upload_name(raw: str | None, index: int) -> str:
    """The base name of an uploaded file (browsers may send a whole Windows path), cleaned.

    `file-<index + 1>` when nothing printable is left.
    """
    base = PurePosixPath((raw or "").replace("\\", "/")).name
    return clean_name(base) or f"file-{index + 1}"
