"""Prompt validation by model version and dialect, from Midjourney's parameter documentation.

Each row is a prompt a user may type (or a service may echo back) with what mjnb must do with it:
pass, refuse naming the parameter, the version and what is allowed, or pass with a warning.
Sources are cited in ``mjnb/_prompt_rules.py``.
"""

from __future__ import annotations

import warnings

import pytest

from mjnb import ValidationError
from mjnb._prompt import MjnbPromptWarning, Prompt, choices_for, unavailable, validate_prompt

URL = "https://i.example/ref.png"

MUST_PASS = [
    # final prompts as the services echo them (PROTOCOLS.md §3.5, §4.5): sent again, they must pass
    ("dog playing ball --v 7.0", None),
    ("dog playing ball --v 7.0 --p 77724z8", "mjproxy"),
    ("dog playing ball --v 7 --p m7318879261434052637", "newapi"),
    ("cute cat girl --niji 5", "newapi"),
    ("<https://s.mj.run/abc> a cat --v 6.1 --style raw --s 250 --ar 16:9", "mjproxy"),
    ("a lighthouse --ar 3:2 --zoom 2", "mjproxy"),  # Custom Zoom's pre-filled prompt
    ("cat --v 6.0", "acedata"),
    # Midjourney V7 (EVO-V7 guide)
    (f"cat --v 7 --q 2 --exp 100 --oref {URL} --ow 1000 --sref {URL} --sw 1000 --sv 6 --draft", None),
    ("cat --v 7 --q 1 --raw --w 3000 --s 0 --c 100 --seed 4294967295 --tile", None),
    (f"{URL} cat --v 7 --iw 3", None),
    ("cat --q 2 --stylize 1000", "evolink"),  # EvoLink's mj-v7 is V7: V7 rules apply
    # Midjourney V6 / V6.1 and niji 6 (Character Reference: V6 and niji 6)
    (f"cat --v 6.1 --cref {URL} --cw 0 --q .25", None),
    (f"cat --niji 6 --cref {URL} {URL} --cw 100 --style raw --q 2", None),
    ("cat --v 6 --sref random --sw 0 --sv 4 --p", None),
    (f"{URL} cat --v 6 --iw 3", None),
    # V5.x and niji 5 (niji 5 styles)
    ("cat --v 5.2 --style raw --q .5 --w 100 --stop 10", None),
    ("cat --v 5.1 --style raw", None),
    (f"{URL} cat --v 5 --iw 2 --tile", None),
    ("cat --niji 5 --style cute", None),
    ("cat --niji 5 --style expressive", None),
    ("cat --niji 5 --style original", None),
    ("cat --niji 5 --style scenic", None),
    # V4, V8 and a bare --niji (the account's niji default: version rules cannot apply)
    ("cat --v 4 --style 4b --q .25", None),
    ("cat --v 8 --hd --exp 10", None),
    ("cat --v 8.1 --oref https://a/o.png", None),
    ("cat --niji --style cute", None),
    # everything else that Midjourney takes
    ("girl --no boy --no car , dog --raw", None),
    ("a {red, blue} bird --ar {1:1, 16:9} --s {50, 500}", None),
    ("cat —ar 16:9 –s 50", None),
    ("cat --r 40 --fast", None),
    ("cat --repeat 1", None),
    ("cat --v 7 --q 4", None),
    ("cat --video 1 --motion high --loop", None),
    ("cat --video --relax", None),
    ("cat --personalize abc def --stealth", None),
    ("space ship::2 moon::-0.5 stars", None),
    (f"{URL} {URL}", "mjproxy"),
]


@pytest.mark.parametrize("source, dialect", MUST_PASS)
def test_documented_prompts_pass(source, dialect):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate_prompt(source, dialect).build() == source


