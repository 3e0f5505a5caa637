"""Password rules beyond Django's own: no passwords made of one character or one short pattern."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_UNIT = 32
ONE_CHARACTER = gettext_lazy(
    "This password is mostly the same character over and over, which is easy to guess. "
    "Try a few unrelated words instead."
)
REPEATED_PATTERN = gettext_lazy(
    "This password repeats a short pattern (like abcabc or 1212), which is easy to guess. "
    "Try a few unrelated words instead."
)


class RepetitivePasswordValidator:
    """Refuses passwords made mostly of one repeated character or of a short repeated unit.

    `aaaaaaaaaaaa`, `a1a2a3a4a5a6`, `abcabcabcabc` and `121212121212` pass the
    length rule but take a guesser a handful of tries. Two words said twice
    (`blue-sky-blue-sky`) are left to the other rules.
    """

    def __init__(self, max_share_of_one_character: float = 0.5, max_share_of_repeats: float = 0.8) -> None:
        self.max_share_of_one_character = max_share_of_one_character
        self.max_share_of_repeats = max_share_of_repeats

    def validate(self, password: str, user: Any = None) -> None:
        text = password.casefold()
        if not text:
            return
        # A unit is short when it fits about three times into the password
        # ("2026-2026-2026" is three units of five, less the last dash); the
        # cap keeps the work linear for a pasted essay.
        for unit in range(1, min((len(text) + 1) // 3, MAX_UNIT) + 1):
            # Positions that repeat the character one unit earlier: all of
            # them in "abcabcabcabc" (unit 3), most of them in "abcabcabcabc!"
            # and, for unit 1, in "aaaabbbbcccc".
            repeats = sum(1 for i in range(unit, len(text)) if text[i] == text[i - unit])
            if repeats >= (len(text) - unit) * self.max_share_of_repeats:
                raise ValidationError(
                    ONE_CHARACTER if unit == 1 else REPEATED_PATTERN,
                    code="password_one_character" if unit == 1 else "password_repeated_pattern",
                )
        _character, count = Counter(text).most_common(1)[0]
        if count >= len(text) * self.max_share_of_one_character:  # "a1a2a3a4a5a6"
            raise ValidationError(ONE_CHARACTER, code="password_one_character")

    def get_help_text(self) -> str:
        return _("Your password can't be one character or a short pattern repeated.")
