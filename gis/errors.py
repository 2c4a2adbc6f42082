"""The root of Simtaru's exception tree.

Every error a user can cause carries a short problem ``code`` (a slug that the HTTP layer turns into
an RFC 9457 problem type and status) and a ``title``; the message says what is wrong and where.
"""


class SimtaruError(Exception):
    """An error the caller can act on: bad input, a missing plan, a refused operation."""

    code = "simtaru-error"
    title = "Simtaru error"


class GeometryError(SimtaruError):
    """A geometry that cannot be used: unparseable, empty, non-finite, of the wrong type."""

    code = "invalid-geometry"
    title = "Invalid geometry"


class CRSError(SimtaruError):
    """A coordinate reference system that is missing, unknown or does not fit the data."""

    code = "invalid-crs"
    title = "Invalid coordinate reference system"


class GeometryTooLargeError(GeometryError):
    """A geometry with more vertices or parts than the service accepts (HTTP 413 or 422)."""

    code = "geometry-too-large"
    title = "Geometry too large"
