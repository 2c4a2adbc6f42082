"""Sub-zone names to codes.

Rule tables are often keyed by a sub-zone's name ("Perumahan Kepadatan Sedang") while the plan and
the matrix speak of codes (``R-3``); the same name is spelt differently from table to table ("Zona
Badan Air", "Badan Air"; "Perikanan Budi Daya", "Perikanan Budidaya"). A :class:`NameIndex` built
from (name, code) pairs of one plan, such as the ITBX header's names and codes or the zones'
NAMOBJ and KODSBL, resolves a name from any other table of that plan, and says why when it cannot.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping

_PREFIX = re.compile(r"^(?:sub[\s-]*zona?|zona)\b\s*", re.IGNORECASE)
_TRAILING_NOTE = re.compile(r"\s*\([^)]*\)\s*$")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_name(name: str) -> str:
    """The key two spellings of one sub-zone name share.

    Case, accents, a leading "Zona"/"Sub-Zona"/"Sub Zona" and a trailing note in brackets are
    dropped, and so are spaces and punctuation, so "Budi Daya" and "Budidaya" or "di Konversi" and
    "Dikonversi" meet.

    >>> normalize_name("Sub-Zona  Perikanan Budi Daya") == normalize_name("Perikanan Budidaya")
    True
    >>> normalize_name("Zona Ruang Terbuka Hijau (RTH)")
    'ruangterbukahijau'
    """
    text = unicodedata.normalize("NFKD", str(name)).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).strip()
    text = _TRAILING_NOTE.sub("", _PREFIX.sub("", text))
    return _NOT_ALNUM.sub("", text)


class NameIndex:
    """Resolves sub-zone names (and the codes themselves) to codes of one plan.

    A name that two pairs give different codes is ambiguous: :meth:`resolve` refuses it and
    :attr:`ambiguous` lists it, so the import can report it rather than pick one.

    >>> index = NameIndex([("Zona Badan Air", "BA"), ("Perumahan Kepadatan Sedang", "R-3")])
    >>> index.resolve("badan air"), index.resolve("Sub-Zona Perumahan Kepadatan Sedang")
    ('BA', 'R-3')
    >>> index.resolve("R-3")
    'R-3'
    """

    def __init__(self, pairs: Iterable[tuple[str | None, str | None]] = ()) -> None:
        self._codes: dict[str, set[str]] = {}
        self._names: dict[str, str] = {}
        self._pairs: list[tuple[str, str]] = []
        for name, code in pairs:
            self._add(name, code)

    @classmethod
    def from_subzones(cls, subzones: Mapping[str, str]) -> NameIndex:
        """An index from a rule set's ``subzones`` (code -> name), e.g. the ITBX header's."""
        return cls((name, code) for code, name in subzones.items())

    def extended(self, pairs: Iterable[tuple[str | None, str | None]]) -> NameIndex:
        """A new index with more pairs, e.g. a planner's aliases for names no header spells."""
        return NameIndex([*self._pairs, *pairs])

    def _add(self, name: str | None, code: str | None) -> None:
        code = str(code).strip() if code is not None else ""
        name = str(name).strip() if name is not None else ""
        if not code:
            return
        self._pairs.append((name, code))
        for label in (name, code):
            key = normalize_name(label) if label else ""
            if key:
                self._codes.setdefault(key, set()).add(code)
                self._names.setdefault(key, label)

    @property
    def ambiguous(self) -> dict[str, tuple[str, ...]]:
        """Names that resolve to more than one code, with the codes (sorted)."""
        return {
            self._names[key]: tuple(sorted(codes))
            for key, codes in self._codes.items()
            if len(codes) > 1
        }

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and len(self._codes.get(normalize_name(name), ())) == 1

    def __len__(self) -> int:
        return len(self._codes)

    def resolve(self, name: str) -> str:
        """The code of ``name``; LookupError saying why (unknown, with close names; ambiguous)."""
        key = normalize_name(name)
        codes = self._codes.get(key)
        if not codes:
            close = difflib.get_close_matches(key, list(self._codes), n=3, cutoff=0.75)
            hint = f" (close: {', '.join(repr(self._names[k]) for k in close)})" if close else ""
            raise LookupError(f"sub-zone name {name!r} is not one the plan names{hint}")
        if len(codes) > 1:
            raise LookupError(
                f"sub-zone name {name!r} is ambiguous: the plan gives it the codes "
                + ", ".join(sorted(codes))
            )
        return next(iter(codes))
