"""Sentence and line splitting for radiology reports.

Real reports put one finding a line with no full stop, separate findings with
"//", use bullets, and break one sentence over two lines. A rule-based splitter
on the raw text handles that in one regular-expression pass (PyRuSH, medspaCy's
default, is the slowest stage of its pipeline).
"""


import re
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import rules
from .base import RuleComponent, doc_text

TRIM_LEFT = re.compile(r"[\s\-\*•·.,:;)]*")
TRIM_RIGHT = re.compile(r"[\s]*$")


class SentenceSplitter(RuleComponent):
    kind = "sentences"

    def _load(self, directory: Path) -> None:
        data = rules.load_sentences(directory)
        self.breaks = re.compile(data.break_, rules.FLAGS)
        self.keep = re.compile(r"(?:" + data.keep + r")\s*$", re.IGNORECASE)
        self.continuation = re.compile(data.continuation, rules.FLAGS)

    def split(self, text: str) -> list[list[int]]:
        """Sentences as [start, end] character offsets, trimmed, non-empty."""
        cuts: list[tuple[int, int]] = []
        for m in self.breaks.finditer(text):
            a, b = m.start(), m.end()
            piece = m.group()
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
        doc._.spine_sentences = sents
        if len(doc):
            # Only sentence starts are marked; spaCy reads unmarked tokens as
            # sentence-internal once any token is marked.
            doc[0].is_sent_start = True
            for s, e in sents:
                span = doc.char_span(s, e, alignment_mode="expand")
                if span is not None and len(span) and span.start > 0:
                    doc[span.start].is_sent_start = True
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
