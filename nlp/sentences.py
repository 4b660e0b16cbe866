"""Sentence and line splitting for radiology reports.

Real reports put one finding a line with no full stop, separate findings with
"//", use bullets, and break one sentence over two lines. A rule-based splitter
on the raw text handles that in one regular-expression pass (PyRuSH, medspaCy's
default, is the slowest stage of its pipeline).
"""


import re
from pathlib import Path
from typing import Optional

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, doc_text

#: Up to this many sentences, starts are set token by token; beyond, in one array
#: write. Measured on the long-form reports (10-30 sentences): the array write is
#: already cheaper there (42.6 -> 37.7 us a report at 8), and equal on short notes.
FEW_SENTENCES = 8
TRIM_LEFT = re.compile(r"[\s\-\*•·.,:;)]*")
TRIM_RIGHT = re.compile(r"[\s]*$")


class SentenceSplitter(RuleComponent):
    kind = "sentences"

    def _load(self, directory: Path) -> None:
        data = rules.load_sentences(directory)
        self.breaks = re.compile(data.break_, rules.FLAGS)
        self.glued = re.compile(data.glued_break, rules.FLAGS) if data.glued_break else None
        self.keep = re.compile(r"(?:" + data.keep + r")\s*$", re.IGNORECASE)
        self.continuation = re.compile(data.continuation, rules.FLAGS)

    def split(self, text: str) -> list[list[int]]:
        """Sentences as [start, end] character offsets, trimmed, non-empty."""
        cuts: list[tuple[int, int]] = []
        found = [(m.start(), m.end(), m.group()) for m in self.breaks.finditer(text)]
        if self.glued is not None and "." in text:
            # a stop glued to the next sentence: an empty cut after the stop
            glued = [(m.end(), m.end(), "") for m in self.glued.finditer(text)]
            if glued:
                found = sorted(found + glued)
        for a, b, piece in found:
            if "\n" in piece and "\n\n" not in piece.replace(" ", "").replace("\t", ""):
                # one line break: the next line may carry on this sentence
                prev = text[max(0, a - 2):a].rstrip()
                if not prev.endswith((".", ":")) and self.continuation.match(text, b):
                    continue
            elif piece[:1] in " \t":
                if self.keep.search(text, max(0, a - 12), a):
                    continue
                if text[b:b + 1].islower() and self.continuation.match(text, b):
                    continue  # "...at L5/S1 level. mildly compressing the thecal sac"

            cuts.append((a, b))
        out: list[list[int]] = []
        pos = 0
        for a, b in cuts + [(len(text), len(text))]:
            s, e = pos, a
            s = TRIM_LEFT.match(text, s, e).end()
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                out.append([s, e])
            pos = b
        return out

    def __call__(self, doc: Doc) -> Doc:
        sents = self.split(doc_text(doc))
        ext.put(doc, "spine_sentences", sents)
        if len(doc) and len(sents) <= FEW_SENTENCES:
            # Token.is_sent_start rescans the doc on each write: fine for a few
            doc[0].is_sent_start = True
            for a, b in sents:
                # offsets are of the text the components read, which the speller
                # may have made longer or shorter than the tokens' text: the
                # finish component sets the final starts; here stay inside the doc
                span = doc.char_span(a, b, alignment_mode="expand")
                if span is not None and 0 < span.start < len(doc):
                    doc[span.start].is_sent_start = True
        elif len(doc):
            # many sentences: one array write keeps long reports linear
            idx = doc.to_array("IDX").astype(numpy.int64)
            flags = numpy.zeros(len(doc), dtype=numpy.uint64)
            flags[0] = 1
            first = numpy.searchsorted(idx, numpy.array([a for a, _ in sents], dtype=numpy.int64))
            flags[first[first < len(doc)]] = 1
            doc.from_array([SENT_START], flags.reshape(-1, 1))
        return doc


@Language.factory(
    "spinecontext_sentences",
    default_config={"patterns_dir": None},
    assigns=["token.is_sent_start", "doc._.spine_sentences"],
)
def make_sentences(nlp: Language, name: str, patterns_dir: Optional[str]) -> SentenceSplitter:
    """Split a report into sentences and lines.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return SentenceSplitter(nlp, name, patterns_dir=patterns_dir)
