"""PromptForm, driven as a user would: type, pick, read the messages, press Submit."""

from __future__ import annotations

import pytest

from mjnb.widgets import PromptForm
from mjnb.widgets._style import css


def shown_messages(form: PromptForm) -> dict[str, str]:
    """The red messages a user sees under the controls (not the internal error dict)."""
    return {name: box.value for name, box in form._messages.items() if box.layout.display != "none" and box.value}


def shown_notes(form: PromptForm) -> dict[str, str]:
    return {name: box.value for name, box in form._note_boxes.items() if box.layout.display != "none" and box.value}


def test_typing_a_prompt_enables_submit_and_the_controls_write_into_it():
    form = PromptForm()
    assert form.submit_button.disabled  # nothing to send yet
    form.prompt_text.value = "a lighthouse at dusk"
    form.aspect.value = "3:2"
    form.controls["s"].value = "250"
    assert form.prompt_text.value == "a lighthouse at dusk --ar 3:2 --s 250"  # the control changed the text
    assert form.final_prompt.value == form.prompt == "a lighthouse at dusk --ar 3:2 --s 250"
    assert form.final_prompt.disabled  # read-only
    assert not form.submit_button.disabled


def test_controls_follow_the_typed_prompt_and_the_last_edit_wins():
    form = PromptForm()
    form.prompt_text.value = "a fox --ar 3:2"
    assert form.aspect.value == "3:2"  # the control follows what was typed
    form.aspect.value = "16:9"  # then the user picks another ratio: it replaces the typed one
    assert form.prompt_text.value == "a fox --ar 16:9" and form.errors == {} and not form.submit_button.disabled
    form.prompt_text.value = "a fox --ar 21:9"  # and typing again wins over the control
    assert form.aspect.value == "21:9" and form.prompt == "a fox --ar 21:9"
    form.prompt_text.value = "a fox --ar 7:4"
    assert (form.aspect.value, form.aspect_custom.value) == ("custom", "7:4")
    form.prompt_text.value = "a fox"
    assert form.aspect.value == ""  # nothing typed: the service default


def test_the_form_never_rewrites_what_was_typed_except_the_changed_parameter():
    typed = "https://a/x.png  two cats::2 {red, blue}  —ar 16:9 --stylize 50 --no dogs --no  birds --zoom 1.5 --v 6.0"
    form = PromptForm.from_prompt(typed)
    assert form.prompt_text.value == typed and form.prompt == typed  # byte for byte
    assert form.controls["s"].value == "50" and form.aspect.value == "16:9"
    assert form.controls["no"].value == "dogs, birds"  # both --no values are kept
    assert form.controls["version"].value == "v 6.0" and "as typed" in form.controls["version"].label
    assert form.controls["other"].value == "--zoom 1.5"  # no control of its own: kept in Other
    assert form.controls["images"].value == "https://a/x.png"
    form.controls["c"].value = "10"
    assert form.prompt_text.value == typed + " --c 10"
    form.controls["s"].value = "75"
    assert form.prompt_text.value == typed.replace("--stylize 50", "--stylize 75") + " --c 10"


def test_unknown_parameters_stay_in_other_with_a_note_and_other_can_replace_them():
    form = PromptForm(prompt="a fox --colour red --ar 1:1")
    assert form.controls["other"].value == "--colour red"
    assert "unknown parameter" in shown_notes(form)["other"] and form.errors == {}
    assert not form.submit_button.disabled  # passed through, not refused
    form.controls["other"].value = "--zoom 1.5"
    assert form.prompt_text.value == "a fox --ar 1:1 --zoom 1.5"
    form.controls["other"].value = "a cat"
    assert "other: only --parameters go here, not 'a cat'" in shown_messages(form)["other"]
    assert form.submit_button.disabled and form.prompt_text.value == "a fox --ar 1:1 --zoom 1.5"


@pytest.mark.parametrize(
    "control, value, words",
    [
        ("s", "2000", "--s: 2000 is out of range; allowed: a whole number from 0 to 1000"),
        ("c", "-1", "--c: -1 is out of range"),
        ("seed", "abc", "--seed: 'abc' is not"),
        ("images", "not-a-url", "images: 'not-a-url' is not an image URL"),
    ],
)
def test_a_refused_value_shows_an_inline_message_and_disables_submit(control, value, words):
    form = PromptForm(prompt="a fox")
    assert not form.submit_button.disabled
    form.controls[control].value = value
    assert words in shown_messages(form)[control]
    assert "mjnb-invalid" in form.controls[control]._dom_classes
    assert form.submit_button.disabled and "Submit is off" in form.message.value and "mjnb-error" in form.message.value
    form.controls[control].value = ""
    assert control not in shown_messages(form)
    assert not form.submit_button.disabled and form.prompt_text.value == "a fox"


