"""Exception / status / body → NOT_SENT, UNKNOWN or a definite rejection. The transport
cases use real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp
import pytest

from adapters.alpaca.errors import (
    AlpacaHTTPError,
    AlpacaTransportError,
    Verdict,
    classify_exception,
    classify_status,
    parse_error_body,
)
from daemon.core.events import SubmitOutcome
from tests.adapters.alpaca import payloads

EXPECTED = {
    "duplicate": Verdict.UNKNOWN,  # already there: look it up
    "sub_penny": Verdict.REJECTED,
    "buying_power": Verdict.REJECTED,
    "qty_available": Verdict.REJECTED,
    "min_amount": Verdict.REJECTED,
    "both_qty_notional": Verdict.REJECTED,
    "unauthorized": Verdict.REJECTED,
    "not_found": Verdict.REJECTED,
    "rate_limited": Verdict.UNKNOWN,
    "internal": Verdict.UNKNOWN,
    "gateway_timeout": Verdict.UNKNOWN,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_captured_error_bodies_classify(name: str) -> None:
    status, body = payloads.load("errors")[name]
    code, message = parse_error_body(status, json.dumps(body).encode())
    assert code == body.get("code")
    assert message == body["message"]
    assert classify_status(status, message) is EXPECTED[name]
    assert (
        classify_exception(AlpacaHTTPError(status, code, message, "POST", "/v2/orders"))
        is EXPECTED[name]
    )


def test_non_json_body_keeps_a_short_text() -> None:
    assert parse_error_body(502, b"<html>Bad Gateway</html>") == (None, "<html>Bad Gateway</html>")
    assert parse_error_body(500, b"") == (None, "HTTP 500")
    code, message = parse_error_body(500, b"x" * 1000)
    assert code is None and len(message) == 200


def test_duplicate_flag_and_message() -> None:
    err = AlpacaHTTPError(422, 40010001, "client_order_id must be unique", "POST", "/v2/orders")
    assert err.is_duplicate_client_order_id
    assert str(err) == "POST /v2/orders: HTTP 422 40010001: client_order_id must be unique"
    assert not AlpacaHTTPError(422, 42210000, "sub-penny").is_duplicate_client_order_id


def test_verdict_outcomes() -> None:
    assert Verdict.NOT_SENT.outcome is SubmitOutcome.NOT_SENT
    assert Verdict.UNKNOWN.outcome is SubmitOutcome.UNKNOWN
    with pytest.raises(ValueError):
        _ = Verdict.REJECTED.outcome


def test_transport_error_flag() -> None:
    assert classify_exception(AlpacaTransportError("x", sent=False)) is Verdict.NOT_SENT
    assert classify_exception(AlpacaTransportError("x", sent=True)) is Verdict.UNKNOWN


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_is_not_sent() -> None:
    port = _closed_port()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError) as err:
            await session.post(f"http://127.0.0.1:{port}/v2/orders", data=b"{}")
    assert classify_exception(err.value) is Verdict.NOT_SENT


async def _serve(handler: object) -> tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    return server, server.sockets[0].getsockname()[1]


async def test_drop_after_request_is_unknown() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.transport.abort()  # no response, no FIN handshake

    server, port = await _serve(drop)
    async with server, aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError) as err:
            await session.post(f"http://127.0.0.1:{port}/v2/orders", data=b"{}")
    assert classify_exception(err.value) is Verdict.UNKNOWN


async def test_read_timeout_after_sending_is_unknown() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reader.read()  # until the client gives up

    server, port = await _serve(mute)
    async with server, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as session:
        with pytest.raises(asyncio.TimeoutError) as err:
            await session.post(f"http://127.0.0.1:{port}/v2/orders", data=b"{}")
    assert classify_exception(err.value) is Verdict.UNKNOWN
