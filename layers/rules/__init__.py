"""Importers of the zoning regulation's tables (ITBX matrix, intensity, KBLI crosswalk, special
provisions, raster rules) into :class:`layers.model.RuleSet` parts; the formats are in
docs/rule-tables.md."""

from layers.rules.intensity import read_intensity
from layers.rules.itbx import read_itbx, read_legend
from layers.rules.names import NameIndex, normalize_name
from layers.rules.raster import read_raster_rules
from layers.rules.tables import read_crosswalk, read_provisions

__all__ = [
    "NameIndex",
    "normalize_name",
    "read_crosswalk",
    "read_intensity",
    "read_itbx",
    "read_legend",
    "read_provisions",
    "read_raster_rules",
]
