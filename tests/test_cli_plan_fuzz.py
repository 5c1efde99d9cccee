"""Fuzzing ``rebalanced plan``'s inputs (Hypothesis): whatever the holdings and quotes files
hold, the answer is a plan (exit 0) or a message naming the field (exit 65), never a
traceback: huge, tiny, NaN and infinite numbers, numbers as strings, wrong types, unknown
keys and deep nesting."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon import cli_plan

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "rebalanced.example.toml"
NOW = "2026-11-23T15:00:00Z"
SYMBOLS = ["VTI", "VXUS", "BND", "VNQ", "TSLA"]

# number texts a JSON file can carry: ordinary, extreme, and not numbers at all
extreme = st.sampled_from(
    ["1e308", "1e-300", "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "0", "-0", "-5",
     "1" * 400, "0." + "0" * 350 + "1", "123.456789012345678901234567890", "1e-9", "1e12"]
)
ordinary = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False).map(str)
number_text = st.one_of(extreme, ordinary)
# a value: a bare JSON number, the same as a string, or something else entirely
value = st.one_of(
    number_text,
    number_text.map(json.dumps),
    st.sampled_from(["null", "true", "[]", "{}", '"abc"', '" 12 "']),
)


def _obj(pairs: dict[str, str]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs.items()) + "}"


symbol = st.one_of(st.sampled_from(SYMBOLS), st.text(max_size=6))
holdings_text = st.builds(
    lambda cash, pos, extra: _obj({"cash": cash, "positions": _obj(pos), **extra}),
    value,
    st.dictionaries(symbol, value, max_size=5),
    st.dictionaries(st.sampled_from(["x", "cash2"]), value, max_size=1),
)
quote_body = st.builds(
    lambda b, a, more: _obj({"bid": b, "ask": a, **more}),
    value,
    value,
    st.dictionaries(st.sampled_from(["adv", "sigma", "last"]), value, max_size=2),
)
quotes_text = st.dictionaries(symbol, quote_body, max_size=6).map(_obj)
deep = st.integers(min_value=50, max_value=20_000).map(lambda n: "[" * n + "]" * n)
garbage = st.one_of(deep, st.text(max_size=50), st.just('{"cash": ' * 3000))


def _run(holdings: str, quotes: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as d:
        h, q = Path(d) / "h.json", Path(d) / "q.json"
        h.write_text(holdings)
        q.write_text(quotes)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_plan.main(["--config", str(CONFIG), "--holdings", str(h),
                                  "--quotes", str(q), "--now", NOW, "--json"])
        return code, err.getvalue()


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(holdings_text, quotes_text)
def test_any_numbers_give_a_plan_or_exit_65(holdings: str, quotes: str) -> None:
    code, err = _run(holdings, quotes)
    assert code in (0, 65), err
    if code == 65:
        assert err.startswith("rebalanced plan: ") and ("holdings" in err or "quotes" in err)
        assert "Traceback" not in err


@FUZZ
@given(st.one_of(holdings_text, garbage), st.one_of(quotes_text, garbage))
def test_any_file_content_gives_a_plan_or_exit_65(holdings: str, quotes: str) -> None:
    code, err = _run(holdings, quotes)
    assert code in (0, 65), err


def test_the_examples_still_plan() -> None:
    code, err = _run((ROOT / "examples" / "holdings.json").read_text(),
                     (ROOT / "examples" / "quotes.json").read_text())
    assert code == 0, err


def test_named_extremes_exit_65_naming_the_field() -> None:
    good_q = (ROOT / "examples" / "quotes.json").read_text()
    for cash, field in (("1e308", "holdings.cash"), ("1e-300", "holdings.cash"),
                        ('"NaN"', "holdings.cash")):
        code, err = _run(f'{{"cash": {cash}, "positions": {{}}}}', good_q)
        assert code == 65 and field in err, (cash, err)
    code, err = _run('{"cash": "100", "positions": {"VTI": 1e400}}', good_q)
    assert code == 65 and "holdings.positions.VTI" in err, err
    code, err = _run('{"cash": "100"}', '{"VTI": {"bid": 1e-300, "ask": 1}}')
    assert code == 65 and "quotes.VTI.bid" in err, err
    code, err = _run("[" * 100_000 + "]" * 100_000, good_q)
    assert code == 65 and "nested far too deeply" in err, err


def _in_range(kind: str) -> st.SearchStrategy[str]:
    lo, hi = cli_plan.RANGES[kind]
    edges = st.sampled_from([str(lo), str(hi), "0"])
    inner = st.decimals(min_value=lo, max_value=hi, places=9 if kind == "qty" else 4,
                        allow_nan=False, allow_infinity=False).map(str)
    return st.one_of(edges, inner)


valid_quote = st.builds(
    lambda b, spread, adv, sigma: _obj({"bid": json.dumps(b), "ask": json.dumps(
        str(min(cli_plan.RANGES["price"][1], cli_plan.Decimal(b) + cli_plan.Decimal(spread)))),
        "adv": adv, "sigma": sigma}),
    _in_range("price"), st.sampled_from(["0", "0.01", "1", "1000"]),
    _in_range("adv"), _in_range("sigma"),
)
valid_holdings = st.builds(
    lambda cash, pos: _obj({"cash": json.dumps(cash), "positions": _obj(
        {k: json.dumps(v) for k, v in pos.items()})}),
    _in_range("cash"),
    st.dictionaries(st.sampled_from(SYMBOLS), _in_range("qty"), max_size=5),
)


@FUZZ
@given(valid_holdings, st.dictionaries(st.sampled_from(SYMBOLS), valid_quote, min_size=1))
def test_numbers_inside_the_ranges_always_plan(holdings: str, quotes: str) -> None:
    code, err = _run(holdings, _obj(quotes))
    assert code == 0, err
