"""Liveness and version."""

from __future__ import annotations

import spacy
from fastapi import APIRouter, Depends
from spacy.language import Language

from ... import __version__
from ..models import Health, Version
from ..service import get_nlp, get_settings
from ..settings import Settings

router = APIRouter(tags=["meta"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz(nlp: Language = Depends(get_nlp)) -> Health:
    """ok once the pipeline is loaded."""
    return Health(status="ok")


@router.get("/version", response_model=Version, summary="Versions and limits")
async def version(nlp: Language = Depends(get_nlp), settings: Settings = Depends(get_settings)) -> Version:
    limits = {k: v for k, v in vars(settings).items() if k.startswith("max_")}
    return Version(spinecontext=__version__, spacy=spacy.__version__, pipeline=list(nlp.pipe_names), limits=limits)
