"""Masking for anything a stranger could read: public pages, messages, printed slips.

A name keeps its first and (for longer names) last letter; an address keeps its first two words
(city and district are enough for a customer to recognise it), the rest is hidden.
"""

from __future__ import annotations

MASK = "*"


def _mask_word(word: str) -> str:
    if len(word) <= 1:
        return word
    if len(word) == 2:
        return word[0] + MASK
    return word[0] + MASK * (len(word) - 2) + word[-1]


def mask_name(name: str | None) -> str:
    """김민수 -> 김*수, 이준 -> 이*, Jane Doe -> J**e D*e."""
    words = (name or "").split()
    return " ".join(_mask_word(w) for w in words)


def mask_address(address: str | None, *, keep_words: int = 2) -> str:
    """서울 강남구 테헤란로 123 4층 -> 서울 강남구 ***."""
    words = (address or "").split()
    if not words:
        return ""
    if len(words) <= keep_words:
        return " ".join(words[:1] + [MASK * 3])
    return " ".join(words[:keep_words] + [MASK * 3])
