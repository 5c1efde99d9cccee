"""A plain-text live view of the daemon for a terminal (the demo): weights against bands,
open orders, recent activity. Pure: snapshot in, text out."""

from __future__ import annotations

from collections.abc import Iterable

from daemon.core.engine.view import EngineSnapshot

BAR_WIDTH = 30


def _bar(current: float, low: float, high: float, scale: float) -> str:
    """A bar of the weight with the band marked: ``[`` and ``]`` at the band edges."""
    cells = [" "] * BAR_WIDTH
    pos = min(BAR_WIDTH - 1, int(current / scale * BAR_WIDTH))
    for i in range(pos + 1):
        cells[i] = "#"
    lo = min(BAR_WIDTH - 1, int(low / scale * BAR_WIDTH))
    hi = min(BAR_WIDTH - 1, int(high / scale * BAR_WIDTH))
    cells[lo] = "["
    cells[hi] = "]"
    return "".join(cells)


def render(snap: EngineSnapshot, *, title: str, recent: Iterable[str] = (),
           footer: str = "") -> str:
    lines = [title, ""]
    state = snap.trading_state.value.upper()
    market = "open" if snap.market_open else "closed"
    lines.append(f"value ${snap.portfolio_value:,.2f}   cash ${float(snap.cash):,.2f}   "
                 f"drift {snap.portfolio_drift * 100:.2f} %   market {market}   state {state}")
    lines.append("")
    lines.append(f"{'symbol':<7} {'weight':>7} {'target':>7} {'band':>15}  "
                 f"{'':<{BAR_WIDTH}}  status")
    scale = max([r.high for r in snap.rows.values()] + [0.01]) * 1.15
    for sym, r in snap.rows.items():
        status = "ok" if r.in_band else ("OVER" if r.current > r.high else "UNDER")
        lines.append(
            f"{sym:<7} {r.current * 100:6.2f}% {r.target * 100:6.2f}% "
            f"{r.low * 100:6.2f}–{r.high * 100:5.2f}%  {_bar(r.current, r.low, r.high, scale)}  "
            f"{status}")
    lines.append("")
    counts = ", ".join(f"{k} {v}" for k, v in snap.order_counts.items() if v)
    lines.append(f"orders: {counts or 'none yet'}   decisions {snap.decisions}")
    for o in snap.open_orders[:8]:
        size = f"{o.qty.normalize()}" if o.qty is not None else f"${o.notional}"
        lines.append(f"  open  {o.side.value:<4} {size:>14} {o.symbol:<6} "
                     f"@ {o.limit_price or 'mkt'}  filled {o.filled_qty.normalize()}  "
                     f"[{o.state.value}]")
    if snap.blockers:
        lines.append("waiting: " + "; ".join(snap.blockers[:3]))
    activity = list(recent)
    if activity:
        lines.append("")
        lines.append("recent:")
        lines.extend(f"  {a}" for a in activity[-8:])
    if footer:
        lines.extend(["", footer])
    return "\n".join(lines)
