"""MQTT client of one device (paho-mqtt 2.x): birth and last will, telemetry, fault events.

A ``DeviceClient`` runs either on paho's own network thread (``connect()``; paho reconnects with
a bounded exponential backoff) or, for fleets, on a shared asyncio event loop (``start_on()``
with an ``AsyncioNetwork``), where socket readiness callbacks replace the thread and the network
schedules reconnects with the same bounded backoff. Each device keeps its own connection so the
broker can publish its last will when that connection dies.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from sensors.contract import (
    DEFAULT_PREFIX,
    DEVICE_ID_PATTERN,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    FaultReport,
    Telemetry,
    encode_fault_report,
    encode_telemetry,
    event_topic,
    status_topic,
    telemetry_topic,
)

log = logging.getLogger(__name__)

DEFAULT_KEEPALIVE_S = 30
DEFAULT_RECONNECT_MIN_S = 1
DEFAULT_RECONNECT_MAX_S = 30
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_CLOSE_TIMEOUT_S = 5.0
# Messages paho keeps while the broker is unreachable; older readings are worth little.
DEFAULT_MAX_QUEUED_MESSAGES = 1_000
# How often the shared loop lets paho send keepalive pings and notice a silent broker.
DEFAULT_MISC_INTERVAL_S = 1.0
STATUS_QOS = 1
EVENT_QOS = 1


class DeviceClientError(Exception):
    """A device client could not do what was asked; carries the device id."""

    def __init__(self, device_id: str, message: str) -> None:
        super().__init__(f"{device_id}: {message}")
        self.device_id = device_id


class DeviceConnectError(DeviceClientError):
    """The broker refused the connection or did not answer in time."""


class DeviceClient:
    """One device's MQTT connection: retained birth/will on its status topic, readings, events."""

    def __init__(
        self,
        device_id: str,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        telemetry_qos: int = 0,
        keepalive_s: int = DEFAULT_KEEPALIVE_S,
        reconnect_min_s: int = DEFAULT_RECONNECT_MIN_S,
        reconnect_max_s: int = DEFAULT_RECONNECT_MAX_S,
        max_queued_messages: int = DEFAULT_MAX_QUEUED_MESSAGES,
    ) -> None:
        if not DEVICE_ID_PATTERN.fullmatch(device_id):
            raise DeviceClientError(device_id, "device id must match [A-Za-z0-9_-]{1,64}")
        if telemetry_qos not in (0, 1):
            raise DeviceClientError(device_id, f"telemetry QoS must be 0 or 1, not {telemetry_qos}")
        if not 0 < reconnect_min_s <= reconnect_max_s:
            raise DeviceClientError(device_id, "reconnect backoff needs 0 < min <= max")
        self.device_id = device_id
        self.host, self.port, self.keepalive_s = host, port, keepalive_s
        self.telemetry_qos = telemetry_qos
        self.reconnect_min_s, self.reconnect_max_s = reconnect_min_s, reconnect_max_s
        self._telemetry_topic = telemetry_topic(device_id, prefix)
        self._event_topic = event_topic(device_id, prefix)
        self.status_topic = status_topic(device_id, prefix)
        self._connected = threading.Event()
        self._connack = threading.Event()  # any CONNACK, accepted or refused
        self._refusal: str | None = None
        self._stopping = False  # close() or crash(): no reconnect from here on
        self._network: AsyncioNetwork | None = None
        self._socket_closed: asyncio.Event | None = None
        self.connects = 0  # successful CONNACKs, reconnects included

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=device_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        if username is not None:
            client.username_pw_set(username, password)
        # The broker publishes this, retained, when the connection dies without a DISCONNECT.
        client.will_set(self.status_topic, STATUS_OFFLINE, qos=STATUS_QOS, retain=True)
        client.reconnect_delay_set(reconnect_min_s, reconnect_max_s)
        client.max_queued_messages_set(max_queued_messages)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self._paho: Any = client

    # -- state ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True between a successful CONNACK and the loss of the connection."""
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until connected (threaded mode) or the timeout passes."""
        return self._connected.wait(timeout_s)

    # -- threaded mode ----------------------------------------------------------------------

    def connect(self, *, timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> None:
        """Connect on paho's network thread and wait for the broker's CONNACK."""
        self._stopping = False
        self._refusal = None
        self._connack.clear()
        self._paho.connect_async(self.host, self.port, self.keepalive_s)
        self._paho.loop_start()
        if self._connack.wait(timeout_s) and self._refusal is None:
            return
        refusal = self._refusal
        self._stopping = True
        self._paho.disconnect()
        self._stop_thread()
        reason = f"refused: {refusal}" if refusal else f"no CONNACK within {timeout_s} s"
        raise DeviceConnectError(self.device_id, f"{self.host}:{self.port} {reason}")

    def close(self, *, timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Leave gracefully: retained ``offline``, then DISCONNECT (the will is not sent)."""
        self._stopping = True
        if self._connected.is_set():
            info = self._paho.publish(self.status_topic, STATUS_OFFLINE, STATUS_QOS, True)
            try:
                # Wait for the PUBACK so the broker has stored the retained status before we go.
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError) as exc:
                log.warning("%s: offline status not confirmed: %s", self.device_id, exc)
        self._paho.disconnect()
        self._stop_thread()
        self._connected.clear()

    def crash(self) -> None:
        """Drop the TCP connection without DISCONNECT, so the broker publishes the last will."""
        self._stopping = True
        self._connected.clear()
        if self._network is None:
            self._stop_thread()  # the thread exits without sending anything
        # paho has no public "abort"; closing its socket is exactly a dead device's behaviour.
        self._paho._sock_close()

    def _stop_thread(self) -> None:
        """Stop paho's network thread and close the wake-up socket pair it leaves behind."""
        self._paho.loop_stop()
        # loop_start() makes a new pair each time; paho only closes the old one when collected.
        self._paho._reset_sockets(sockpair_only=True)

    # -- shared asyncio loop mode -----------------------------------------------------------

    def start_on(self, network: AsyncioNetwork) -> None:
        """Connect from the shared event loop; returns at once, reconnects on its own."""
        self._network = network
        self._stopping = False
        self._socket_closed = asyncio.Event()
        network.adopt(self)
        network.connect_soon(self, delay_s=0.0)

    async def aclose(self, *, timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Shared-loop graceful leave: retained ``offline``, DISCONNECT, wait for the socket."""
        self._stopping = True
        network, closed = self._network, self._socket_closed
        if network is None or closed is None:
            raise DeviceClientError(self.device_id, "aclose() needs start_on() first")
        if self._connected.is_set() and self._paho.socket() is not None:
            self._paho.publish(self.status_topic, STATUS_OFFLINE, STATUS_QOS, True)
            # Packets leave in order, so the broker stores ``offline`` before it sees DISCONNECT.
            self._paho.disconnect()
            try:
                await asyncio.wait_for(closed.wait(), timeout_s)
            except TimeoutError:
                log.warning("%s: broker did not close within %s s", self.device_id, timeout_s)
        if self._paho.socket() is not None:
            self._paho._sock_close()
        self._connected.clear()
        network.release(self)

    def restart(self) -> None:
        """Reconnect after ``crash()`` (a device coming back); birth is published on CONNACK."""
        if self._network is not None:
            self._stopping = False
            self._network.connect_soon(self, delay_s=0.0)
        else:
            self.connect()

    # -- messages ---------------------------------------------------------------------------

    def send_telemetry(self, message: Telemetry) -> bool:
        """Publish readings; False when the device is not connected (nothing is queued)."""
        return self._publish(self._telemetry_topic, encode_telemetry(message), self.telemetry_qos)

    def send_fault(self, report: FaultReport) -> bool:
        """Publish a fault raise/clear event at QoS 1; False when not connected."""
        return self._publish(self._event_topic, encode_fault_report(report), EVENT_QOS)

    def _publish(self, topic: str, payload: bytes, qos: int) -> bool:
        if not self._connected.is_set():
            return False
        info = self._paho.publish(topic, payload, qos, False)
        return bool(info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS)

    # -- paho callbacks ---------------------------------------------------------------------

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        try:
            if reason_code.is_failure:
                self._refusal = str(reason_code)
                log.warning("%s: broker refused connection: %s", self.device_id, reason_code)
                return
            self.connects += 1
            client.publish(self.status_topic, STATUS_ONLINE, STATUS_QOS, True)
            self._connected.set()
            if self._network is not None:
                self._network.connected(self)
        finally:
            self._connack.set()  # last: connect() may return the moment it is set

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        self._connected.clear()
        if self._network is not None and not self._stopping:
            log.info("%s: connection lost (%s), reconnecting", self.device_id, reason_code)
            self._network.connect_soon(self)

    def _socket_opened(self) -> None:
        if self._socket_closed is not None:
            self._socket_closed.clear()

    def _socket_gone(self) -> None:
        if self._socket_closed is not None:
            self._socket_closed.set()


class AsyncioNetwork:
    """Drives many ``DeviceClient``s from one asyncio loop: no thread per device.

    paho tells us when its socket opens, closes and has bytes to write; we hand those sockets to
    the event loop's reader/writer callbacks, run paho's housekeeping (keepalive pings) for all
    clients from one timer, and reconnect lost clients with a bounded exponential backoff.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        misc_interval_s: float = DEFAULT_MISC_INTERVAL_S,
    ) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._misc_interval_s = misc_interval_s
        self._clients: set[DeviceClient] = set()
        self._backoff: dict[DeviceClient, float] = {}
        self._pending: dict[DeviceClient, asyncio.TimerHandle] = {}
        self._misc: asyncio.TimerHandle | None = None

    def adopt(self, device: DeviceClient) -> None:
        """Route this client's socket events to the event loop."""
        client = device._paho
        loop = self._loop

        def on_open(_c: Any, _u: Any, sock: Any) -> None:
            device._socket_opened()
            loop.add_reader(sock, client.loop_read)

        def on_close(_c: Any, _u: Any, sock: Any) -> None:
            loop.remove_reader(sock)
            loop.remove_writer(sock)
            device._socket_gone()

        client.on_socket_open = on_open
        client.on_socket_close = on_close
        client.on_socket_register_write = lambda _c, _u, sock: loop.add_writer(
            sock, client.loop_write
        )
        client.on_socket_unregister_write = lambda _c, _u, sock: loop.remove_writer(sock)
        self._clients.add(device)
        if self._misc is None:
            self._misc = loop.call_later(self._misc_interval_s, self._housekeeping)

    def release(self, device: DeviceClient) -> None:
        """Forget a client (after it closed)."""
        self._clients.discard(device)
        self._backoff.pop(device, None)
        pending = self._pending.pop(device, None)
        if pending is not None:
            pending.cancel()

    def close(self) -> None:
        """Stop timers; clients must have been closed or crashed already."""
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None

    def connected(self, device: DeviceClient) -> None:
        """A CONNACK arrived: the next loss starts the backoff from its minimum again."""
        self._backoff.pop(device, None)

    def connect_soon(self, device: DeviceClient, *, delay_s: float | None = None) -> None:
        """(Re)connect after ``delay_s``, or after the next backoff step when None."""
        if delay_s is None:
            previous = self._backoff.get(device)
            delay_s = (
                device.reconnect_min_s
                if previous is None
                else min(previous * 2, device.reconnect_max_s)
            )
            self._backoff[device] = delay_s
        old = self._pending.pop(device, None)
        if old is not None:
            old.cancel()
        self._pending[device] = self._loop.call_later(delay_s, self._connect, device)

    def _connect(self, device: DeviceClient) -> None:
        self._pending.pop(device, None)
        if device._stopping or device not in self._clients:
            return
        try:
            # A TCP connect to the broker; paho bounds it with its connect timeout.
            device._paho.connect(device.host, device.port, device.keepalive_s)
        except OSError as exc:
            log.info(
                "%s: connect to %s:%s failed: %s", device.device_id, device.host, device.port, exc
            )
            self.connect_soon(device)

    def _housekeeping(self) -> None:
        for device in self._clients:
            if device._paho.socket() is not None:
                device._paho.loop_misc()
        self._misc = self._loop.call_later(self._misc_interval_s, self._housekeeping)
