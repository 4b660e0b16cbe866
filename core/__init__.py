"""spinecontext: lumbar spine MRI findings with age-matched, plain-language context.

    >>> import spinecontext
    >>> nlp = spinecontext.load()
    >>> result = spinecontext.annotate(nlp, "L4-L5: mild disc bulge.", report_id="r1", age=52)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Optional, Union

from spacy.language import Language

try:
    __version__ = version("spinecontext")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"


def load(patterns_dir: Optional[Union[str, Path]] = None) -> Language:
    """Build the spinecontext pipeline from the packaged rule files (or ``patterns_dir``)."""
    from .nlp import build

    return build(patterns_dir)


def make_doc(nlp: Language, text: str, age: Optional[int] = None):
    """A Doc ready for ``nlp(doc)`` / ``nlp.pipe``, carrying the caller's age (which wins over the report's)."""
    doc = nlp.make_doc(text)
    if age is not None:
        doc._.spine_given_age = int(age)
    return doc


def annotate(nlp: Language, text: str, *, report_id: str = "report", age: Optional[int] = None):
    """Run the pipeline on one report and return its :class:`~spinecontext.result.ReportResult`."""
    from .result import from_doc

    return from_doc(nlp(make_doc(nlp, text, age)), report_id=report_id)


__all__ = ["__version__", "load", "make_doc", "annotate"]
