"""The patient's age as stated in the report ("52-year-old", "Age: 47", "61 yo")."""


import re
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import rules
from .base import RuleComponent


class AgeReader(RuleComponent):
    kind = "age"

    def _load(self, directory: Path) -> None:
        data = rules.load_age(directory)
        self.min_age, self.max_age = data.min_age, data.max_age
        self.patterns = [re.compile(p, rules.FLAGS) for p in data.patterns]

    def find(self, text: str) -> Optional[dict]:
        best = None
        for rx in self.patterns:
            for m in rx.finditer(text):
                age = int(m.group("age"))
                if self.min_age <= age <= self.max_age:
                    if best is None or m.start() < best["start"]:
                        best = {"age": age, "start": m.start("age"), "end": m.end("age")}
                    break
        return best

    def __call__(self, doc: Doc) -> Doc:
        doc._.spine_age = self.find(doc.text)
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
