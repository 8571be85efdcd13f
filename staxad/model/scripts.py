"""Mixed-script host names (UTS #39, "highly restrictive"): a label that mixes Cyrillic
and Latin letters (`\u0430pple.com`, a Cyrillic a and "pple") reads as another name. Each label may
use one script, or Latin with the Han-based combinations that East Asian names use."""

from __future__ import annotations

import unicodedata

import idna

# Unicode names start with the script for letters; these say otherwise.
_SCRIPT_OF = {"CJK": "HAN", "KATAKANA-HIRAGANA": "KATAKANA", "HALFWIDTH": "KATAKANA", "IDEOGRAPHIC": "HAN"}
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def _script(char: str) -> str | None:
    """The script of a letter; None for digits, '-' and combining marks (they go with any)."""
    if not unicodedata.category(char).startswith("L"):
        return None
    first = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_OF.get(first, first)


def label_scripts(label: str) -> frozenset[str]:
    return frozenset(script for char in label if (script := _script(char)) is not None)


def mixed_script_label(ascii_name: str) -> str | None:
    """The first label (in Unicode) that mixes scripts, or None."""
    for label in ascii_name.split("."):
        shown = idna.decode(label) if label.startswith("xn--") else label
        scripts = label_scripts(shown)
        if len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES):
            return shown
    return None
