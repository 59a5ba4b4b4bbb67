"""Each root field a request calls counts against its organisation's rate limit for the key role
that makes the call (app/organizations/roles.py `counting_role`; the limits are the organisation
file's [rate_limits]). A call past the limit is refused with RATE_LIMITED in the response's
`errors` (its field null); a request all of whose calls are refused is answered 429 with
Retry-After; every response that counted carries the IETF RateLimit headers of its tightest
limit. A batch mutation counts each of its items (`count_items`)."""

from __future__ import annotations

from collections.abc import Callable
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo

from app.graphql.core.permissions import wrap_root_fields
from app.kernel.errors import RateLimitedError
from app.kernel.rate_limits import RateLimiter, Verdict
from app.organizations.config import OrgConfig
from app.organizations.roles import Role, counting_role, roles_for


class RequestRateLimits:
    """One request's account with the rate limiter."""

    def __init__(
        self,
        limiter: RateLimiter | None,
        org: OrgConfig,
        key_roles: frozenset[Role],
        on_refusal: Callable[[str, int], None] | None = None,
    ) -> None:
        self.limiter = limiter  # None: no limits (a CLI or a test that turns them off)
        self.org = org
        self.key_roles = key_roles
        self.on_refusal = on_refusal  # told the role and number of calls or batch items refused (metrics)
        self.tightest: Verdict | None = None  # its headers go on the response
        self.calls = 0
        self.refused = 0

    def _limit(self, operation_roles: frozenset[Role]) -> tuple[Role, int] | None:
        role = counting_role(self.key_roles, operation_roles)
        if self.limiter is None or role is None or not self.org.rate_limits.get(role):
            return None
        return role, self.org.rate_limits[role]

    def _note(self, verdict: Verdict) -> None:
        if self.tightest is None or verdict.remaining <= self.tightest.remaining or not verdict.allowed:
            self.tightest = verdict

    async def count(self, operation: str, operation_roles: frozenset[Role]) -> None:
        """Count one call of `operation`; RateLimitedError when the limit has no room left."""
        self.calls += 1
        limit = self._limit(operation_roles)
        if limit is None or self.limiter is None:
            return
        verdict = await self.limiter.hit(self.org.id, limit[0], limit[1])
        self._note(verdict)
        if not verdict.allowed:
            self.refused += 1
            self._tell_refused(verdict, 1)
            raise refusal(verdict, operation)

    async def count_items(self, operation: str, wanted: int) -> tuple[int, Verdict | None]:
        """Count `wanted` more items of a batch (its first item counted with the call): how many
        fit in the limit, in order, and the verdict on those that did not (None: all fit)."""
        limit = self._limit(roles_for(operation))
        if limit is None or self.limiter is None or wanted <= 0:
            return wanted, None
        granted, verdict = await self.limiter.hit_up_to(self.org.id, limit[0], limit[1], wanted)
        self._note(verdict)
        self._tell_refused(verdict, wanted - granted)
        return granted, None if granted == wanted else verdict

    def _tell_refused(self, verdict: Verdict, count: int) -> None:
        if self.on_refusal is not None and count:
            self.on_refusal(verdict.policy, count)

    def response_headers(self) -> dict[str, str]:
        return self.tightest.headers() if self.tightest is not None else {}

    @property
    def all_refused(self) -> bool:
        return self.calls > 0 and self.refused == self.calls


def refusal(verdict: Verdict, operation: str, field: str | None = None) -> RateLimitedError:
    return RateLimitedError(
        f"{operation}: the organisation's {verdict.policy} keys made {verdict.limit:,} requests in the last minute, "
        f"its limit; retry in {max(verdict.reset_seconds, 1)} s",
        retry_after_seconds=max(verdict.reset_seconds, 1),
        field=field,
    )


def _limited(resolve: Callable[..., Any], operation: str, roles: frozenset[Role]) -> Callable[..., Any]:
    async def limited(source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        await info.context.rate_limits.count(operation, roles)
        result = resolve(source, info, **arguments)
        return await result if isawaitable(result) else result

    return limited


def limit_root_fields(schema: strawberry.Schema) -> None:
    """Wrap every Query and Mutation field's resolver with its rate-limit count (once, at build;
    the role check, wrapped around this, runs first)."""
    wrap_root_fields(schema, _limited)
