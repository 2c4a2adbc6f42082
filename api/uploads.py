"""A plan upload on disk: the multipart form's files saved into a private temporary folder, one
sub-folder per form field, under the base names the client gave, so that the importer and its
report name each file as the client does.

A file name with a path, ``..`` or control characters is refused, and so are a zoning field that
is not one dataset and overlay files no overlay spec names. Every refusal, and every refusal of
the import, is a 422 problem pointing at its form field.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from api.errors import Problem
from gis.errors import SimtaruError
from layers.errors import PlanInputError
from layers.importer import OVERLAY_SPEC, OverlaySource, parse_pairs

#: Longest file name an upload may carry (bytes, as most file systems allow).
MAX_NAME_BYTES = 255
_CONTROL = frozenset(chr(c) for c in (*range(32), 127))


class Upload:
    """The files of one upload, and which form field each came in."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fields: dict[str, str] = {}

    @classmethod
    @contextmanager
    def private(cls) -> Iterator[Upload]:
        """An upload in a new folder only this process's user may read, removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="simtaru-upload-") as folder:
            yield cls(Path(folder))

    def files(self, field: str, parts: Sequence[UploadFile]) -> list[Path]:
        """Save a field's parts under their base names in the field's own folder."""
        where = self.folder / field
        where.mkdir()
        saved = []
        for part in parts:
            name = _base_name(part.filename, field)
            target = where / name
            if target.exists():
                raise field_problem(field, f"{field}: two files are named {name!r}")
            with target.open("xb") as out:
                shutil.copyfileobj(part.file, out)
            self._fields.setdefault(name, field)
            saved.append(target)
        return saved

    def file(self, field: str, part: UploadFile | None) -> Path | None:
        return self.files(field, [part])[0] if part is not None else None

    def zoning(self, parts: Sequence[UploadFile]) -> Path:
        """The zoning dataset: the field's one file, or the ``.shp`` of a Shapefile's parts."""
        saved = self.files("zoning", parts)
        if len(saved) == 1:
            return saved[0]
        shps = [p for p in saved if p.suffix.lower() == ".shp"]
        if len(shps) != 1:
            raise field_problem(
                "zoning",
                "zoning: several files must be the parts of one Shapefile (one .shp with its "
                f".shx, .dbf and .prj); got {', '.join(p.name for p in saved)}",
            )
        stem = shps[0].stem.casefold()
        strays = [p.name for p in saved if p.stem.casefold() != stem]
        if strays:
            raise field_problem(
                "zoning", f"zoning: {', '.join(strays)} not part of the Shapefile {shps[0].name}"
            )
        return shps[0]

    def overlays(
        self, specs: Sequence[str], parts: Sequence[UploadFile]
    ) -> tuple[OverlaySource, ...]:
        """The overlay specs, each naming one of the uploaded overlay files. A file no spec
        names (other than the parts of a named Shapefile) is refused as a likely mistake."""
        saved = self.files("overlay_files", parts)
        sources = []
        for spec in specs:
            try:
                source = OverlaySource.parse(spec, self.folder / "overlay_files", "overlay")
            except PlanInputError as exc:
                raise field_problem("overlay", str(exc)) from None
            if source.path not in saved:
                uploaded = ", ".join(p.name for p in saved) or "none"
                raise field_problem(
                    "overlay",
                    f"overlay {spec!r} names no uploaded overlay file (overlay_files: {uploaded})",
                )
            sources.append(source)
        named = {s.path.stem.casefold() for s in sources}
        strays = [p.name for p in saved if p.stem.casefold() not in named]
        if strays:
            raise field_problem(
                "overlay_files",
                f"overlay_files: {', '.join(strays)} named by no overlay spec ({OVERLAY_SPEC})",
            )
        return tuple(sources)

    def refusal(self, exc: SimtaruError, field: str | None = None) -> Problem:
        """The import's refusal as a problem pointing at ``field``, else at the field whose
        file the message names first (the importer's messages start with the file name)."""
        text = str(exc)
        field = field or self._fields.get(text.split(":", 1)[0])
        problem = Problem.of(exc)
        if field is not None:
            problem.errors = [{"pointer": f"#/{field}", "detail": text}]
        return problem


def pairs(items: Sequence[str] | None, field: str) -> list[tuple[str, str]]:
    """A repeated ``NAME=VALUE`` field (``map``) as pairs, or a problem pointing at it."""
    try:
        return parse_pairs(items, field)
    except PlanInputError as exc:
        raise field_problem(field, str(exc)) from None


def field_problem(field: str, detail: str) -> Problem:
    return Problem(
        "invalid-plan-input",
        "Invalid plan input",
        detail,
        errors=[{"pointer": f"#/{field}", "detail": detail}],
    )


def _base_name(name: str | None, field: str) -> str:
    """A client's file name, if it is a plain base name."""
    if not name:
        raise field_problem(field, f"{field}: a file part without a file name")
    why = None
    if "/" in name or "\\" in name:
        why = "has a path; send the file's base name only"
    elif ".." in name:
        why = "contains '..'"
    elif _CONTROL & set(name):
        why = "contains control characters"
    elif len(name.encode()) > MAX_NAME_BYTES:
        why = f"is longer than {MAX_NAME_BYTES} bytes"
    if why:
        raise field_problem(field, f"{field}: the file name {name!r} {why}; refused")
    return name
