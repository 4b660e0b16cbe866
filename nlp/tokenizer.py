"""spaCy's English tokenizer, keeping the report text for the components.

``Doc.text`` is rebuilt from the tokens on every access; the components read
the text several times per report, so the tokenizer stores the string it was
given in ``doc.user_data`` (see :data:`base.TEXT_KEY`), and the last
component removes it again so serialised docs hold the text once.
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


@registry.tokenizers("spinecontext.Tokenizer.v1")
def create_tokenizer() -> Callable[[Language], TextKeepingTokenizer]:
    """spaCy's default tokenizer for the language, keeping the input text."""
    base = registry.tokenizers.get("spacy.Tokenizer.v1")()

    def factory(nlp: Language) -> TextKeepingTokenizer:
        return TextKeepingTokenizer(base(nlp))

    return factory
