"""``POST /tsa``: the RFC 3161 time-stamp authority over HTTP (RFC 3161 3.4).

A thin adapter: the body (application/timestamp-query, at most
:data:`~trustkit.tsa.MAX_REQUEST_SIZE` bytes) goes to
:meth:`TimestampAuthority.respond <trustkit.tsa.TimestampAuthority.respond>`
with the clock's time, and its reply comes back as
application/timestamp-reply. A bad request is answered by the engine with a
rejection (HTTP 200, as RFC 3161 clients expect); a wrong media type is 415,
a body over the limit 413.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ..clock import Clock, SystemClock
from ..tsa import MAX_REQUEST_SIZE, QUERY_MEDIA_TYPE, REPLY_MEDIA_TYPE, TimestampAuthority

__all__ = ["tsa_routes"]


def tsa_routes(
    authority: TimestampAuthority, *, clock: Clock | None = None, path: str = "/tsa"
) -> list[BaseRoute]:
    """The routes serving ``authority`` at ``path``; pass them to ``create_app(extra_routes=)``."""
    time = clock or SystemClock()

    async def timestamp(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != QUERY_MEDIA_TYPE:
            return PlainTextResponse(f"content type must be {QUERY_MEDIA_TYPE}", status_code=415)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_SIZE:
                return PlainTextResponse(
                    f"request body: at most {MAX_REQUEST_SIZE} bytes", status_code=413
                )
        reply = await run_in_threadpool(authority.respond, bytes(body), at=time.now())
        return Response(reply, media_type=REPLY_MEDIA_TYPE)

    return [Route(path, timestamp, methods=["POST"])]
