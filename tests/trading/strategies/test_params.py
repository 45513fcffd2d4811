import pytest

from trading.strategies import StrategyParamsInvalid, kind_get, params_describe, params_dump, params_parse


def parse(kind, raw):
    return params_parse(kind_get(kind=kind).Params, raw)


def errors_of(kind, raw) -> dict[str, str]:
    with pytest.raises(StrategyParamsInvalid) as caught:
        parse(kind, raw)
    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_strategy_params"
    assert caught.value.extra == {"errors": caught.value.errors}
    return caught.value.errors


def test_defaults_and_given_values():
    assert params_dump(parse("sma_crossover", None)) == {"fast": 10, "slow": 30}
    assert params_dump(parse("sma_crossover", {"fast": 5})) == {"fast": 5, "slow": 30}
    assert params_dump(parse("rsi_reversion", {"lower": 25, "upper": "75.5"})) == {
        "period": 14,
        "lower": 25.0,
        "upper": 75.5,
    }
    assert params_dump(parse("donchian_breakout", {"entry": "55", "exit": 20.0})) == {"entry": 55, "exit": 20}
    assert params_dump(parse("buy_and_hold", {})) == {}


def test_out_of_bounds_names_the_field():
    assert errors_of("sma_crossover", {"fast": 1}) == {"fast": "must be between 2 and 500"}
    assert errors_of("sma_crossover", {"fast": 501, "slow": 2}) == {
        "fast": "must be between 2 and 500",
        "slow": "must be between 3 and 1000",
    }
    assert errors_of("rsi_reversion", {"upper": 100}) == {"upper": "must be between 50.0 and 99.0"}
    assert errors_of("donchian_breakout", {"exit": 0}) == {"exit": "must be between 2 and 500"}


def test_cross_field_rules():
    assert errors_of("sma_crossover", {"fast": 30, "slow": 30}) == {"fast": "must be less than slow"}
    assert errors_of("sma_crossover", {"fast": 40}) == {"fast": "must be less than slow"}
    assert errors_of("rsi_reversion", {"lower": 50, "upper": 50}) == {"lower": "must be less than upper"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"fast": True}, {"fast": "must be a number, not true/false"}),
        ({"fast": 2.5}, {"fast": "must be a whole number"}),
        ({"fast": "ten"}, {"fast": "must be a whole number, got 'ten'"}),
        ({"fast": None}, {"fast": "must be a whole number"}),
        ({"fast": [5]}, {"fast": "must be a whole number"}),
        ({"fats": 5}, {"fats": "unknown parameter; this kind takes: fast, slow"}),
    ],
)
def test_hostile_values(raw, expected):
    assert errors_of("sma_crossover", raw) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "nan", "-inf", {"a": 1}])
def test_non_finite_floats_are_refused(value):
    assert errors_of("rsi_reversion", {"lower": value}) == {"lower": "must be a finite number"}


def test_params_must_be_a_mapping():
    assert errors_of("sma_crossover", [("fast", 5)]) == {"params": "must be an object of name: value"}
    assert errors_of("buy_and_hold", {"x": 1}) == {"x": "unknown parameter; this kind takes: none"}


def test_describe():
    assert params_describe(kind_get(kind="sma_crossover").Params) == [
        {"name": "fast", "type": "int", "default": 10, "min": 2, "max": 500, "help": "bars in the fast average"},
        {"name": "slow", "type": "int", "default": 30, "min": 3, "max": 1000, "help": "bars in the slow average"},
    ]
