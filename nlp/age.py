"""The patient's age as stated in the report ("52-year-old", "Age: 47", "61 yo")."""


import re
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import rules
from .base import RuleComponent, doc_text, drop_caches


class AgeReader(RuleComponent):
    kind = "age"

    def _load(self, directory: Path) -> None:
        data = rules.load_age(directory)
        self.min_age, self.max_age = data.min_age, data.max_age
        # one pass: the patterns as one alternation, group "age" renamed per pattern
        self.rx = re.compile("|".join(
            "(?:" + p.replace("(?P<age>", f"(?P<age{i}>") + ")" for i, p in enumerate(data.patterns)
        ), rules.FLAGS)

    def find(self, text: str) -> Optional[dict]:
        """The first stated age in the accepted range, or None."""
        for m in self.rx.finditer(text):
            name = next(k for k, v in m.groupdict().items() if v is not None)
            age = int(m.group(name))
            if self.min_age <= age <= self.max_age:
                return {"age": age, "start": m.start(name), "end": m.end(name)}
        return None

    def __call__(self, doc: Doc) -> Doc:
        doc._.spine_age = self.find(doc_text(doc))
        drop_caches(doc)  # last component: serialised docs keep no cached copies
        return doc


@Language.factory(
    "spinecontext_age",
    default_config={"patterns_dir": None},
    assigns=["doc._.spine_age"],
)
def make_age(nlp: Language, name: str, patterns_dir: Optional[str]) -> AgeReader:
    """Read the patient's age from the report text.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return AgeReader(nlp, name, patterns_dir=patterns_dir)
