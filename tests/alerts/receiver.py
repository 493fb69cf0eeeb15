"""A real HTTP receiver on a free loopback port (asyncio streams, HTTP/1.1 keep-alive).

It records every complete request and answers from a script (then a default), or from a
``respond`` function when given one (a receiver with rules, like a rate-limited robot), so tests
see exactly what a webhook, WeCom or DingTalk receiver would. ``StallListener`` accepts TCP
connections and never answers: a receiver or broker that hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
ROBOT_OK = b'{"errcode":0,"errmsg":"ok"}'


@dataclass(frozen=True, slots=True)
class Received:
    """One complete request as the receiver read it."""

    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.target).query).items()}

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """``async with HttpReceiver(port=…) as receiver``; ``receiver.url(path)`` to aim at it."""

    port: int = 0
    default: tuple[int, bytes] = (200, ROBOT_OK)
    script: deque[tuple[int, bytes]] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    respond: Callable[[Received], tuple[int, bytes]] | None = None
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def url(self, path: str = "/hook") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def answer(self, *responses: tuple[int, bytes]) -> None:
        """Answer the next requests with these, in order, then with the default."""
        self.script.extend(responses)

    async def __aenter__(self) -> HttpReceiver:
        self._server = await asyncio.start_server(self._serve, HOST, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                if self.respond is not None:
                    status, body = self.respond(request)
                else:
                    status, body = self.script.popleft() if self.script else self.default
                head = (
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                )
                writer.write(head.encode("ascii") + body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    line = await reader.readline()
    if not line:
        return None
    method, target, _version = line.decode("ascii").split(" ", 2)
    headers: dict[str, str] = {}
    while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Received(method=method, target=target, headers=headers, body=body)


class StallListener:
    """Accepts connections and never reads or answers (a hung receiver or broker)."""

    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> StallListener:
        self._server = await asyncio.start_server(self._hold, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def _hold(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