def test_a_custom_aspect_ratio_is_checked():
    form = PromptForm(prompt="a fox")
    form.aspect.value = "custom"
    assert form.aspect_custom.layout.display != "none"
    assert "write a custom ratio as W:H" in shown_messages(form)["ar"]
    form.aspect_custom.value = "3:0"
    assert "--ar: '3:0' is not allowed; allowed: W:H" in shown_messages(form)["ar"]
    form.aspect_custom.value = "5:4"
    assert form.prompt == "a fox --ar 5:4" and form.errors == {}


def test_a_parameter_the_dialect_refuses_is_disabled_with_a_note_not_an_error():
    form = PromptForm(dialect="evolink", prompt="a fox --s 100")
    version = form.controls["version"]
    assert version.disabled and "locked to V7" in version.tooltip
    assert "version" not in shown_messages(form)  # nothing is wrong: no red block under Version
    assert "not accepted by evolink" in shown_notes(form)["version"]
    assert "mjnb-note" in form._note_boxes["version"]._dom_classes
    assert "mjnb-field-error" not in form._note_boxes["version"]._dom_classes
    assert ".mjnb-note" in css() and "#dc2626" not in css().split(".mjnb-note")[1].split("}")[0]
    assert not form.submit_button.disabled and form.message.value == ""
    form.prompt_text.value = "a fox --v 6.1"  # typed anyway: now it is an error, under its control
    assert "--v: not accepted by evolink" in shown_messages(form)["version"] and form.submit_button.disabled
    form.set_dialect("mjproxy")
    assert not version.disabled and version.value == "v 6.1" and form.errors == {}
    assert form.prompt == "a fox --v 6.1"


def test_evolink_refuses_the_speeds_it_lacks_in_the_text_and_the_control():
    form = PromptForm(dialect="evolink", prompt="a fox")
    form.prompt_text.value = "a fox --relax"
    assert "--relax: not offered by evolink; speeds are fast, turbo, draft" in shown_messages(form)["speed"]
    form.prompt_text.value = "a fox --turbo"
    assert form.errors == {} and form.controls["speed"].value == "turbo" and form.mode is None  # typed: in the prompt
    form.prompt_text.value = "a fox"
    assert form.controls["speed"].value == ""  # the typed flag is gone: so is the speed it set
    form.controls["speed"].value = "relax"
    assert "speed: evolink does not take 'relax'; allowed: fast, turbo, draft" in shown_messages(form)["speed"]
    form.controls["speed"].value = "draft"
    assert form.errors == {} and form.value["mode"] == "draft"


def test_picking_a_speed_replaces_a_typed_speed_flag():
    form = PromptForm(prompt="a fox --relax --s 10")
    form.controls["speed"].value = "fast"
    assert form.prompt_text.value == "a fox --s 10" and form.mode == "fast"


def test_an_empty_prompt_says_why_submit_is_off():
    form = PromptForm()
    assert form.submit_button.disabled
    assert "Submit is off: write a prompt first" in form.message.value and "mjnb-note" in form.message.value
    assert form.submit_button.tooltip.startswith("Submit is off: write a prompt first")
    form.prompt_text.value = "https://a/x.png"
    assert "one image URL needs some text too" in form.message.value
    form.prompt_text.value = "a fox"
    assert form.message.value == "" and not form.submit_button.disabled


def test_submit_calls_back_with_the_value_only_when_valid():
    form = PromptForm()
    sent = []
    form.on_submit(sent.append)
    form.submit_button.click()
    assert sent == [] and "write a prompt first" in form.message.value
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


def test_set_prompt_and_the_prompt_trait_load_text_exactly():
    form = PromptForm()
    form.set_prompt("a fox  --q .5")
    assert form.prompt_text.value == "a fox  --q .5" and form.controls["q"].value == ".5"
    form.prompt = "a cat --q 0.5"
    assert form.prompt_text.value == "a cat --q 0.5" and form.controls["q"].value == "0.5"


def test_long_hints_end_with_an_ellipsis_and_show_in_full_as_a_tooltip():
    form = PromptForm()
    stylize = form.controls["s"]
    assert stylize.placeholder == "0–1000 · default 100"
    assert stylize.tooltip == "Stylize: 0–1000 · default 100"  # the whole text, whatever the width
    assert "mjnb-ellipsis" in stylize._dom_classes
    assert "text-overflow: ellipsis" in css()
    for name in ("s", "c", "w", "seed", "no", "sref", "other"):
        control = form.controls[name]
        assert "mjnb-ellipsis" in control._dom_classes and control.placeholder in control.tooltip


def test_every_control_carries_its_css_classes():
    form = PromptForm()
    assert "mjnb-prompt" in form._dom_classes
    assert "mjnb-submit" in form.submit_button._dom_classes
    assert "mjnb-prompt-text" in form.prompt_text._dom_classes
    assert "mjnb-final-prompt" in form.final_prompt._dom_classes
    for name, control in form.controls.items():
        assert {"mjnb-param", f"mjnb-param-{name}"} <= set(control._dom_classes), name
