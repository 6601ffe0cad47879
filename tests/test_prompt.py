"""The prompt model: parse everything, lose nothing, edit one parameter at a time (issue 12 §1).

Version rules and refusals are in ``test_prompt_versions.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mjnb import ValidationError
from mjnb._prompt import (
    PARAMS,
    Prompt,
    build_prompt,
    canonical_name,
    param_errors,
    parse_prompt,
    validate_prompt,
)

CASES = Path("/work/shared/cases")


def field_case(name: str) -> str:
    path = CASES / name
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    return path.read_text(encoding="utf-8")


# -- the field cases ---------------------------------------------------------------------------------
def test_repeated_no_from_the_field_keeps_both_values_through_parse_and_build():
    raw = field_case("prompt_repeated_no.txt")  # "girl --no boy --no car , dog --raw\n"
    prompt = Prompt.parse(raw)
    assert prompt.text == "girl"
    assert prompt.get_all("no") == ("boy", "car , dog")
    assert [p.canonical for p in prompt.params] == ["no", "no", "raw"]
    assert prompt.build() == raw
    assert prompt.validate(warn=False) == []  # Midjourney echoes it this way: no warning either
    legacy = parse_prompt(raw)
    assert legacy.params == {"no": ["boy", "car , dog"], "raw": True}
    assert build_prompt(legacy.text, legacy.params) == "girl --no boy --no car , dog --raw"


def test_version_written_with_dot_zero_from_the_field_is_that_version():
    raw = field_case("prompt_version_written_with_dot_zero.txt")  # "cat --v 6.0\n"
    prompt = Prompt.parse(raw)
    assert (prompt.text, prompt.version, prompt.get("v")) == ("cat", "6", "6.0")
    assert prompt.validate("mjproxy", warn=False) == []
    assert validate_prompt(raw, "newapi").build() == raw


# -- reading -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, urls, text, params",
    [
        ("a lighthouse at dusk --ar 3:2 --s 250", (), "a lighthouse at dusk", [("ar", "ar", "3:2"), ("s", "s", "250")]),
        (
            "cat --aspect 16:9 --stylize 50 --chaos 10 --quality 2 --repeat 4 --weird 9 --version 6.1",
            (),
            "cat",
            [
                ("aspect", "ar", "16:9"),
                ("stylize", "s", "50"),
                ("chaos", "c", "10"),
                ("quality", "q", "2"),
                ("repeat", "r", "4"),
                ("weird", "w", "9"),
                ("version", "v", "6.1"),
            ],
        ),
        (
            "https://a/x.png <https://s.mj.run/y> two cats --iw 2",
            ("https://a/x.png", "<https://s.mj.run/y>"),
            "two cats",
            [("iw", "iw", "2")],
        ),
        ("space ship::2 moon::-0.5 --no stars", (), "space ship::2 moon::-0.5", [("no", "no", "stars")]),
        ("a {red, blue} bird --ar {1:1, 16:9}", (), "a {red, blue} bird", [("ar", "ar", "{1:1, 16:9}")]),
        ("a bird {--ar 1:1, --ar 2:3} --s 5", (), "a bird {--ar 1:1, --ar 2:3}", [("s", "s", "5")]),
        ("portrait --p", (), "portrait", [("p", "p", None)]),
        (
            "portrait --personalize abc1 m7318879261434052637",
            (),
            "portrait",
            [("personalize", "p", "abc1 m7318879261434052637")],
        ),
        ("sunset --niji --style cute", (), "sunset", [("niji", "niji", None), ("style", "style", "cute")]),
        ("phone typed —ar 16:9 –s 50", (), "phone typed", [("ar", "ar", "16:9"), ("s", "s", "50")]),
        (
            "a well-known place – far away — really --AR 2:3",
            (),
            "a well-known place – far away — really",
            [("AR", "ar", "2:3")],
        ),
        ("the sign says —— nothing", (), "the sign says —— nothing", []),
        ("cat --frobnicate 3 --tile", (), "cat", [("frobnicate", "frobnicate", "3"), ("tile", "tile", None)]),
        ("--ar 3:2", (), "", [("ar", "ar", "3:2")]),
        ("", (), "", []),
    ],
)
def test_parse_reads_urls_text_and_every_parameter_as_typed(source, urls, text, params):
    prompt = Prompt.parse(source)
    assert (prompt.image_urls, prompt.text) == (urls, text)
    assert [(p.name, p.canonical, p.value) for p in prompt.params] == params
    assert prompt.build() == source


def test_spans_point_at_each_parameter_and_its_value():
    source = "a fox  —stylize  250 --tile\t--no red, blue  "
    prompt = Prompt.parse(source)
    s, tile, no = prompt.params
    assert source[s.span[0] : s.span[1]] == "—stylize  250" and source[slice(*s.value_span)] == "250"
    assert source[slice(*tile.span)] == "--tile" and tile.value_span == (tile.span[1], tile.span[1])
    assert source[slice(*no.span)] == "--no red, blue"
    assert [seg.kind for seg in prompt.segments] == [
        "text",
        "space",
        "param",
        "space",
        "param",
        "space",
        "param",
        "space",
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(list("ab :{},.-—–\t\n0123456789/３١") + ["--ar ", "--no ", "https://x/", "::", "--v 6.0"])
    ).map("".join)
)
def test_any_text_builds_back_byte_for_byte_and_segments_cover_it(source):
    prompt = Prompt.parse(source)
    assert prompt.build() == source
    assert "".join(seg.raw for seg in prompt.segments) == source
    assert all(source[slice(*seg.span)] == seg.raw for seg in prompt.segments)
    assert all(source[slice(*p.value_span)] == (p.value or "") for p in prompt.params)
    prompt.problems()  # judging never crashes, whatever the text


# One sample per parameter; every alias and every dash form must read and build back unchanged.
SAMPLES = {
    "ar": "7:4",
    "v": "6.1",
    "niji": "6",
    "s": "250",
    "c": "20",
    "w": "1000",
    "q": ".5",
    "seed": "42",
    "no": "trees, rivers",
    "tile": None,
    "raw": None,
    "style": "raw",
    "exp": "25",
    "iw": "1.5",
    "sref": "https://a/s.png 123::2",
    "sw": "300",
    "sv": "4",
    "oref": "https://a/o.png",
    "ow": "50",
    "cref": "https://a/c.png",
    "cw": "0",
    "draft": None,
    "fast": None,
    "relax": None,
    "turbo": None,
    "p": "m7318879261434052637",
    "stop": "50",
    "zoom": "1.5",
    "video": "1",
    "motion": "low",
    "r": "4",
    "hd": None,
    "sameseed": "7",
    "loop": None,
    "public": None,
    "stealth": None,
}
ROUND_TRIPS = [
    (alias, spec.name, dash)
    for spec in PARAMS.values()
    for alias in (spec.name, *spec.aliases)
    for dash in ("--", "—", "–")
]


def test_every_parameter_has_a_round_trip_sample():
    assert set(SAMPLES) == set(PARAMS)


@pytest.mark.parametrize("alias, canonical, dash", ROUND_TRIPS)
def test_every_parameter_alias_and_dash_round_trips(alias, canonical, dash):
    value = SAMPLES[canonical]
    source = f"https://a/i.png a fox {dash}{alias}" + ("" if value is None else f" {value}") + " --c 5"
    prompt = Prompt.parse(source)
    assert prompt.build() == source
    assert [(p.name, p.canonical, p.value) for p in prompt.params] == [(alias, canonical, value), ("c", "c", "5")]
    assert prompt.get(alias) == prompt.get(canonical) == value
    assert canonical_name(alias) == canonical_name(f"--{alias.upper()}") == canonical


@pytest.mark.parametrize(
    "typed, canonical",
    [
        ("stylize", "s"),
        ("--s", "s"),
        ("—chaos", "c"),
        ("repeat", "r"),
        ("personalize", "p"),
        ("profile", "p"),
        ("quality", "q"),
        ("aspect", "ar"),
        ("version", "v"),
        ("weird", "w"),
        ("NIJI", "niji"),
        ("colour", None),
    ],
)
def test_canonical_name(typed, canonical):
    assert canonical_name(typed) == canonical


@pytest.mark.parametrize(
    "source, version",
    [
        ("cat --v 6.0", "6"),
        ("cat --version 7.0", "7"),
        ("cat --v 5.2", "5.2"),
        ("cat --niji 6", "niji 6"),
        ("cat --niji", "niji"),
        ("cat", None),
        ("cat --v 9", None),
        ("cat --v 6 --v 6.1", "6.1"),
    ],
)
def test_version_is_the_model_the_prompt_names(source, version):
    assert Prompt.parse(source).version == version


@pytest.mark.parametrize(
    "text, parts",
    [
        ("hot dog", (("hot dog", None),)),
        ("hot:: dog", (("hot", None), ("dog", None))),
        ("space ship::2 moon::-0.5 stars", (("space ship", "2"), ("moon", "-0.5"), ("stars", None))),
        ("a::.5 b::", (("a", ".5"), ("b", None))),
        ("a::２ b", (("a", None), ("２ b", None))),
    ],
)
def test_multi_prompts_split_at_double_colons_with_their_weights(text, parts):
    assert Prompt.parse(text + " --v 6").multi_prompts == parts


# -- editing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, name, value, expected",
    [
        ("a fox —ar 16:9  --s 250", "ar", "3:2", "a fox —ar 3:2  --s 250"),
        ("a fox --stylize 250 --c 5", "s", "500", "a fox --stylize 500 --c 5"),
        ("a fox --stylize 250", "stylize", "500", "a fox --stylize 500"),
        ("a fox --s 250\n", "c", "10", "a fox --s 250 --c 10\n"),
        ("a fox", "tile", None, "a fox --tile"),
        ("a fox --p --s 1", "p", "abc def", "a fox --p abc def --s 1"),
        ("a fox --p abc --s 1", "p", None, "a fox --p --s 1"),
        ("girl --no boy --no car , dog --raw", "no", "cars", "girl --no cars --raw"),
        ("{a, b} fox --ar {1:1, 2:3}", "s", "5", "{a, b} fox --ar {1:1, 2:3} --s 5"),
        ("", "ar", "1:1", "--ar 1:1"),
    ],
)
def test_with_param_changes_only_that_parameter(source, name, value, expected):
    before = Prompt.parse(source)
    after = before.with_param(name, value)
    assert after.build() == expected
    assert after.get_all(name) == (value,)
    others = [(p.name, p.value) for p in after.params if p.canonical != canonical_name(name)]
    assert others == [(p.name, p.value) for p in before.params if p.canonical != canonical_name(name)]
    assert before.build() == source  # the original is unchanged


@pytest.mark.parametrize(
    "source, name, expected",
    [
        ("girl --no boy --no car , dog --raw", "no", "girl --raw"),
        ("a fox —ar 16:9 --s 250", "aspect", "a fox --s 250"),
        ("--ar 3:2 a", "ar", ""),
        ("--tile --s 5", "tile", "--s 5"),
        ("a fox --s 5", "c", "a fox --s 5"),
    ],
)
def test_without_removes_every_occurrence_and_nothing_else(source, name, expected):
    assert Prompt.parse(source).without(name).build() == expected


def test_with_added_appends_another_occurrence():
    prompt = Prompt.parse("girl --no boy --raw").with_added("no", "car , dog")
    assert prompt.build() == "girl --no boy --raw --no car , dog"
    assert prompt.get_all("no") == ("boy", "car , dog")


@pytest.mark.parametrize("value", ["3:2 --s 5", "{3:2", "1:1 —c 9"])
def test_with_param_refuses_a_value_that_would_not_read_back(value):
    with pytest.raises(ValidationError) as caught:
        Prompt.parse("a fox --ar 1:1 --c 5").with_param("ar", value)
    assert caught.value.field == "--ar"


@pytest.mark.parametrize(
    "source, text, expected",
    [
        ("a fox —ar 16:9", "a dog", "a dog —ar 16:9"),
        ("https://a/x.png  a fox --s 5", "two dogs", "https://a/x.png  two dogs --s 5"),
        ("https://a/x.png --s 5", "two dogs", "https://a/x.png two dogs --s 5"),
        ("--s 5", "a dog", "a dog --s 5"),
        ("", "a dog", "a dog"),
    ],
)
def test_with_text_replaces_only_the_text(source, text, expected):
    assert Prompt.parse(source).with_text(text).build() == expected


def test_with_text_refuses_parameters_in_the_text():
    with pytest.raises(ValidationError, match="may not contain --parameters"):
        Prompt.parse("a fox --s 5").with_text("a dog --ar 1:1")


def test_as_dict_gives_the_parameters_as_data_without_losing_repeats():
    prompt = Prompt.parse("girl —no boy --no car , dog --raw --stylize 50 --colour red")
    assert prompt.as_dict() == {"no": ["boy", "car , dog"], "raw": True, "s": "50", "colour": "red"}


def test_a_prompt_is_a_value():
    assert Prompt.parse("a --s 1") == Prompt("a --s 1") and hash(Prompt("x")) == hash(Prompt("x"))
    assert str(Prompt("a —s 1")) == "a —s 1" and repr(Prompt("a")) == "Prompt('a')"
    with pytest.raises(ValidationError):
        Prompt(None)  # type: ignore[arg-type]


# -- the older functions, kept for their callers -------------------------------------------------------
def test_parse_prompt_gives_the_older_dict_and_refuses_what_it_cannot_read():
    parsed = parse_prompt("https://a/x.png  two   cats --aspect 7:4 --p --tile --bogus 3")
    assert (parsed.text, parsed.image_urls) == ("two cats", ("https://a/x.png",))
    assert parsed.params == {"ar": "7:4", "p": True, "tile": True, "bogus": "3"}
    for source, words in [("cat --tile yes", "--tile: takes no value"), ("cat --ar", "--ar: needs a value (W:H")]:
        with pytest.raises(ValidationError, match=re.escape(words)):
            parse_prompt(source)


def test_build_prompt_writes_parameters_in_table_order_and_drops_empty_ones():
    built = build_prompt(
        "a fox",
        {"zz": "1", "s": "250", "ar": "3:2", "tile": True, "raw": False, "c": "", "seed": None, "no": ["a", "b"]},
        ["https://a/x.png"],
    )
    assert built == "https://a/x.png a fox --ar 3:2 --s 250 --no a --no b --tile --zz 1"


def test_param_errors_map_each_refused_parameter_to_its_message():
    errors = param_errors({"s": "2000", "v": "7", "cref": "https://a/c.png", "bogus": "1"})
    assert errors == {
        "s": "--s: 2000 is out of range; allowed: a whole number from 0 to 1000",
        "cref": "--cref: not available in version 7; allowed in 6, 6.1 and niji 6",
    }
    assert param_errors({"v": "6"}, "evolink")["v"].startswith("--v: not accepted by evolink")
    assert param_errors({"v": "6"}, "mjproxy") == {}


def test_validate_prompt_returns_the_prompt_or_raises_with_the_field():
    with pytest.raises(ValidationError) as caught:
        validate_prompt("cat --stylize 5000")
    assert caught.value.field == "--s" and "0 to 1000" in str(caught.value)
    assert validate_prompt("https://a/x.png https://a/y.png").image_urls == ("https://a/x.png", "https://a/y.png")


def test_every_parameter_describes_what_it_allows():
    for spec in PARAMS.values():
        assert spec.describe_allowed(), spec.name
    assert PARAMS["seed"].describe_allowed() == "a whole number from 0 to 4294967295"


def test_the_module_examples_run():
    import doctest

    import mjnb._prompt

    assert doctest.testmod(mjnb._prompt).failed == 0
