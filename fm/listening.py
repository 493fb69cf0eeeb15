"""Binding the HTTP sockets of a process (API, metrics) with a clear error when a port is taken."""

from __future__ import annotations

import socket

from fm.errors import StartupError

#: Connections the kernel queues before the server accepts them.
_BACKLOG = 2048


class ListenError(StartupError):
    """An HTTP port could not be bound."""


def listen(host: str, port: int, *, port_setting: str) -> socket.socket:
    """Bind here, so a taken port is a clear error naming its setting rather than uvicorn's exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenError(
            f"cannot listen on {host}:{port} ({exc.strerror}); set {port_setting}"
        ) from exc
    sock.listen(_BACKLOG)
    sock.setblocking(False)
    return sock
