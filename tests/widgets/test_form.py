"""PromptForm, driven as a user would: type, pick, read the messages, press Submit."""

from __future__ import annotations

import pytest

from mjnb.widgets import PromptForm


def shown_messages(form: PromptForm) -> dict[str, str]:
    """The inline messages a user sees under the controls (not the internal error dict)."""
    return {name: box.value for name, box in form._messages.items() if box.layout.display != "none" and box.value}


def test_typing_a_prompt_enables_submit_and_shows_the_final_prompt():
    form = PromptForm()
    assert form.submit_button.disabled  # nothing to send yet
    form.prompt_text.value = "a lighthouse at dusk"
    form.aspect.value = "3:2"
    form.controls["s"].value = "250"
    assert form.final_prompt.value == "a lighthouse at dusk --ar 3:2 --s 250"
    assert form.final_prompt.disabled  # read-only
    assert form.prompt == form.final_prompt.value
    assert not form.submit_button.disabled


def test_from_prompt_puts_each_parameter_in_its_control():
    form = PromptForm.from_prompt(
        "https://a/x.png https://a/y.png two cats --ar 7:4 --niji 6 --s 50 --c 10 --w 20 --q 2 --seed 7 "
        "--no dogs --tile --style raw --turbo --sref https://a/s.png --sw 300 --zoom 1.5"
    )
    assert form.prompt_text.value == "https://a/x.png https://a/y.png two cats"
    assert (form.aspect.value, form.aspect_custom.value) == ("custom", "7:4")
    assert form.controls["version"].value == "niji 6"
    assert [form.controls[n].value for n in ("s", "c", "w", "q", "seed", "no", "sref", "sw")] == [
        "50", "10", "20", "2", "7", "dogs", "https://a/s.png", "300"]
    assert form.controls["tile"].value and form.controls["raw"].value
    assert form.controls["speed"].value == "turbo"
    assert form.controls["other"].value == "--zoom 1.5"  # no control of its own: kept, not lost
    assert form.mode == "turbo"
    assert "--turbo" not in form.prompt  # speed is sent as the job's mode
    assert form.errors == {}


def test_from_prompt_round_trips_a_plain_prompt():
    assert PromptForm.from_prompt("a lighthouse at dusk --ar 3:2 --s 250").prompt == "a lighthouse at dusk --ar 3:2 --s 250"


@pytest.mark.parametrize(
    "control, value, words",
    [
        ("s", "2000", "--s: 2000 is out of range; allowed: a whole number from 0 to 1000"),
        ("c", "-1", "--c: -1 is out of range"),
        ("seed", "abc", "--seed: 'abc' is not a number"),
        ("iw", "2", "--iw: needs an image prompt"),
        ("images", "not-a-url", "images: 'not-a-url' is not an image URL"),
        ("other", "--bogus 3", "unknown parameter --bogus"),
    ],
)
def test_a_refused_value_shows_an_inline_message_and_disables_submit(control, value, words):
    form = PromptForm(prompt="a fox")
    assert not form.submit_button.disabled
    form.controls[control].value = value
    assert words in shown_messages(form)[control]
    assert "mjnb-invalid" in form.controls[control]._dom_classes
    assert form.submit_button.disabled
    form.controls[control].value = ""
    assert control not in shown_messages(form)
    assert not form.submit_button.disabled


def test_a_custom_aspect_ratio_is_checked():
    form = PromptForm(prompt="a fox")
    form.aspect.value = "custom"
    assert form.aspect_custom.layout.display != "none"
    form.aspect_custom.value = "3:0"
    assert "--ar: '3:0' is not allowed; allowed: W:H" in shown_messages(form)["ar"]
    form.aspect_custom.value = "5:4"
    assert form.prompt == "a fox --ar 5:4"


def test_parameters_typed_in_the_text_are_kept_and_checked():
    form = PromptForm()
    form.prompt_text.value = "a fox --s 300 --tile"
    assert form.prompt == "a fox --s 300 --tile"
    form.controls["s"].value = "100"  # the same parameter twice, with two values
    assert "--s is set twice" in shown_messages(form)["text"]
    assert form.submit_button.disabled
    form.prompt_text.value = "a fox --s 5000"
    form.controls["s"].value = ""
    assert "--s: 5000 is out of range" in shown_messages(form)["text"]  # shown where it was typed


def test_a_parameter_the_dialect_refuses_is_disabled_with_the_reason():
    form = PromptForm.from_prompt("a fox --v 6.1 --s 100")
    form.set_dialect("evolink")
    version = form.controls["version"]
    assert version.disabled
    assert "not accepted by evolink" in version.tooltip and "locked to V7" in version.tooltip
    assert "not accepted by evolink" in shown_messages(form)["version"]
    assert version.value == "v 6.1"  # kept, so switching back loses nothing
    assert form.prompt == "a fox --s 100"
    assert not form.submit_button.disabled
    form.set_dialect("mjproxy")
    assert not version.disabled and "version" not in shown_messages(form)
    assert form.prompt == "a fox --v 6.1 --s 100"


def test_evolink_refuses_the_speeds_it_lacks_in_the_text_and_the_control():
    form = PromptForm(dialect="evolink", prompt="a fox")
    form.prompt_text.value = "a fox --relax"
    assert "--relax: not offered by evolink; speeds are fast, turbo, draft" in shown_messages(form)["text"]
    form.prompt_text.value = "a fox --turbo"
    assert form.errors == {}
    form.prompt_text.value = "a fox"
    form.controls["speed"].value = "relax"
    assert "speed: evolink does not take 'relax'; allowed: fast, turbo, draft" in shown_messages(form)["speed"]
    form.controls["speed"].value = "draft"
    assert form.errors == {} and form.value["mode"] == "draft"


def test_submit_calls_back_with_the_value_only_when_valid():
    form = PromptForm()
    sent = []
    form.on_submit(sent.append)
    form.submit_button.click()
    assert sent == [] and "write what to imagine" in form.message.value
    form.prompt_text.value = "a fox"
    form.controls["c"].value = "500"
    form.submit()  # programmatic press: refused the same way
    assert sent == [] and "--c: 500 is out of range" in form.message.value
    form.controls["c"].value = "50"
    form.controls["speed"].value = "relax"
    form.submit_button.click()
    assert [(v["prompt"], v["mode"], v["params"]) for v in sent] == [("a fox --c 50", "relax", {"c": "50"})]


def test_a_failing_callback_keeps_the_form_and_says_why():
    form = PromptForm(prompt="a fox --s 10")

    def broken(value):
        raise RuntimeError("the service is down")

    form.on_submit(broken)
    form.submit_button.click()
    assert "the service is down" in form.message.value
    assert form.prompt == "a fox --s 10"


def test_an_unparseable_prompt_is_kept_whole_with_the_reason():
    form = PromptForm.from_prompt("a fox --colour red")
    assert form.prompt_text.value == "a fox --colour red"
    assert "unknown parameter --colour" in shown_messages(form)["text"]
    assert form.submit_button.disabled


def test_every_control_carries_its_css_classes():
    form = PromptForm()
    assert "mjnb-prompt" in form._dom_classes
    assert "mjnb-submit" in form.submit_button._dom_classes
    assert "mjnb-prompt-text" in form.prompt_text._dom_classes
    assert "mjnb-final-prompt" in form.final_prompt._dom_classes
    for name, control in form.controls.items():
        assert {"mjnb-param", f"mjnb-param-{name}"} <= set(control._dom_classes), name
