"""Who is calling: API keys checked before the body is read, the rate limit, trusted hosts.

`AccessControl` is pure ASGI middleware rather than only a FastAPI dependency because FastAPI
reads and parses a request's body before it runs dependencies: a caller without a key (or over
its rate) must be refused before the API spools a multipart body of up to hundreds of MB.
It stores the key's `Principal` in the request state; the routes' dependencies (`Caller`,
`require`) then decide what the role may do and make OpenAPI show the bearer scheme.

Open without a key: `/health`, `/health/ready` (Kubernetes probes), `/metrics` (Prometheus;
admin keys only when GREENR_API_PROTECT_METRICS is on), and the API's own documentation
(`/docs`, `/redoc`, `/openapi.json`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenr.api.access import ROLE_PERMISSIONS, Permission, Principal, Role
from greenr.api.errors import ApiError, Problem, error_response
from greenr.api.keys.store import KeyStore
from greenr.api.prediction import database_unavailable
from greenr.api.rate_limit import RateLimiter
from greenr.catalog.database import CatalogUnavailable

PRINCIPAL_STATE = "principal"
PROBE_PATHS = frozenset({"/health", "/health/ready"})
DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
METRICS_PATH = "/metrics"
# RFC 6750: the scheme a client must use, in the 401's WWW-Authenticate.
_CHALLENGE = 'Bearer realm="greenr"'
_HOW = "send 'Authorization: Bearer <key>' (an operator makes keys with: python -m greenr.api.keys create)"


def missing_key() -> Problem:
    return Problem(401, "missing_api_key", f"this endpoint needs an API key: {_HOW}")


def invalid_key() -> Problem:
    return Problem(401, "invalid_api_key", f"the API key is not valid (unknown, revoked or mistyped): {_HOW}")


def forbidden(principal: Principal, permission: Permission) -> Problem:
    allowed = " or ".join(role.value for role in Role if permission in ROLE_PERMISSIONS[role])
    return Problem(
        403,
        "forbidden",
        f"the key {principal.name!r} has the role {principal.role.value!r}, which may not "
        f"{permission.value}: use a key with the {allowed} role",
    )


def bearer_token(headers: Headers) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class AccessControl:
    """Authenticates every request outside the open paths and applies the key's rate limit."""

    def __init__(
        self, app: ASGIApp, keys: Callable[[], KeyStore], limiter: RateLimiter, protect_metrics: bool
    ) -> None:
        self.app = app
        # The key store is opened with the app's services (lifespan), after this is built.
        self.keys = keys
        self.limiter = limiter
        self.protect_metrics = protect_metrics

    def _open(self, path: str) -> bool:
        return path in PROBE_PATHS or path in DOC_PATHS or (path == METRICS_PATH and not self.protect_metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._open(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = bearer_token(headers)
        if token is None:
            await _refuse(missing_key(), scope, receive, send, {"WWW-Authenticate": _CHALLENGE})
            return
        try:
            found = await run_in_threadpool(self.keys().authenticate, token)
        except CatalogUnavailable as error:
            await _refuse(database_unavailable(error).problem, scope, receive, send)
            return
        if found is None:
            challenge = f'{_CHALLENGE}, error="invalid_token"'
            await _refuse(invalid_key(), scope, receive, send, {"WWW-Authenticate": challenge})
            return
        if scope["path"] == METRICS_PATH and not found.principal.can(Permission.READ_METRICS):
            await _refuse(forbidden(found.principal, Permission.READ_METRICS), scope, receive, send)
            return
        decision = self.limiter.check(found.principal.key_id, found.rate_per_second, found.burst)
        if not decision.allowed:
            problem = Problem(
                429,
                "rate_limited",
                f"too many requests with the key {found.principal.name!r}: retry after "
                f"{decision.retry_after_header} s (the limit is per key; ask an operator for a higher one)",
            )
            await _refuse(problem, scope, receive, send, {"Retry-After": decision.retry_after_header})
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE] = found.principal
        await self.app(scope, receive, send)


async def _refuse(
    problem: Problem, scope: Scope, receive: Receive, send: Send, headers: dict[str, str] | None = None
) -> None:
    response = error_response(problem)
    response.headers.update(headers or {})
    await response(scope, receive, send)


class TrustedHosts:
    """Starlette's TrustedHostMiddleware, answering a foreign Host with the API's error shape (400).

    Without it a web page on another origin can reach the API on 127.0.0.1 through DNS rebinding
    (its own name resolving to 127.0.0.1): the browser then sends that name as Host.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(self._passed, allowed_hosts=allowed_hosts, www_redirect=False)

    async def _passed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["greenr.trusted_host"] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = False

        async def replace_refusal(message: Message) -> None:
            nonlocal refused
            if not scope.get("greenr.trusted_host"):
                refused = True  # Starlette's plain-text 400: swallowed, answered below
                return
            await send(message)

        await self.check(scope, receive, replace_refusal)
        if refused:
            problem = Problem(
                400,
                "untrusted_host",
                "the Host header names a host this API does not serve: call it by one of its names "
                "(operators: GREENR_API_TRUSTED_HOSTS)",
            )
            await error_response(problem)(scope, receive, send)


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key, `greenr_<id>_<secret>` (operators: python -m greenr.api.keys create).",
)


async def _caller(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    # `_credentials` only makes OpenAPI show the scheme: the middleware already checked the key.
    principal = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if not isinstance(principal, Principal):
        raise ApiError(missing_key())
    return principal


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: the caller, when its role has `permission`; 403 otherwise."""

    async def check(principal: Annotated[Principal, Depends(_caller)]) -> Principal:
        if not principal.can(permission):
            raise ApiError(forbidden(principal, permission))
        return principal

    return check


Caller = Annotated[Principal, Depends(_caller)]