MUST_FAIL = [
    # (prompt, dialect, field, words the message must contain)
    (f"cat --v 6.1 --oref {URL}", None, "--oref", "--oref: not available in version 6.1; allowed from 7"),
    (f"cat --niji 6 --oref {URL}", None, "--oref", "not available in niji 6; allowed from 7"),
    (f"cat --v 7 --cref {URL}", None, "--cref", "--cref: not available in version 7; allowed in 6, 6.1 and niji 6"),
    (f"cat --v 5.2 --cref {URL}", None, "--cref", "not available in version 5.2"),
    ("cat --v 7 --cw 50", None, "--cw", "not available in version 7"),
    ("cat --v 6.1 --exp 10", None, "--exp", "--exp: not available in version 6.1; allowed from 7"),
    ("cat --v 6 --draft", None, "--draft", "allowed from 7"),
    ("cat --v 7 --hd", None, "--hd", "--hd: not available in version 7; allowed in 1–3 and from 8"),
    (f"cat --v 5.2 --sref {URL}", None, "--sref", "--sref: not available in version 5.2; allowed from 6"),
    ("cat --v 5 --p", None, "--p", "not available in version 5"),
    ("cat --niji 5 --sv 2", None, "--sv", "not available in niji 5"),
    ("cat --v 6 --sv 5", None, "--sv", "--sv: 5 is not available in version 6; allowed: 1, 2, 3, 4"),
    ("cat --v 4 --w 10", None, "--w", "not available in version 4; allowed from 5"),
    ("cat --v 4 --tile", None, "--tile", "not available in version 4"),
    ("cat --v 4 --iw 1", None, "--iw", "not available in version 4"),
    # --q per version (MJ Quality page; EVO-V7: 1, 2, 4)
    ("cat --v 7 --q .5", None, "--q", "--q: .5 is not available in version 7; allowed: 1, 2, 4"),
    ("cat --v 5.2 --q 2", None, "--q", "2 is not available in version 5.2; allowed: .25, .5, 1"),
    ("cat --v 6.1 --q 4", None, "--q", "allowed: .25, .5, 1, 2"),
    ("cat --niji 5 --q 2", None, "--q", "not available in niji 5"),
    ("cat --q 3", None, "--q", "'3' is not allowed; allowed: one of .25, .5, 1, 2, 4"),
    ("cat --q .5", "evolink", "--q", "not available in version 7"),
    # --style per version (niji 5 styles; raw from 5.1)
    (
        "cat --niji 5 --style raw",
        None,
        "--style",
        "raw is not available in niji 5; allowed: cute, expressive, original, scenic",
    ),
    ("cat --v 6 --style cute", None, "--style", "cute is not available in version 6; allowed: raw"),
    ("cat --v 5 --style raw", None, "--style", "not available in version 5"),
    ("cat --v 5 --raw", None, "--raw", "not available in version 5; allowed from 5.1"),
    ("cat --style vivid", None, "--style", "'vivid' is not allowed"),
    # ranges
    ("cat --s 1001", None, "--s", "--s: 1001 is out of range; allowed: a whole number from 0 to 1000"),
    ("cat --c 101", None, "--c", "from 0 to 100"),
    ("cat --c -1", None, "--c", "-1 is out of range"),
    ("cat --w 3001", None, "--w", "from 0 to 3000"),
    ("cat --seed 4294967296", None, "--seed", "from 0 to 4294967295"),
    ("cat --stop 9", None, "--stop", "from 10 to 100"),
    ("cat --stop 101", None, "--stop", "from 10 to 100"),
    ("cat --r 0", None, "--r", "from 1 to 40"),
    ("cat --exp 101", None, "--exp", "from 0 to 100"),
    ("cat --ow 0", None, "--ow", "from 1 to 1000"),
    ("cat --zoom 2.5", None, "--zoom", "a number from 1 to 2"),
    (f"{URL} cat --v 6 --iw 3.5", None, "--iw", "a number from 0 to 3"),
    (f"{URL} cat --v 5.2 --iw 2.5", None, "--iw", "2.5 is out of range in version 5.2; allowed: a number from 0 to 2"),
    ("cat --v 3 --s 100", None, "--s", "out of range in version 3; allowed: a whole number from 625 to 60000"),
    ("cat --s 2.5", None, "--s", "'2.5' is not a whole number"),
    ("cat --ar 0:1", None, "--ar", "W:H with positive whole numbers"),
    ("cat --ar 1.5:1", None, "--ar", "W:H with positive whole numbers"),
    ("cat --ar {1:1, 3:0}", None, "--ar", "'3:0' is not allowed"),
    ("cat --motion medium", None, "--motion", "one of low, high"),
    # versions
    ("cat --v 9", None, "--v", "'9' is not allowed"),
    ("cat --v 6.2", None, "--v", "'6.2' is not allowed"),
    ("cat --niji 3", None, "--niji", "'3' is not allowed"),
    ("cat --v 7 --niji 6", None, "--niji", "cannot be combined with --v"),
    ("cat --v 6 --v 7", None, "--v", "given more than once (6, 7); keep one"),
    # values Midjourney cannot take at all
    ("cat --tile yes", None, "--tile", "--tile: takes no value, got 'yes'"),
    ("cat --ar", None, "--ar", "--ar: needs a value (W:H"),
    ("cat --no", None, "--no", "needs a value"),
    (f"cat --v 7 --oref {URL} {URL}", None, "--oref", "takes one image URL"),
    ("cat --v 7 --oref cat.png", None, "--oref", "is not an image URL"),
    (f"cat --oref {URL} --q 4", None, "--q", "4 cannot be combined with --oref"),
    (URL, None, "prompt", "one image URL needs some text too"),
    ("hot dog::-2 bun", None, "prompt", "the :: weights add up to -1"),
    # what EvoLink documents as refused (PROTOCOLS.md §1.2)
    ("cat --v 7", "evolink", "--v", "--v: not accepted by evolink (EvoLink's mj-v7 is locked to version 7"),
    ("cat --niji 6", "evolink", "--niji", "not accepted by evolink (EvoLink's mj-v7 has no niji)"),
    (f"cat --cref {URL}", "evolink", "--cref", "not available in version 7"),
]


