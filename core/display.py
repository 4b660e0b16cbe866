"""displaCy options for spinecontext Docs: our findings, a colour per finding group.

    >>> from spacy import displacy
    >>> from spinecontext.display import displacy_options
    >>> html = displacy.render(doc, style="span", options=displacy_options())

displaCy's span style draws ``doc.spans["spine_findings"]`` (overlapping
mentions stacked), each labelled with its finding id; :func:`finding_labels`
gives the plain names for a legend. medspaCy's ``visualize_ent`` draws the
same Doc with its ConText modifiers and sections (``doc.ents``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

#: One colour per finding group (light enough for black text).
GROUP_COLORS = {
    "common": "#a6cee3",      # light blue: common with age, also in people without back pain
    "incidental": "#b2df8a",  # light green: incidental findings
    "red_flag": "#fb9a99",    # light red: needs the clinician's attention
}

SPANS_KEY = "spine_findings"


def _rules(patterns_dir):
    from .nlp import rules

    return rules.load_findings(rules.resolve_dir(patterns_dir))


def displacy_options(patterns_dir: Optional[Union[str, Path]] = None,
                     group_colors: Optional[dict[str, str]] = None) -> dict:
    """Options for ``displacy.render(doc, style="span", options=...)``: the span key of our
    findings and each finding id's colour (that of its group; ``group_colors`` to change them)."""
    colours = {**GROUP_COLORS, **(group_colors or {})}
    return {"spans_key": SPANS_KEY, "colors": {r.id: colours[r.group] for r in _rules(patterns_dir)}}


def finding_labels(patterns_dir: Optional[Union[str, Path]] = None) -> dict[str, str]:
    """Finding id -> plain name ("disc_bulge" -> "disc bulge"), for a legend."""
    return {r.id: r.label for r in _rules(patterns_dir)}
