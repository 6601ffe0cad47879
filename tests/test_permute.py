"""Midjourney permutation prompts expanded on the client, table-driven from the examples of
Midjourney's "Permutation Prompts" page, plus the refusals (empty group, unbalanced braces)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mjnb import ValidationError
from mjnb._permute import axis_values, count_permutations, expand_permutations, is_permutation

# (prompt, the prompts Midjourney documents it runs, in its order)
DOCUMENTED = [
    ("a {red, green, yellow} bird", ["a red bird", "a green bird", "a yellow bird"]),
    (
        "a {red, green} bird in the {jungle, desert}",
        [
            "a red bird in the jungle",
            "a red bird in the desert",
            "a green bird in the jungle",
            "a green bird in the desert",
        ],
    ),
    (
        "a naturalist illustration of a {pineapple, blueberry, rambutan, banana} bird",
        [f"a naturalist illustration of a {fruit} bird" for fruit in ("pineapple", "blueberry", "rambutan", "banana")],
    ),
    ("a bird --ar {3:2, 1:1, 2:3, 1:2}", [f"a bird --ar {r}" for r in ("3:2", "1:1", "2:3", "1:2")]),
    ("a bird --c {20, 80}", ["a bird --c 20", "a bird --c 80"]),
    (
        "a {vibrant california poppy, bouquet of sunflowers} --{v 5, niji 5}",
        [
            "a vibrant california poppy --v 5",
            "a vibrant california poppy --niji 5",
            "a bouquet of sunflowers --v 5",
            "a bouquet of sunflowers --niji 5",
        ],
    ),
    (
        "A {sculpture, painting} of a {seagull {on a pier, on a beach}, poodle {on a sofa, in a truck}}",
        [
            "A sculpture of a seagull on a pier",
            "A sculpture of a seagull on a beach",
            "A sculpture of a poodle on a sofa",
            "A sculpture of a poodle in a truck",
            "A painting of a seagull on a pier",
            "A painting of a seagull on a beach",
            "A painting of a poodle on a sofa",
            "A painting of a poodle in a truck",
        ],
    ),
    ("{red, pink \\, yellow} {tulip, rose}", ["red tulip", "red rose", "pink, yellow tulip", "pink, yellow rose"]),
    (
        "a {red, blue} bird --ar {1:1, 16:9}",
        ["a red bird --ar 1:1", "a red bird --ar 16:9", "a blue bird --ar 1:1", "a blue bird --ar 16:9"],
    ),
    ("a plain prompt --ar 3:2", ["a plain prompt --ar 3:2"]),
    ("a literal \\{brace\\}", ["a literal {brace}"]),
]


@pytest.mark.parametrize(("prompt", "expected"), DOCUMENTED, ids=[p for p, _ in DOCUMENTED])
def test_documented_examples(prompt, expected):
    expansions = expand_permutations(prompt)
    assert [e.prompt for e in expansions] == expected
    assert count_permutations(prompt) == len(expected)
    assert is_permutation(prompt) is (len(expected) > 1 or "{" in prompt.replace("\\{", ""))


def test_axes_name_parameters_and_groups():
    expansions = expand_permutations("a {red, blue} bird --ar {1:1, 16:9}")
    assert expansions[1].axes == {"{red, blue}": "red", "ar": "16:9"}
    assert axis_values("a {red, blue} bird --ar {1:1, 16:9}") == {"{red, blue}": ["red", "blue"], "ar": ["1:1", "16:9"]}
    nested = expand_permutations("a {seagull {on a pier, on a beach}, poodle} at dusk")
    assert [e.axes["{seagull {on a pier, on a beach}, poodle}"] for e in nested] == [
        "seagull on a pier",
        "seagull on a beach",
        "poodle",
    ]


def test_repeated_parameter_axes_stay_apart():
    axes = axis_values("cat --no {dogs, birds} --no {red, blue}")
    assert list(axes) == ["no", "no (2)"]


@pytest.mark.parametrize(
    ("prompt", "position", "what"),
    [
        ("a {} bird", 2, "empty permutation group"),
        ("a { , } bird", 2, "empty permutation group"),
        ("a {red, blue bird", 2, "never closed"),
        ("a red} bird", 5, "closes no"),
        ("a {red, {blue, green} bird", 2, "never closed"),
    ],
)
def test_refused_naming_the_position(prompt, position, what):
    with pytest.raises(ValidationError) as err:
        expand_permutations(prompt)
    assert err.value.field == "prompt"
    assert what in str(err.value) and f"position {position}" in str(err.value)


def test_limit_is_checked_before_expanding():
    prompt = " ".join("{a, b, c, d, e, f, g, h, i, j}" for _ in range(8))  # 10**8 prompts
    assert count_permutations(prompt) == 10**8
    with pytest.raises(ValidationError, match="expands to 100000000 prompts, more than the limit of 16"):
        expand_permutations(prompt, limit=16)


_WORD = st.text(alphabet="abcdefgh", min_size=1, max_size=5)


@given(st.lists(st.lists(_WORD, min_size=1, max_size=4), min_size=1, max_size=3))
def test_count_is_the_product_of_group_sizes(groups):
    prompt = " ".join("{" + ", ".join(options) + "}" for options in groups)
    expected = 1
    for options in groups:
        expected *= len(options)
    expansions = expand_permutations(prompt)
    assert len(expansions) == expected == count_permutations(prompt)
    assert expansions[0].prompt == " ".join(options[0] for options in groups)
