"""Errors raised while reading, storing and activating plans."""

from gis.errors import SimtaruError


class PlanInputError(SimtaruError):
    """A plan file or rule table that cannot be imported; the message names file, row or feature."""

    code = "invalid-plan-input"
    title = "Invalid plan input"


class NotFoundError(SimtaruError):
    """A region, plan or plan version that the store does not hold."""

    code = "not-found"
    title = "Not found"


class ActivationError(SimtaruError):
    """A plan version that may not be activated (blocking quality errors, wrong status)."""

    code = "activation-refused"
    title = "Activation refused"


class StoreError(SimtaruError):
    """The store could not complete an operation; nothing was changed."""

    code = "store-unavailable"
    title = "Store unavailable"
