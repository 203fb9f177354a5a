"""Jobber's GraphQL endpoint through the shared HTTP layer.

``POST /api/graphql`` with ``Authorization: Bearer`` and JSON only
(https://developer.getjobber.com/docs/using_jobbers_api/api_queries_and_mutations), every
request with ``X-JOBBER-GRAPHQL-VERSION: YYYY-MM-DD``
(https://developer.getjobber.com/docs/using_jobbers_api/api_versioning/). Client-side limits:
2,500 requests / 300 s (``adapters.ratelimit``) and the query-cost bucket (``cost.py``); a
THROTTLED answer (HTTP 429 or 200) is sent again after the wait its ``extensions.cost``
gives, a mutation included (a throttled query did not run). Errors leave as SourceError.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from syncledger.adapters.http import LedgerHttp, RetryPolicy
from syncledger.adapters.jobber.cost import CostBucket
from syncledger.adapters.jobber.errors import (
    JobberThrottled,
    as_source_error,
    graphql_errors,
    throttled,
)
from syncledger.core.errors import LedgerError

GRAPHQL_PATH = "/api/graphql"
VERSION_HEADER = "X-JOBBER-GRAPHQL-VERSION"
#: throttled answers waited out before giving up
THROTTLE_RETRIES = RetryPolicy(attempts=8, base_delay=1.0, max_delay=30.0, max_retry_after=60.0)


class JobberGraphQL:
    def __init__(
        self,
        http: LedgerHttp,
        *,
        bucket: CostBucket | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._bucket = bucket or CostBucket(sleep=sleep)
        self._sleep = sleep
        self._rng = random.Random()

    @property
    def bucket(self) -> CostBucket:
        return self._bucket

    async def run(
        self, name: str, query: str, variables: Mapping[str, Any], *, mutation: bool = False
    ) -> tuple[dict[str, Any], Any]:
        """``(data, body)``; NOT_FOUND errors stay in ``body`` for the caller."""
        try:
            body = await THROTTLE_RETRIES.run(
                lambda _n, _prev: self._attempt(name, query, variables, mutation),
                rng=self._rng,
                sleep=self._sleep,
                label="jobber",
                resend=lambda exc: isinstance(exc, JobberThrottled),
            )
        except LedgerError as exc:
            raise as_source_error(exc) from exc
        problem = graphql_errors(body)
        if problem is not None:
            raise problem
        data = body.get("data") if isinstance(body, dict) else None
        return (data if isinstance(data, dict) else {}), body

    async def _attempt(
        self, name: str, query: str, variables: Mapping[str, Any], mutation: bool
    ) -> Any:
        await self._bucket.wait_for(name)
        body = await self._http.json(
            "POST",
            GRAPHQL_PATH,
            body={"query": query, "variables": dict(variables)},
            idempotent=not mutation,
        )
        self._bucket.observe(name, body)
        refused = throttled(body)
        if refused is not None:
            raise refused
        return body

    async def aclose(self) -> None:
        await self._http.aclose()
