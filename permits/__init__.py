"""The permit rule engine: an application checked against the plan version in force, rule by
rule, with every figure traceable to the plan.

>>> from permits import Application, Building, Engine, check, check_many  # the public API
"""

from permits.application import Application, ApplicationError, Building
from permits.batch import check_many, findings_frame
from permits.decision import Decision, Finding, Outcome, Status, ZonePiece
from permits.engine import Engine, EngineSettings
from permits.rules.distance import Neighbours


def check(
    application: Application, plan: Engine, *, neighbours: Neighbours | None = None
) -> Decision:
    """The decision for one application against a plan version's engine."""
    return plan.check(application, neighbours=neighbours)


__all__ = [
    "Application",
    "ApplicationError",
    "Building",
    "Decision",
    "Engine",
    "EngineSettings",
    "Finding",
    "Outcome",
    "Status",
    "ZonePiece",
    "check",
    "check_many",
    "findings_frame",
]
