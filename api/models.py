"""Request and response models. Responses are the JSON contract's own models
(:mod:`spinecontext.result`), so ``/openapi.json`` documents the contract."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from ..result import ReportResult
from .errors import ErrorBody

OutputFormat = Literal["json", "text", "md", "html"]

AGE = Field(default=None, ge=0, le=120, description="Patient age in years; it wins over an age stated in the report. Without one, the report's stated age (or date of birth and exam date) is used.")


class AnnotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="The report, as plain text (limit: 200,000 bytes of UTF-8 by default; over it gives 413).")
    age: Optional[int] = AGE
    format: OutputFormat = Field(default="json", description="json: the JSON contract. text or md: the report unchanged with the context appended. html: a self-contained page.")
    id: str = Field(default="report", min_length=1, max_length=200, description="An id for the report, echoed in the result.")


class AppendixRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="The report, as plain text.")
    age: Optional[int] = AGE


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Optional[str] = Field(default=None, max_length=200, description="An id for the report; defaults to its 1-based position.")
    text: str
    age: Optional[int] = AGE


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reports: list[BatchItem] = Field(min_length=1, description="The reports (limit: 100 by default; over it gives 413).")


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
