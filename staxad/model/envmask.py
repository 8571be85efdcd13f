"""Env values as responses show them, and reading them back from a PUT.

Secret-looking values are shown as MASK. A client that GETs the env and PUTs it back
sends the mask, not the secret: for a key that exists, the mask means "keep what is
stored"; for a new key it is refused, since storing the literal mask would silently
break the app.

Pure: the stored values come from staxad.store.env.
"""

from __future__ import annotations

from collections.abc import Mapping

MASK = "****"


def unmask(sent: Mapping[str, str], stored: Mapping[str, str]) -> dict[str, str]:
    """The values to store. Raises ValueError naming the new keys that were sent the mask."""
    unknown = sorted(key for key, value in sent.items() if value == MASK and key not in stored)
    if unknown:
        raise ValueError(
            f"'{MASK}' is the mask shown for secret values, not a value; send the real value of "
            f"{', '.join(unknown[:10])}"
        )
    return {key: stored[key] if value == MASK else value for key, value in sent.items()}
