"""A plan upload on disk: the multipart form's files saved into a private temporary folder, one
sub-folder per form field, under the base names the client gave, so that the importer and its
report name each file as the client does.

A file name with a path, ``..`` or control characters is refused, and so are a zoning field that
is not one dataset and overlay or raster files no spec names. Every refusal, and every refusal of
the import, is a 422 problem pointing at its form field.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

from fastapi import UploadFile

from api.errors import Problem
from gis.errors import SimtaruError
from layers.errors import PlanInputError
from layers.importer import OVERLAY_SPEC, RASTER_SPEC, OverlaySource, RasterSource, parse_pairs

#: Longest file name an upload may carry (bytes, as most file systems allow).
MAX_NAME_BYTES = 255
_CONTROL = frozenset(chr(c) for c in (*range(32), 127))


class _Named(Protocol):
    @property
    def path(self) -> Path: ...


Source = TypeVar("Source", bound=_Named)


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
        """The overlay specs, each naming one of the uploaded overlay files."""
        return self._named(
            "overlay", "overlay_files", OVERLAY_SPEC, specs, parts, OverlaySource.parse
        )

    def rasters(
        self, specs: Sequence[str], parts: Sequence[UploadFile]
    ) -> tuple[RasterSource, ...]:
        """The raster specs (``dem=dem.tif``), each naming one of the uploaded GeoTIFFs."""
        return self._named("raster", "raster_files", RASTER_SPEC, specs, parts, RasterSource.parse)

    def _named(
        self,
        spec_field: str,
        files_field: str,
        spec_format: str,
        specs: Sequence[str],
        parts: Sequence[UploadFile],
        parse: Callable[[str, Path, str], Source],
    ) -> tuple[Source, ...]:
        """Specs of ``spec_field``, each naming one of the files of ``files_field``. A file no
        spec names (other than the parts of a named Shapefile) is refused as a likely mistake."""
        saved = self.files(files_field, parts)
        sources = []
        for spec in specs:
            try:
                source = parse(spec, self.folder / files_field, spec_field)
            except PlanInputError as exc:
                raise field_problem(spec_field, str(exc)) from None
            if source.path not in saved:
                uploaded = ", ".join(p.name for p in saved) or "none"
                raise field_problem(
                    spec_field,
                    f"{spec_field} {spec!r} names no uploaded {spec_field} file "
                    f"({files_field}: {uploaded})",
                )
            sources.append(source)
        named = {s.path.stem.casefold() for s in sources}
        strays = [p.name for p in saved if p.stem.casefold() not in named]
        if strays:
            raise field_problem(
                files_field,
                f"{files_field}: {', '.join(strays)} named by no {spec_field} spec ({spec_format})",
            )
        return tuple(sources)

    def refusal(self, exc: SimtaruError, field: str | None = None) -> Problem:
        """The import's refusal as a problem pointing at ``field``, else at the field whose
        file the message names first (the importer's messages start with the file name, and
        a table's with the file, sheet and cell: ``rules.csv, row 2, column A: ...``)."""
        text = str(exc)
        named = (self._fields.get(head) for head in (text.split(":", 1)[0], _first_name(text)))
        field = field or next((f for f in named if f is not None), None)
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


def _first_name(text: str) -> str:
    """What a message names before its first comma or colon."""
    return re.split(r"[:,]", text, maxsplit=1)[0]


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
