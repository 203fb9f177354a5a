"""HubSpot's sandbox as a process of its own, for fault tests, with a control API.

``python -m tests.support.hubspot_server --port P [--daily-limit N]`` serves the sandbox
app (adapters/hubspot/sandbox/server.py) with uvicorn on 127.0.0.1:P, its daily allowance
lowered to N requests, and under ``/_control/``:

- ``POST seed`` ``{"companies": n, "deals": n}``: companies, and closed-won deals each with
  a line item and a company (what a person enters at HubSpot's screens);
- ``POST others`` ``{"policy": "burst"|"daily", "after": n, "requests": n}``: other apps of
  the account use its allowance (:meth:`HubSpotSandbox.others_use`);
- ``POST new-day``: HubSpot resets the daily allowance;
- ``GET counts``: the 429s it answered (burst and daily), the requests admitted today,
  and the records it holds per type.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox, create_app


def seed(sb: HubSpotSandbox, companies: int, deals: int) -> dict[str, list[str]]:
    store = sb.store
    made = [store.create("companies", {"name": f"Rate Limited {n} Ltd"}) for n in range(companies)]
    invoices = []
    for n in range(deals):
        deal = store.create(
            "deals",
            {
                "dealname": f"Order {n}",
                "dealstage": "closedwon",
                "closedate": "2026-11-02T10:00:00.000Z",
            },
        )
        line = store.create(
            "line_items", {"name": "Widget", "quantity": "1", "price": f"{n + 1}.00"}
        )
        store.associate("deals", deal, "line_items", line)
        store.associate("deals", deal, "companies", made[n % len(made)])
        invoices.append(deal)
    return {"companies": made, "deals": invoices}


def control_app(sb: HubSpotSandbox) -> Starlette:
    async def _seed(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        return JSONResponse(seed(sb, int(body.get("companies", 0)), int(body.get("deals", 0))))

    async def _others(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        sb.others_use(
            str(body["policy"]),
            after=int(body.get("after", 0)),
            requests=int(body.get("requests", 1)),
        )
        return JSONResponse({"ok": True})

    async def _new_day(_request: Request) -> JSONResponse:
        sb.new_day()
        return JSONResponse({"ok": True})

    async def _counts(_request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "throttled": sb.throttled,
                "daily_refusals": sb.daily_refusals,
                "daily_used": sb.daily_used,
                "records": {k: len(v) for k, v in sb.store.records.items()},
            }
        )

    return Starlette(
        routes=[
            Route("/_control/seed", _seed, methods=["POST"]),
            Route("/_control/others", _others, methods=["POST"]),
            Route("/_control/new-day", _new_day, methods=["POST"]),
            Route("/_control/counts", _counts, methods=["GET"]),
            Mount("/", app=create_app(sb)),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--daily-limit", type=int, default=None)
    args = parser.parse_args()
    sb = HubSpotSandbox()
    if args.daily_limit is not None:
        sb.daily_limit = args.daily_limit
    uvicorn.run(control_app(sb), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
