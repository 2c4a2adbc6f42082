"""Who may call what: an API key (``X-API-Key`` or ``Authorization: Bearer``) names a role, and
each route asks for one permission. No write without a key; reads are open where the settings
say so (``SIMTARU_API_OPEN_READS``).

``require`` reads the headers itself, one dependency a route: FastAPI's security classes would
add two more to every check, which costs more than the key's verification. The OpenAPI document
still says which routes take which key (``document_security``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from api.errors import Problem
from api.keys import ANONYMOUS, Caller, Permission
from api.services import Services

#: The security schemes the OpenAPI document names.
SCHEMES = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key: `stk_<id>_<secret>`",
    },
    "Bearer": {"type": "http", "scheme": "bearer", "description": "The same key as a token"},
}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="simtaru"'}


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def services(request: Request) -> Services:
    """The worker's services (async: a sync dependency would cost a trip to the thread pool)."""
    return services_of(request)


ServicesDep = Annotated[Services, Depends(services)]


def token_of(headers: Mapping[str, str]) -> str | None:
    """The key a request carries, in ``X-API-Key`` or as a bearer token."""
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def caller_of(services: Services, headers: Mapping[str, str]) -> Caller:
    """The caller a key names; anonymous without one; 401 for a key that is not valid."""
    token = token_of(headers)
    if not token:
        return ANONYMOUS
    found = services.keys.verify(token)
    if found is None:
        raise Problem(
            "unauthorized",
            "Unauthorized",
            "the API key is not valid (unknown, revoked or mistyped)",
            headers=_CHALLENGE,
        )
    return found


def may(services: Services, headers: Mapping[str, str], permission: Permission) -> bool:
    """Whether the key in raw request headers grants ``permission`` (for middleware, which
    must decide before the body is read)."""
    try:
        return caller_of(services, headers).may(permission)
    except Problem:
        return False


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """A dependency that lets the call through only for a caller with ``permission``."""

    async def check(request: Request) -> Caller:
        services = services_of(request)
        who = caller_of(services, request.headers)
        if who.may(permission):
            return who
        if permission is Permission.READ and who.role is None and services.settings.api.open_reads:
            return who
        if who.role is None:
            raise Problem(
                "unauthorized",
                "Unauthorized",
                f"this route needs an API key with the {permission.value!r} permission "
                "(send it in X-API-Key or as a bearer token)",
                headers=_CHALLENGE,
            )
        raise Problem(
            "forbidden",
            "Forbidden",
            f"the key of {who.name!r} ({who.role.value}) lacks the {permission.value!r} permission",
        )

    check.permission = permission  # type: ignore[attr-defined]
    return check


def permission_of(route: APIRoute) -> Permission | None:
    """The permission a route's ``require`` dependency asks for, found in its dependency tree."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found = getattr(dep.call, "permission", None)
        if found is not None:
            return found
        stack.extend(dep.dependencies)
    return None


def document_security(
    openapi: dict[str, Any], routes: Iterable[BaseRoute], *, open_reads: bool
) -> dict[str, Any]:
    """The OpenAPI document with the key schemes, and on each operation the key it takes (an
    open read also takes none)."""
    openapi.setdefault("components", {})["securitySchemes"] = SCHEMES
    for route in routes:
        if not isinstance(route, APIRoute) or (permission := permission_of(route)) is None:
            continue
        needs: list[dict[str, list[str]]] = [{"ApiKey": []}, {"Bearer": []}]
        if permission is Permission.READ and open_reads:
            needs.append({})
        for method in route.methods or ():
            openapi["paths"][route.path_format][method.lower()]["security"] = needs
    return openapi
