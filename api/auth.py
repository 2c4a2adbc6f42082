"""Who may call what: an API key (``X-API-Key`` or ``Authorization: Bearer``) names a role, and
each route asks for one permission. No write without a key; reads are open where the settings
say so (``SIMTARU_API_OPEN_READS``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.errors import Problem
from api.keys import ANONYMOUS, Caller, Permission
from api.services import Services

_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key: `stk_<id>_<secret>`"
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token")


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def services(request: Request) -> Services:
    """The worker's services (async: a sync dependency would cost a trip to the thread pool)."""
    return services_of(request)


ServicesDep = Annotated[Services, Depends(services)]


async def caller(
    request: Request,
    header: Annotated[str | None, Security(_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Caller:
    """The caller a key names; anonymous without one; 401 for a key that is not valid."""
    token = header or (bearer.credentials if bearer else None)
    if not token:
        return ANONYMOUS
    found = services_of(request).keys.verify(token)
    if found is None:
        raise Problem(
            "unauthorized",
            "Unauthorized",
            "the API key is not valid (unknown, revoked or mistyped)",
            headers={"WWW-Authenticate": 'Bearer realm="simtaru"'},
        )
    return found


def may(services: Services, headers: Mapping[str, str], permission: Permission) -> bool:
    """Whether the key in raw request headers grants ``permission`` (for middleware, which
    must decide before the body is read)."""
    token = headers.get("x-api-key") or _bearer_token(headers.get("authorization", ""))
    found = services.keys.verify(token) if token else None
    return found is not None and found.may(permission)


def _bearer_token(value: str) -> str | None:
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """A dependency that lets the call through only for a caller with ``permission``."""

    async def check(request: Request, who: Annotated[Caller, Depends(caller)]) -> Caller:
        if who.may(permission):
            return who
        if (
            permission is Permission.READ
            and who.role is None
            and services_of(request).settings.api.open_reads
        ):
            return who
        if who.role is None:
            raise Problem(
                "unauthorized",
                "Unauthorized",
                f"this route needs an API key with the {permission.value!r} permission "
                "(send it in X-API-Key or as a bearer token)",
                headers={"WWW-Authenticate": 'Bearer realm="simtaru"'},
            )
        raise Problem(
            "forbidden",
            "Forbidden",
            f"the key of {who.name!r} ({who.role.value}) lacks the {permission.value!r} permission",
        )

    check.permission = permission  # type: ignore[attr-defined]
    return check
