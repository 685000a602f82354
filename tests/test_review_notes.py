"""Officers' reasons and notes (R23, R34, R36), and the desk's colours (WCAG 2.1 AA).

An officer chooses a documented reason code and may add a note; the one screen every
review path uses refuses a note that carries a taxpayer value (a TIN-like number, a
date, a name or address of the record or its candidates), without repeating it. The
web pages' colours meet WCAG 2.1 AA contrast: 4.5:1 for text, 3:1 for the bars of the
charts, computed from the stylesheet and the templates themselves.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from taxgate.review_reasons import (
    DECISION_REASONS,
    NOTE_MAX,
    SEND_BACK,
    decision_reasons,
    note_problem,
)

RECORD = ["JOSÉ", "María", "GARCIA LOPEZ", "123 N Main St", "Apt 4", "Houston", "77001"]
WEB = Path(__file__).parents[1] / "taxgate" / "web"


@pytest.mark.parametrize("note", [
    "TIN 123-45-6789 matches", "SSN 123456789", "ITIN 912 34 5678", "zip 77001 differs",
    "born 1980-03-04", "born 3/4/80", "dob 04.03.1980", "born March 4", "4 Mar 1980",
    "Jose lives there", "given name MARIA agrees", "garcía is the surname",
    "street Main agrees", "the city Houston agrees", "house number 123 agrees",
])
def test_r34_a_note_with_a_taxpayer_value_is_refused(note):
    problem = note_problem(note, RECORD)
    assert problem is not None
    assert note not in problem and "6789" not in problem and "Main" not in problem


@pytest.mark.parametrize("note", [
    "Nickname of the given name; the birth year agrees",
    "Two candidates at the address; only one fits the TIN given",
    "checked by hand", "",
])
def test_r34_a_note_without_taxpayer_values_is_kept(note):
    assert note_problem(note, RECORD) is None


def test_r34_control_characters_and_overlong_notes_are_refused():
    assert note_problem("fine\u202etext", RECORD) is not None
    assert note_problem("x" * (NOTE_MAX + 1), RECORD) is not None


def test_r23_every_outcome_and_send_back_has_documented_reasons():
    docs = (Path(__file__).parents[1] / "docs" / "review-reasons.md").read_text("utf-8")
    for applies in ("CONFIRMED", "NOT_CONFIRMED", SEND_BACK):
        assert decision_reasons(applies), applies
    for code in DECISION_REASONS:
        assert f"`{code}`" in docs
    assert not set(r.code for r in decision_reasons("CONFIRMED")) & set(
        r.code for r in decision_reasons("NOT_CONFIRMED"))


# --- WCAG 2.1 AA contrast ------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_wcag_reference_values():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the grey that fails AA
    assert contrast("#767676", "#ffffff") >= 4.5


def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        props = dict((k.strip(), v.strip()) for k, _, v in
                     (d.partition(":") for d in body.split(";") if ":" in d))
        out.append((selector.strip(), props))
    return out


def test_wcag_aa_text_contrast_of_every_rule_of_the_stylesheet():
    """Each rule that sets a text colour meets 4.5:1 against its own background (the page's
    white when it sets none); each background meets 4.5:1 under the page's text colour."""
    rules = _rules((WEB / "static" / "style.css").read_text("utf-8"))
    body = dict(rules)["body"]
    text, page = body["color"], body["background"]
    checked = 0
    for selector, props in rules:
        bg = props.get("background", page)
        bg = page if bg == "transparent" else bg
        if "color" in props or "background" in props:
            if not bg.startswith("#"):
                continue
            ratio = contrast(props.get("color", text), bg)
            assert ratio >= 4.5, f"{selector}: {ratio:.2f}:1"
            checked += 1
        if "outline" in props:  # the focus ring: a non-text indicator, 3:1 on the page
            colour = re.search(r"#[0-9a-fA-F]{3,6}", props["outline"]).group(0)
            assert contrast(colour, page) >= 3.0, selector
    assert checked >= 10


def test_wcag_aa_chart_colours_contrast_with_the_page():
    """Bars and the zero line of the charts (non-text, WCAG 1.4.11) meet 3:1 on white."""
    colours = set()
    for template in WEB.joinpath("templates").glob("*.html"):
        colours |= set(re.findall(r'(?:fill|stroke)="(#[0-9a-fA-F]{3,6})"',
                                  template.read_text("utf-8")))
    assert {"#1f4e79", "#a4262c"} <= colours
    for c in colours:
        assert contrast(c, "#ffffff") >= 3.0, c
