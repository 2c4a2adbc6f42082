"""Raster rules: the plan's limits on slope, flood depth and hazard class, as a table.

One canonical layout (CSV or XLSX) whose columns are the :class:`RasterRule` fields; only
``raster`` and ``maximum`` are required, and an empty cell takes the field's default (statistic
``p90``, effect ``reject``, nodata tolerance 10 %), which the stored rule then holds, so a
decision never depends on a default the code might change. The format is in
docs/rule-tables.md, "Raster rules".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layers.errors import PlanInputError
from layers.model import RasterKind, RasterRule, RuleSet
from layers.report import QualityReport
from layers.rules.names import NameIndex
from layers.rules.tables import (
    Record,
    Table,
    check_columns,
    read_table,
    resolve_subzone,
    text,
    typed_record,
)

EFFECTS = ("reject", "review", "condition")
#: ``mean``, ``max`` or ``p`` and a percentile (``p90``, ``p97.5``).
STATISTIC = re.compile(r"mean|max|p(\d+(?:\.\d+)?)")
#: What a hazard-class rule measures: the share of the parcel in its classes.
SHARE = "share"

#: Makes the error for a cell of the row being read: (column, message).
Refusal = Callable[[str, str], PlanInputError]


def read_raster_rules(
    path: Path | str,
    *,
    names: NameIndex | None = None,
    report: QualityReport | None = None,
) -> RuleSet:
    """The raster rules of a CSV or XLSX table; a value the engine could not apply (an unknown
    raster, statistic or effect, a percentile outside 0-100, classes on a slope rule) stops
    the import naming its cell. With ``names``, a row's sub-zone (code or name) must resolve in
    the plan."""
    table = read_table(path)
    kinds = check_columns(table, RasterRule, {"raster", "maximum"})
    rules = []
    for record in table.records:
        values = {k: v for k, v in typed_record(table, record, kinds).items() if v is not None}
        rule = _rule(table, record, values, names, report)
        if rule is not None:
            rules.append(rule)
    return RuleSet(raster_rules=tuple(rules), sources=(Path(path).name,))


def statistic_q(statistic: str) -> float | None:
    """The percentile a statistic names (``p90`` -> 90), None for the others.

    >>> statistic_q("p90"), statistic_q("mean")
    (90.0, None)
    """
    match = STATISTIC.fullmatch(statistic)
    return float(match.group(1)) if match and match.group(1) else None


def hazard_classes(classes: str | None) -> frozenset[float]:
    """The class numbers of a hazard rule's ``classes`` (``"2,3"`` -> {2.0, 3.0})."""
    return frozenset(float(c) for c in re.split(r"[,;\s]+", classes or "") if c)


def _rule(
    table: Table,
    record: Record,
    values: dict[str, Any],
    names: NameIndex | None,
    report: QualityReport | None,
) -> RasterRule | None:
    def refuse(column: str, message: str) -> PlanInputError:
        return table.sheet.error(table.at(record, column), message)

    raster = str(values.get("raster", ""))
    if raster not in set(RasterKind):
        raise refuse("raster", f"raster {raster!r} is not one of {', '.join(RasterKind)}")
    if "maximum" not in values:
        raise refuse("maximum", "maximum is empty: the rule needs its limit")
    if values["maximum"] < 0:
        raise refuse("maximum", f"maximum {values['maximum']:g} is below zero")
    hazard = raster == RasterKind.HAZARD_CLASS
    statistic = _statistic(values.pop("statistic", None), hazard, refuse)
    if statistic is not None:
        values["statistic"] = statistic
    values["classes"] = _classes(values.get("classes"), hazard, refuse)
    if values.get("effect", EFFECTS[0]) not in EFFECTS:
        raise refuse("effect", f"effect {values['effect']!r} is not one of {', '.join(EFFECTS)}")
    if not 0 <= values.get("nodata_max_pct", 0) <= 100:
        raise refuse("nodata_max_pct", "nodata_max_pct is a share of the parcel, 0 to 100 %")
    if "subzone_code" in values:
        where = table.at(record, "subzone_code")
        code = resolve_subzone(
            values["subzone_code"], names, report=report, sheet=table.sheet, where=where
        )
        if code is None:
            return None
        values["subzone_code"] = code
    return RasterRule(**values)


def _statistic(given: str | None, hazard: bool, refuse: Refusal) -> str | None:
    """A hazard rule measures a share and takes no statistic; the others take one of
    ``STATISTIC`` (None: the field's default)."""
    if hazard:
        if given is not None and given.lower() != SHARE:
            raise refuse(
                "statistic",
                f"a hazard_class rule measures the share of the parcel in its classes, not "
                f"{given!r}; leave statistic empty",
            )
        return SHARE
    if given is None:
        return None
    statistic = given.strip().lower()
    q = statistic_q(statistic)
    if not STATISTIC.fullmatch(statistic) or (q is not None and not 0 < q <= 100):
        raise refuse(
            "statistic", f"statistic {given!r} is not mean, max or p<q> with q in 0-100 (p90)"
        )
    return statistic


def _classes(given: str | None, hazard: bool, refuse: Refusal) -> str | None:
    """A hazard rule's classes as ``2,3``; other rules take none."""
    if not hazard:
        if given is not None:
            raise refuse("classes", "classes belong to a hazard_class rule only")
        return None
    try:
        classes = hazard_classes(given)
    except ValueError:
        raise refuse(
            "classes", f"classes {given!r} are not class numbers (e.g. 3 or 2,3)"
        ) from None
    if not classes:
        raise refuse("classes", "a hazard_class rule needs the classes it limits (e.g. 3)")
    return ",".join(str(text(c)) for c in sorted(classes))