@pytest.mark.parametrize("source, dialect, field, words", MUST_FAIL)
def test_wrong_prompts_are_refused_naming_the_parameter_version_and_what_is_allowed(source, dialect, field, words):
    with pytest.raises(ValidationError) as caught:
        validate_prompt(source, dialect)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert str(caught.value).startswith(field if field != "prompt" else "prompt:")


# issue 9 §6: what Python's float()/\d would take but Midjourney would not
STRICT = ["1_000", "١٠٠", "+5", "1e3", "NaN", "nan", "inf", "-inf", "Infinity", "0x10", "５", " 5 5", "5.", "²"]


@pytest.mark.parametrize("value", STRICT)
@pytest.mark.parametrize("name", ["s", "c", "seed", "iw", "stop", "q"])
def test_numbers_are_ascii_digits_only(name, value):
    with pytest.raises(ValidationError) as caught:
        Prompt.parse(f"{URL} cat --{name} {value}").validate(warn=False)
    assert caught.value.field == f"--{name}"
    assert "not a number" in str(caught.value) or "not allowed" in str(caught.value)


@pytest.mark.parametrize("ratio", ["３:２", "3：2", "٣:٢", "3:2.0", "+3:2", "3 : 2", "3x2", "3:2:1"])
def test_aspect_ratios_are_ascii_whole_numbers(ratio):
    with pytest.raises(ValidationError) as caught:
        Prompt.parse(f"cat --ar {ratio}").validate(warn=False)
    assert caught.value.field == "--ar"


def test_every_refusal_comes_back_from_problems_in_prompt_order():
    errors, notes = Prompt.parse("cat --v 7 --s 5000 --cref https://a/c.png --bogus 1").problems()
    assert [e.field for e in errors] == ["--s", "--cref"]
    assert [n.field for n in notes] == ["--bogus"]


def test_the_version_argument_applies_when_the_prompt_names_none():
    prompt = Prompt.parse(f"cat --oref {URL}")
    assert prompt.validate(warn=False) == []  # the account default is unknown: not refused
    with pytest.raises(ValidationError, match="not available in version 6.1"):
        prompt.validate(version="6.1")
    with pytest.raises(ValidationError, match="not available in niji 6"):
        prompt.validate(version="niji 6")
    assert Prompt.parse(f"cat --oref {URL} --v 7").validate(version="6.1", warn=False) == []  # the prompt wins
    with pytest.raises(ValidationError) as caught:
        prompt.validate(version="9.5")
    assert caught.value.field == "version" and "allowed: 1, 2, 3" in str(caught.value)


WARNED = [
    ("cat --frobnicate 3", None, "--frobnicate", "unknown parameter; sent as written"),
    ("cat --ar 1:1 --aspect 2:3", None, "--ar", "--ar is given 2 times"),
    ("cat --sw 200", None, "--sw", "no effect without --sref"),
    ("cat --cw 50 --v 6", None, "--cw", "no effect without --cref"),
    ("cat --iw 2", None, "--iw", "no effect without an image prompt"),
    ("cat --fast --turbo", None, "--fast", "several speeds (fast, turbo)"),
    ("cat --v 6 --sref cat.png", None, "--sref", "'cat.png' is not an image URL, a style code or 'random'"),
    ("cat --p bad!code", None, "--p", "is not a profile code"),
    ("hot:: dog", "evolink", "prompt", "EvoLink documents no :: multi-prompts"),
]


@pytest.mark.parametrize("source, dialect, field, words", WARNED)
def test_what_mjnb_cannot_vouch_for_passes_with_a_warning(source, dialect, field, words):
    with pytest.warns(MjnbPromptWarning) as caught:
        prompt = validate_prompt(source, dialect)
    assert prompt.build() == source
    assert any(w.message.field == field and words in str(w.message) for w in caught)
    quiet = Prompt.parse(source).validate(dialect, warn=False)
    assert any(n.field == field and words in str(n) for n in quiet)


def test_validate_without_warn_issues_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notes = Prompt.parse("cat --frobnicate 3").validate(warn=False)
    assert [n.field for n in notes] == ["--frobnicate"]


@pytest.mark.parametrize(
    "name, version, choices",
    [
        ("q", "7", ("1", "2", "4")),
        ("quality", "6.1", (".25", ".5", "1", "2")),
        ("q", "v 5.2", (".25", ".5", "1")),
        ("q", None, (".25", ".5", "1", "2", "4")),
        ("style", "niji 5", ("cute", "expressive", "original", "scenic")),
        ("style", "6.0", ("raw",)),
        ("sv", "niji 6", ("1", "2", "3", "4")),
        ("sv", "7", ("1", "2", "3", "4", "5", "6")),
        ("motion", "7", ("low", "high")),
    ],
)
def test_choices_for_a_dropdown_follow_the_version(name, version, choices):
    assert choices_for(name, version) == choices


def test_unavailable_says_why_a_control_does_not_apply():
    assert unavailable("oref", "6.1") == "not available in version 6.1; allowed from 7"
    assert unavailable("cref", "niji 6") is None and unavailable("s", "7") is None and unavailable("oref", None) is None
    with pytest.raises(ValidationError) as caught:
        choices_for("s", "7")
    assert caught.value.field == "--s"
