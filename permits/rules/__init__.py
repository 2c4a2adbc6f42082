"""The rules of a permit check, one module per family; each reads a :class:`Situation` and
returns findings. None imports FastAPI or SQL: the same rules run in the service, a notebook and
a batch."""
