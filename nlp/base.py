"""Shared plumbing of spinecontext components: rule directory and to/from_disk."""

from __future__ import annotations

import shutil
from bisect import bisect_right
from operator import itemgetter
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import raise_error

from . import extensions, rules


class ErrorHandling:
    """spaCy's error-handler protocol (as ``spacy.pipeline.Pipe``): ``nlp.set_error_handler``
    reaches the component, and ``Language.__call__``/``pipe`` use the handler it returns."""

    def set_error_handler(self, error_handler: Callable) -> None:
        self.error_handler = error_handler

    def get_error_handler(self) -> Callable:
        return getattr(self, "error_handler", raise_error)


class RuleComponent(ErrorHandling):
    """A pipeline component whose behaviour comes from files in ``patterns/``.

    ``to_disk`` copies the rule files the component reads into the saved
    pipeline, and ``from_disk`` reads them back, so a saved pipeline carries
    its rules and ``spacy.load(dir)`` behaves exactly as the pipeline that was
    saved, even if the package's own rule files change later.
    """

    kind: str = ""

    def __init__(self, nlp: Language, name: str, *, patterns_dir: Optional[str] = None) -> None:
        extensions.register()
        self.name = name
        self.patterns_dir = patterns_dir
        self._load(rules.resolve_dir(patterns_dir))

    def _load(self, directory: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _files(self, directory: Path) -> Iterable[Path]:
        for pattern in rules.FILES[self.kind]:
            yield from sorted(directory.glob(pattern))

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        source = rules.resolve_dir(self.patterns_dir)
        for f in self._files(source):
            target = path / f.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> "RuleComponent":
        path = Path(path)
        if any(path.iterdir()):
            self._load(path)
        return self


def sentence_index(sentences: list[list[int]], pos: int) -> int:
    """Index of the sentence holding character ``pos``: the last one starting at or before it (0 if none)."""
    return max(0, bisect_right(sentences, pos, key=itemgetter(0)) - 1)


def set_finding_spans(doc: Doc, findings: list[dict]) -> None:
    """``doc.spans["spine_findings"]``: one span per finding mention, labelled with its id.

    For a report read through spelling corrections the offsets are those of
    the corrected text until the last component maps them back and builds
    the spans (``spelling.restore``), so they are not built here.
    """
    if SPELLING_KEY in doc.user_data:
        return
    spans = extensions.record_spans(doc, findings, "finding")
    doc.spans["spine_findings"] = spans
    doc.user_data[SPANS_KEY] = spans


def set_entities(doc: Doc) -> None:
    """``doc.ents``: the finding spans that overlap no other, earliest first (the longest of
    those starting together), so that medspaCy's tools reading ``doc.ents`` see the findings.

    Called by the last component, from the spans the components built last.
    """
    spans = doc.user_data.pop(SPANS_KEY, None)
    if not spans:
        return
    kept = []
    end = -1
    for span in sorted(spans, key=_start_then_longest):
        if span.start >= end:
            kept.append(span)
            end = span.end
    doc.set_ents(kept, default="unmodified")


def _start_then_longest(span) -> tuple[int, int]:
    return span.start, -span.end


#: ``Doc.text`` is rebuilt from the tokens on every access (tens of microseconds
#: a report), so the first component caches it here and the last one removes
#: it, keeping serialised docs free of a second copy of the text.
TEXT_KEY = "spinecontext.text"


#: ``doc.user_data`` key of a report read through spelling corrections (see
#: ``spelling.py``): {"text": the original report, "fixes": [...]}. Only there
#: between the first component and the last, and only when a word was corrected.
SPELLING_KEY = "spinecontext.spelling"


def doc_text(doc: Doc) -> str:
    text = doc.user_data.get(TEXT_KEY)
    if text is None:
        text = doc.user_data[TEXT_KEY] = doc.text
    return text


#: ``doc.user_data`` key of the finding spans last built, for ``doc.ents``: the last
#: component takes them (``set_entities``), so serialised docs hold no Span objects.
SPANS_KEY = "spinecontext.finding_spans"

#: Per-report caches shared by the components, removed with the text.
CACHE_KEYS = (TEXT_KEY, "spinecontext.words", "spinecontext.words+punct")


def doc_word_starts(doc: Doc, punctuation: bool) -> list[int]:
    """Word starts (and, if asked, punctuation marks) of the report, computed once."""
    from .scan import word_starts

    key = CACHE_KEYS[2 if punctuation else 1]
    starts = doc.user_data.get(key)
    if starts is None:
        starts = doc.user_data[key] = word_starts(doc_text(doc), punctuation=punctuation)
    return starts


def drop_caches(doc: Doc) -> None:
    for key in CACHE_KEYS:
        doc.user_data.pop(key, None)
