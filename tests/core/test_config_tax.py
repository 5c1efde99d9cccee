"""The ``[tax]`` section: parsed and strictly validated (not used by the planner yet)."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemon.core.config.reader import ConfigError, parse_config
from daemon.core.config.tax import AccountKind, HarvestConfig, TaxConfig
from daemon.core.tax.lots import ReliefMethod

ROOT = Path(__file__).resolve().parents[2]


def config(tax: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"portfolio": {"cash_target": 10, "targets": {"VTI": 60, "BND": 30}}}
    if tax is not None:
        doc["tax"] = tax
    return doc


def problems(tax: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(config(tax))
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def test_absent_section_is_a_tax_deferred_account() -> None:
    c = parse_config(config(None))
    assert c.tax == TaxConfig() and c.tax.account is AccountKind.TAX_DEFERRED
    assert not c.tax.taxable


def test_every_value_reaches_the_config() -> None:
    c = parse_config(config({
        "account": "taxable", "st_rate": 35, "lt_rate": 20, "relief_method": "hifo",
        "acknowledge_method_differs_from_broker": True, "band_multiplier": 1.4,
        "never_realize_short_term_gains": True, "annual_gain_budget": 2500.5,
        "wash_sale_groups": {"VTI": "us", "ITOT": "us"},
        "harvest": {"enabled": True, "min_loss_percent": 7.5, "min_loss_dollars": 250,
                    "substitutes": {"VTI": ["SCHB"], "BND": "AGG"}},
    }))
    t = c.tax
    assert (t.account, t.st_rate, t.lt_rate) == (AccountKind.TAXABLE, 0.35, 0.20)
    assert t.relief_method is ReliefMethod.HIFO and t.acknowledge_method_differs_from_broker
    assert (t.band_multiplier, t.never_realize_short_term_gains) == (1.4, True)
    assert t.annual_gain_budget == Decimal("2500.5")
    assert t.group_of("ITOT") == t.group_of("VTI") == "us" and t.group_of("BND") == "BND"
    assert t.harvest == HarvestConfig(True, 0.075, Decimal(250),
                                      {"VTI": ("SCHB",), "BND": ("AGG",)})


@pytest.mark.parametrize(
    ("tax", "path", "words"),
    [
        ({"st_rate": 30}, "tax.account", "missing"),
        ({"account": "roth"}, "tax.account", "use one of taxable | tax_deferred"),
        ({"account": "taxable", "relief_method": "hifo"}, "tax.relief_method",
         "differs from the broker's fifo"),
        ({"account": "taxable", "relief_method": "specific_id",
          "acknowledge_method_differs_from_broker": True}, "tax.relief_method",
         "specific_id needs the lots named"),
        ({"account": "taxable", "st_rate": 120}, "tax.st_rate", "must be ≤ 100"),
        ({"account": "taxable", "st_rate": 10, "lt_rate": 20}, "tax.lt_rate", "above st_rate"),
        ({"account": "taxable", "band_multiplier": 0.5}, "tax.band_multiplier", "≥ 1"),
        ({"account": "taxable", "annual_gain_budget": -1}, "tax.annual_gain_budget", "≥ 0"),
        ({"account": "taxable", "annual_gain_budget": "1000"}, "tax.annual_gain_budget",
         "without quotes"),
        ({"account": "taxable", "wash_sale_groups": {"vti": "us"}}, "tax.wash_sale_groups.vti",
         "not a ticker"),
        ({"account": "taxable", "wash_sale_groups": {"VTI": 3}}, "tax.wash_sale_groups.VTI",
         "group name"),
        ({"account": "taxable", "harvest": {"substitutes": {"VTI": ["VTI"]}}},
         "tax.harvest.substitutes.VTI", "would wash the loss"),
        ({"account": "taxable", "wash_sale_groups": {"VTI": "us", "ITOT": "us"},
          "harvest": {"substitutes": {"VTI": ["ITOT"]}}}, "tax.harvest.substitutes.VTI",
         "ITOT is in VTI's wash-sale group"),
        ({"account": "tax_deferred", "harvest": {"enabled": True}}, "tax.harvest.enabled",
         "needs account = \"taxable\""),
        ({"account": "taxable", "harvest": {"min_loss_percent": 0}},
         "tax.harvest.min_loss_percent", "> 0"),
        ({"account": "taxable", "harvest_enabled": True}, "tax.harvest_enabled", "unknown key"),
        ({"account": "taxable", "harvest": {"enable": True}}, "tax.harvest.enable",
         "did you mean 'enabled'"),
    ],
)
def test_bad_values_are_named(tax: dict[str, Any], path: str, words: str) -> None:
    found = problems(tax)
    assert any(p.startswith(f"{path}:") and words in p for p in found), found


def test_every_problem_at_once() -> None:
    found = problems({"account": "x", "st_rate": -1, "relief_method": "lifo"})
    assert len(found) == 3


def test_acknowledged_method_is_accepted() -> None:
    c = parse_config(config({"account": "taxable", "relief_method": "min_tax",
                             "acknowledge_method_differs_from_broker": True}))
    assert c.tax.relief_method is ReliefMethod.MIN_TAX


def test_the_example_documents_every_tax_key() -> None:
    example = tomllib.loads((ROOT / "deploy" / "rebalanced.example.toml").read_text())
    for f in fields(TaxConfig):
        assert f.name in example["tax"], f"tax.{f.name}"
    renames = {"min_loss_fraction": "min_loss_percent"}
    for f in fields(HarvestConfig):
        assert renames.get(f.name, f.name) in example["tax"]["harvest"], f"tax.harvest.{f.name}"
    assert not parse_config(example).tax.taxable  # an IRA until it says so
    taxable = parse_config({**example, "tax": {**example["tax"], "account": "taxable"}})
    assert taxable.tax.taxable and taxable.tax.wait_for_long_term_days == 30

