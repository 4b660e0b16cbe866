"""spaCy's English tokenizer, keeping the report text for the components.

``Doc.text`` is rebuilt from the tokens on every access; the components read
the text several times per report, so the tokenizer stores the string it was
given in ``doc.user_data`` (see :data:`base.TEXT_KEY`), and the last
component removes it again so serialised docs hold the text once.

By default it also leaves out spaCy's special cases that hold no letter: the
emoticons (``:(``, ``):``, ``=)``, ``<3`` ...). Reports hold none, and in
reports those rules only go wrong: "level :(disscating" gave a ``:(`` token,
"(with contrast):" a ``):`` token. They are also dear: a special case made of
prefix or suffix characters makes spaCy run its special-case matcher over
every text and keeps the words around it out of its cache, so without them the
tokenizer takes about 0.4 of the time on the shared corpora (0.6 on texts it
has not seen). Every other special case ("e.g.", "Dr.", "and/or", "cannot",
"don't") is kept, and so are the prefix, suffix and infix rules: tokens differ
from spaCy's only where a letterless special case applied. ``emoticons=true``
in the tokenizer's config keeps them all.
"""

from typing import Callable, Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry

from .base import TEXT_KEY


class TextKeepingTokenizer:
    """Wraps a spaCy tokenizer; everything but ``__call__`` is delegated."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __call__(self, text: str) -> Doc:
        doc = self.inner(text)
        doc.user_data[TEXT_KEY] = text
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    def to_disk(self, path, **kwargs) -> None:
        self.inner.to_disk(path, **kwargs)

    def from_disk(self, path, **kwargs) -> "TextKeepingTokenizer":
        self.inner.from_disk(path, **kwargs)
        return self

    def to_bytes(self, **kwargs) -> bytes:
        return self.inner.to_bytes(**kwargs)

    def from_bytes(self, data: bytes, **kwargs) -> "TextKeepingTokenizer":
        self.inner.from_bytes(data, **kwargs)
        return self

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def without_emoticons(rules: dict) -> dict:
    """The special cases that hold a letter (spaCy's emoticons hold none)."""
    return {key: value for key, value in rules.items() if any(c.isalpha() for c in key)}


@registry.tokenizers("spinecontext.Tokenizer.v1")
def create_tokenizer(emoticons: bool = False) -> Callable[[Language], TextKeepingTokenizer]:
    """spaCy's default tokenizer for the language, keeping the input text.

    emoticons: keep spaCy's letterless special cases (":(", "):", "<3" ...),
        which reports do not hold and which slow the tokenizer (module docstring).
    """
    base = registry.tokenizers.get("spacy.Tokenizer.v1")()

    def factory(nlp: Language) -> TextKeepingTokenizer:
        inner = base(nlp)
        if not emoticons:
            inner.rules = without_emoticons(inner.rules)
        return TextKeepingTokenizer(inner)

    return factory
