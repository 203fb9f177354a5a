"""The witness over HTTP (Starlette, run by uvicorn): tlog-witness §add-checkpoint and
§Monitor Retrieval Mechanism.

- ``POST <prefix>/add-checkpoint``: :meth:`Witness.add_checkpoint`'s answer as is.
- ``GET <prefix>/<origin hash>/checkpoint``: the latest checkpoint cosigned for the log
  whose origin hashes (SHA-256, lowercase hex) to ``origin hash``, with the log's and the
  witness's signatures; 404 when it never cosigned one. The same prefix serves both (the
  spec allows the submission and monitoring prefixes to be equal).

Requests carry no authentication beyond the checkpoint's signature (as the spec says);
bodies above 1 MiB are refused with 413 before they are read whole.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.audit.note import MAX_NOTE_BYTES
from syncledger.audit.witness import Witness
from syncledger.core.errors import ConfigurationError

MAX_BODY = MAX_NOTE_BYTES + 64 * 64


def witness_app(witness: Witness) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return Response("request body too large\n", 413)
        answer = await run_in_threadpool(witness.add_checkpoint, bytes(body))
        return Response(answer.body, answer.status, media_type=answer.content_type)

    async def checkpoint(request: Request) -> Response:
        found = await run_in_threadpool(witness.latest_by_hash, request.path_params["origin"])
        if found is None:
            return Response("no checkpoint cosigned for this log\n", 404)
        return Response(found, 200, media_type="text/plain; charset=utf-8")

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/{origin}/checkpoint", checkpoint, methods=["GET"]),
        ]
    )


def listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"the witness cannot listen on {host}:{port} ({exc.strerror or exc}): "
            "give another --port"
        ) from None
    sock.listen(128)
    return sock


async def serve_witness(
    witness: Witness, host: str, port: int, ready: Callable[[int], None] | None = None
) -> None:
    """Serve until stopped; ``ready`` hears the port once connections are accepted."""
    import uvicorn

    sock = listen(host, port)
    server = uvicorn.Server(uvicorn.Config(witness_app(witness), log_level="warning"))
    if ready is not None:
        ready(int(sock.getsockname()[1]))
    await server.serve(sockets=[sock])
