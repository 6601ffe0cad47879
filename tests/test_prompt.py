"""Prompt parameters (PROTOCOLS.md §5): parse, build, validate — with the messages a user reads."""

from __future__ import annotations

import pytest

from mjnb import ValidationError
from mjnb._prompt import PARAMS, build_prompt, param_errors, parse_prompt, validate_prompt


@pytest.mark.parametrize(
    "prompt, text, urls, params",
    [
        ("a lighthouse at dusk --ar 3:2 --s 250", "a lighthouse at dusk", (), {"ar": "3:2", "s": "250"}),
        ("cat --aspect 16:9 --stylize 50 --chaos 10", "cat", (), {"ar": "16:9", "s": "50", "c": "10"}),
        ("https://a/x.png https://a/y.png two cats --iw 2", "two cats", ("https://a/x.png", "https://a/y.png"), {"iw": "2"}),
        ("forest --no trees, rivers --tile --raw", "forest", (), {"no": "trees, rivers", "tile": True, "raw": True}),
        ("portrait --p", "portrait", (), {"p": True}),
        ("portrait --p m7318879261434052637 --v 7", "portrait", (), {"p": "m7318879261434052637", "v": "7"}),
        ("sunset --niji 6 --style raw --fast", "sunset", (), {"niji": "6", "style": "raw", "fast": True}),
        ("  spaced   out  ", "spaced out", (), {}),
    ],
)
def test_parse_prompt_splits_urls_text_and_parameters(prompt, text, urls, params):
    parsed = parse_prompt(prompt)
    assert (parsed.text, parsed.image_urls, parsed.params) == (text, urls, params)


@pytest.mark.parametrize(
    "prompt, message",
    [
        ("cat --foo 1", "unknown parameter --foo"),
        ("cat --tile yes", "--tile: takes no value"),
        ("cat --ar", "--ar: needs a value (W:H"),
    ],
)
def test_parse_prompt_refuses_what_it_cannot_read(prompt, message):
    with pytest.raises(ValidationError) as caught:
        parse_prompt(prompt)
    assert message in str(caught.value)


def test_build_prompt_writes_parameters_in_table_order_and_drops_empty_ones():
    built = build_prompt("a fox", {"s": "250", "ar": "3:2", "tile": True, "raw": False, "c": "", "seed": None},
                         ["https://a/x.png"])
    assert built == "https://a/x.png a fox --ar 3:2 --s 250 --tile"


@pytest.mark.parametrize(
    "prompt",
    [
        "a lighthouse at dusk --ar 3:2 --s 250",
        "https://a/x.png https://a/y.png two cats --ar 7:4 --niji 6 --q .5 --no dogs --tile --iw 2",
        "portrait --v 7 --c 20 --w 1000 --seed 42 --sref https://a/s.png --sw 300 --oref https://a/o.png --ow 50",
    ],
)
def test_parse_then_build_round_trips(prompt):
    parsed = parse_prompt(prompt)
    assert build_prompt(parsed.text, parsed.params, parsed.image_urls) == prompt


@pytest.mark.parametrize(
    "params, name, words",
    [
        ({"s": "2000"}, "s", "--s: 2000 is out of range; allowed: a whole number from 0 to 1000"),
        ({"c": "101"}, "c", "from 0 to 100"),
        ({"w": "3001"}, "w", "from 0 to 3000"),
        ({"seed": "4294967296"}, "seed", "from 0 to 4294967295"),
        ({"s": "2.5"}, "s", "is not a whole number"),
        ({"s": "lots"}, "s", "is not a number"),
        ({"ar": "3:0"}, "ar", "W:H with positive whole numbers"),
        ({"ar": "1.5:1"}, "ar", "W:H with positive whole numbers"),
        ({"q": "3"}, "q", "one of .25, .5, 1, 2, 4"),
        ({"v": "9"}, "v", "one of 1, 2, 3"),
        ({"iw": "3.5"}, "iw", "a number from 0 to 3"),
        ({"oref": "https://a/o.png", "q": "4"}, "q", "4 cannot be combined with --oref"),
        ({"v": "7", "niji": "6"}, "niji", "cannot be combined with --v"),
    ],
)
def test_param_errors_name_the_parameter_and_what_is_allowed(params, name, words):
    errors = param_errors(params)
    assert name in errors
    assert words in errors[name]
    assert errors[name].startswith(f"--{name}")


def test_param_errors_accept_documented_values():
    good = {"ar": "21:9", "s": "0", "c": "100", "w": "3000", "q": "0.5", "seed": "4294967295", "iw": "0.5",
            "v": "6.1", "tile": True, "no": "cars", "sv": "6", "ow": "1000", "stop": "10"}
    assert param_errors(good) == {}


@pytest.mark.parametrize("name", ["v", "niji"])
def test_evolink_refuses_version_and_niji_with_the_reason(name):
    errors = param_errors({name: "6"}, "evolink")
    assert errors[name].startswith(f"--{name}: not accepted by evolink")
    assert param_errors({name: "6"}, "mjproxy") == {}


def test_validate_prompt_raises_on_the_first_bad_parameter_with_its_field():
    with pytest.raises(ValidationError) as caught:
        validate_prompt("cat --s 5000")
    assert caught.value.field == "--s"
    assert "0 to 1000" in str(caught.value)


def test_validate_prompt_needs_text_with_a_single_image():
    with pytest.raises(ValidationError, match="one image URL needs some text"):
        validate_prompt("https://a/x.png")
    assert validate_prompt("https://a/x.png https://a/y.png").image_urls == ("https://a/x.png", "https://a/y.png")


def test_every_parameter_describes_what_it_allows():
    for param in PARAMS.values():
        assert param.describe_allowed(), param.name
