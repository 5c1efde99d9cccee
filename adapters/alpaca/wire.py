"""Alpaca wire formats as msgspec Structs: the market-data stream (a tagged union on ``T``),
the trading stream envelopes and the REST objects we read.

Decoders are module-level and reused: building one per message would cost more than the
decode. Fields we do not read are simply not declared (msgspec skips unknown fields).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

Num = str | int | float
# a quote's price or size: NaN, negative or absurd values fail the decode (the message is
# counted as malformed and dropped, the frame's other messages kept), checked in C
QuoteNum = Annotated[float, msgspec.Meta(ge=0.0, le=1e12)]
"""Alpaca sends decimals as strings; alpaca-py and some servers send JSON numbers."""


# --- market-data stream (msgpack or JSON arrays of objects tagged by "T") -----------------


class StreamQuote(msgspec.Struct, tag_field="T", tag="q", gc=False):
    S: str
    t: datetime
    bp: QuoteNum = 0.0
    ap: QuoteNum = 0.0
    bs: QuoteNum = 0.0
    as_: QuoteNum = msgspec.field(default=0.0, name="as")
    bx: str = ""
    ax: str = ""
    z: str = ""


class StreamTrade(msgspec.Struct, tag_field="T", tag="t", gc=False):
    S: str
    t: datetime
    p: float = 0.0
    s: float = 0.0
    i: int = 0
    x: str = ""
    z: str = ""


class StreamBar(msgspec.Struct, tag_field="T", tag="b", gc=False):
    S: str
    t: datetime
    o: float = 0.0
    h: float = 0.0
    l: float = 0.0  # noqa: E741 - Alpaca's field name
    c: float = 0.0
    v: float = 0.0
    n: int = 0
    vw: float = 0.0


class StreamUpdatedBar(StreamBar, tag="u", gc=False):
    pass


class StreamDailyBar(StreamBar, tag="d", gc=False):
    pass


class StreamStatus(msgspec.Struct, tag_field="T", tag="s", gc=False):
    S: str
    t: datetime
    sc: str = ""
    sm: str = ""
    rc: str = ""
    rm: str = ""
    z: str = ""


class StreamLuld(msgspec.Struct, tag_field="T", tag="l", gc=False):
    S: str
    t: datetime


class StreamCorrection(msgspec.Struct, tag_field="T", tag="c", gc=False):
    S: str
    t: datetime


class StreamCancelError(msgspec.Struct, tag_field="T", tag="x", gc=False):
    S: str
    t: datetime


class StreamImbalance(msgspec.Struct, tag_field="T", tag="i", gc=False):
    S: str
    t: datetime


class StreamSuccess(msgspec.Struct, tag_field="T", tag="success"):
    msg: str = ""


class StreamError(msgspec.Struct, tag_field="T", tag="error"):
    code: int = 0
    msg: str = ""


class StreamSubscription(msgspec.Struct, tag_field="T", tag="subscription"):
    trades: list[str] = []
    quotes: list[str] = []
    bars: list[str] = []
    updatedBars: list[str] = []
    dailyBars: list[str] = []
    statuses: list[str] = []
    lulds: list[str] = []
    corrections: list[str] = []
    cancelErrors: list[str] = []


StreamMessage = (
    StreamQuote
    | StreamTrade
    | StreamBar
    | StreamUpdatedBar
    | StreamDailyBar
    | StreamStatus
    | StreamLuld
    | StreamCorrection
    | StreamCancelError
    | StreamImbalance
    | StreamSuccess
    | StreamError
    | StreamSubscription
)

STREAM_BATCH_MSGPACK = msgspec.msgpack.Decoder(list[StreamMessage])
STREAM_ONE_MSGPACK = msgspec.msgpack.Decoder(StreamMessage)
STREAM_RAW_MSGPACK = msgspec.msgpack.Decoder(list[msgspec.Raw])
STREAM_BATCH_JSON = msgspec.json.Decoder(list[StreamMessage])
STREAM_ONE_JSON = msgspec.json.Decoder(StreamMessage)
STREAM_RAW_JSON = msgspec.json.Decoder(list[msgspec.Raw])
MSGPACK_ENCODER = msgspec.msgpack.Encoder()


# --- REST objects -------------------------------------------------------------------------


class Order(msgspec.Struct, kw_only=True):
    id: str
    client_order_id: str
    symbol: str = ""
    side: str = "buy"
    status: str = ""
    type: str = ""
    time_in_force: str = ""
    qty: Num | None = None
    notional: Num | None = None
    filled_qty: Num | None = None
    filled_avg_price: Num | None = None
    limit_price: Num | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    submitted_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_by: str | None = None


class Position(msgspec.Struct, kw_only=True):
    symbol: str
    qty: Num
    side: str = "long"
    qty_available: Num | None = None
    avg_entry_price: Num | None = None
    market_value: Num | None = None


class Account(msgspec.Struct, kw_only=True):
    id: str = ""
    status: str = ""
    currency: str = "USD"
    cash: Num = "0"
    buying_power: Num | None = None
    equity: Num | None = None
    trading_blocked: bool = False
    account_blocked: bool = False
    trade_suspended_by_user: bool = False


class Clock(msgspec.Struct, kw_only=True):
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


class CalendarDay(msgspec.Struct, kw_only=True):
    date: str
    open: str
    close: str
    session_open: str = ""
    session_close: str = ""
    settlement_date: str = ""


class RestQuote(msgspec.Struct, gc=False):
    t: datetime
    bp: float = 0.0
    ap: float = 0.0
    bs: float = 0.0
    as_: float = msgspec.field(default=0.0, name="as")


class LatestQuotes(msgspec.Struct):
    quotes: dict[str, RestQuote] = {}


class RestBar(msgspec.Struct, gc=False):
    """One bar of ``GET /v2/stocks/bars``; a daily bar is labelled midnight New York."""

    t: datetime
    o: float
    h: float
    l: float  # noqa: E741 - Alpaca's field name
    c: float
    v: float = 0.0
    n: int = 0
    vw: float = 0.0


class BarsPage(msgspec.Struct):
    bars: dict[str, list[RestBar]] | None = None  # null when nothing matched
    next_page_token: str | None = None


class SplitAction(msgspec.Struct, gc=False):
    """A forward or reverse split of ``GET /v1/corporate-actions``: ``new_rate`` shares for
    every ``old_rate`` held, from ``ex_date``."""

    id: str
    symbol: str
    new_rate: float
    old_rate: float
    ex_date: date
    process_date: date


class CorporateActions(msgspec.Struct):
    forward_splits: list[SplitAction] = []
    reverse_splits: list[SplitAction] = []


class CorporateActionsPage(msgspec.Struct):
    corporate_actions: CorporateActions | None = None
    next_page_token: str | None = None


class ErrorBody(msgspec.Struct):
    code: int | None = None
    message: str = ""


ORDER = msgspec.json.Decoder(Order)
ORDERS = msgspec.json.Decoder(list[Order])
POSITIONS = msgspec.json.Decoder(list[Position])
ACCOUNT = msgspec.json.Decoder(Account)
CLOCK = msgspec.json.Decoder(Clock)
CALENDAR = msgspec.json.Decoder(list[CalendarDay])
LATEST_QUOTES = msgspec.json.Decoder(LatestQuotes)
BARS_PAGE = msgspec.json.Decoder(BarsPage)
CORPORATE_ACTIONS_PAGE = msgspec.json.Decoder(CorporateActionsPage)
ERROR_BODY = msgspec.json.Decoder(ErrorBody)


# --- trading stream (JSON objects, binary frames on paper) --------------------------------


class TradeStreamEnvelope(msgspec.Struct):
    stream: str
    data: msgspec.Raw = msgspec.Raw(b"null")


class AuthorizationData(msgspec.Struct):
    status: str = ""
    action: str = ""
    code: int | None = None  # 406 "connection limit exceeded" (another session holds it)
    message: str = ""


class ListeningData(msgspec.Struct):
    streams: list[str] = []


class TradeUpdate(msgspec.Struct, kw_only=True):
    event: str
    order: Order
    timestamp: datetime | None = None
    at: datetime | None = None
    execution_id: str | None = None
    price: Num | None = None
    qty: Num | None = None
    position_qty: Num | None = None
    event_id: str | int | None = None


TRADE_ENVELOPE = msgspec.json.Decoder(TradeStreamEnvelope)
TRADE_AUTHORIZATION = msgspec.json.Decoder(AuthorizationData)
TRADE_LISTENING = msgspec.json.Decoder(ListeningData)
TRADE_UPDATE = msgspec.json.Decoder(TradeUpdate)
