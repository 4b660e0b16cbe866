"""Rendered outputs: the report text unchanged, escaped in HTML, context appended."""

import pytest

from spinecontext.render import report_text_from_html, to_html, to_markdown, to_text

TEXTS = [
    "L4-L5: mild disc bulge.\nL5-S1: extrusion compressing the S1 nerve root.\n",
    "LSS MRI :\r\n<script>alert('x')</script> disc bulge at L4-5 & facet arthropathy <img src=x onerror=alert(1)>",
    "```\nL4-5 ```` protrusion\n~~~ café – naïve \u00a0 tab\tend",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_text_and_markdown_keep_the_report_byte_for_byte(annotate, text):
    r = annotate(text, age=50)
    assert to_text(text, r).startswith(text)
    assert text.encode("utf-8") in to_markdown(text, r).encode("utf-8")


@pytest.mark.parametrize("text", TEXTS)
def test_html_keeps_and_escapes_the_report(annotate, text):
    r = annotate(text, age=50)
    page = to_html(text, r)
    assert report_text_from_html(page) == text
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")


def test_markdown_fence_outlasts_backticks(annotate):
    text = "a ```` b"
    md = to_markdown(text, annotate(text))
    assert "`````text\n" + text + "\n`````" in md


def test_html_sections(annotate):
    text = "L4-L5: disc bulge. L5-S1: disc extrusion compressing the S1 nerve root. No fracture."
    page = to_html(text, annotate(text, age=50))
    assert page.index('id="attention"') < page.index('id="findings"')
    assert 'role="img"' in page and "About 60 of 100 people aged 50 without back pain have this" in page
    assert "http://" not in page and "https://" not in page  # self-contained
