"""The spinecontext spaCy pipeline, built from the rule files in ``patterns/``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import spacy
from spacy.language import Language

from . import extensions  # noqa: F401  (registers extensions)
# Importing the component modules registers their factories even where the
# package's entry points are not installed (e.g. running from a source tree).
from . import age, assertion, attributes, change, findings, levels, notes, prevalence, sections, sentences, spelling, tokenizer  # noqa: F401

#: Pipeline components, in order.
PIPE_NAMES = (
    "spinecontext_spelling",
    "spinecontext_sections",
    "spinecontext_sentences",
    "spinecontext_levels",
    "spinecontext_findings",
    "spinecontext_assertion",
    "spinecontext_attributes",
    "spinecontext_change",
    "spinecontext_age",
    "spinecontext_prevalence",
    "spinecontext_notes",
    "spinecontext_finish",
)

#: spaCy refuses longer texts; reports above this are rejected with a clear error.
MAX_CHARS = 1_000_000


def build(patterns_dir: Optional[Union[str, Path]] = None) -> Language:
    """A new ``Language`` with every spinecontext component.

    patterns_dir: a folder of rule files laid out like ``patterns/`` to use
    instead of the packaged rules (for editing and testing rules).
    """
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "spinecontext.Tokenizer.v1"}}})
    nlp.max_length = MAX_CHARS
    cfg = {"patterns_dir": str(patterns_dir) if patterns_dir else None}
    for name in PIPE_NAMES:
        nlp.add_pipe(name, config=cfg if name != "spinecontext_finish" else {})
    return nlp
