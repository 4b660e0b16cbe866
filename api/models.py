"""Request and response models. Responses are the JSON contract's own models
(:mod:`spinecontext.result`), so ``/openapi.json`` documents the contract."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..result import ReportResult
from .errors import ErrorBody

OutputFormat = Literal["json", "text", "md", "html"]

AGE = Field(default=None, description="Patient age in years; it wins over an age stated in the report. Without one, the report's stated age (or date of birth and exam date) is used.")




def _json_integer(value):
    """A JSON Schema integer: 52 or 52.0, but not true or "52" (no silent coercion)."""
    if isinstance(value, (bool, str)):
        raise ValueError("must be a whole number")
    return value


#: Age in a JSON body, 0-120: integer per JSON Schema (52.0 is allowed, true and "52" are not).
JsonAge = Annotated[int, Field(ge=0, le=120), BeforeValidator(_json_integer)]
STRICT = ConfigDict(extra="forbid")


class AnnotateRequest(BaseModel):
    model_config = STRICT
    text: str = Field(description="The report, as plain text (limit: 200,000 bytes of UTF-8 by default; over it gives 413).")
    age: Optional[JsonAge] = AGE
    format: OutputFormat = Field(default="json", description="json: the JSON contract. text or md: the report unchanged with the context appended. html: a self-contained page.")
    id: str = Field(default="report", min_length=1, max_length=200, description="An id for the report, echoed in the result.")


class CompareReport(BaseModel):
    model_config = STRICT
    text: str = Field(pattern=r"\S", description="The report, as plain text: not empty or only spaces (422), at most 200,000 bytes of UTF-8 by default (413).")
    age: Optional[JsonAge] = AGE
    id: Optional[str] = Field(default=None, min_length=1, max_length=200, description="An id for the report, echoed in the result (default: 'prior' or 'current').")


class CompareRequest(BaseModel):
    model_config = STRICT
    prior: CompareReport = Field(description="The earlier report.")
    current: CompareReport = Field(description="The newer report.")
    format: Literal["json", "md", "html"] = Field(default="json", description="json: both results and the changes (CompareResult). md: Markdown. html: a self-contained page.")


class AppendixRequest(BaseModel):
    model_config = STRICT
    text: str = Field(description="The report, as plain text.")
    age: Optional[JsonAge] = AGE


class BatchItem(BaseModel):
    model_config = STRICT
    id: Optional[str] = Field(default=None, max_length=200, description="An id for the report; defaults to its 1-based position.")
    text: str
    age: Optional[JsonAge] = AGE


class BatchRequest(BaseModel):
    model_config = STRICT
    reports: list[BatchItem] = Field(min_length=1, description="The reports (at most 100 by default, see maxItems; more gives 422 too_many_reports).")


class BatchResult(BaseModel):
    id: str
    result: Optional[ReportResult] = Field(default=None, description="The contract for this report, or null when it failed.")
    error: Optional[ErrorBody] = Field(default=None, description="Why this report failed (e.g. text over the limit); the others still come back.")


class BatchResponse(BaseModel):
    results: list[BatchResult] = Field(description="One entry per input report, in input order.")
    annotated: int
    failed: int


class Health(BaseModel):
    status: Literal["ok"]


class Version(BaseModel):
    spinecontext: str
    spacy: str
    pipeline: list[str] = Field(description="The pipeline's components, in order.")
    limits: dict[str, int] = Field(description="Request limits in force (bytes, counts).")
