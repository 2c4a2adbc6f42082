"""Rule tables written in tests, as a planner's spreadsheet program would save them."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_csv(path: Path, rows: Sequence[Sequence[object]], *, delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def write_canonical(path: Path, items: Sequence[Any]) -> Path:
    """Model dataclasses as a canonical table: a header of field names, empty cells for None."""
    names = [f.name for f in dataclasses.fields(items[0])]
    rows = [["" if v is None else v for v in dataclasses.astuple(item)] for item in items]
    return write_csv(path, [names, *rows])
