"""The spinecontext web service and web page (FastAPI).

    >>> from spinecontext.api import create_app
    >>> app = create_app()          # uvicorn --factory spinecontext.api:create_app

Routes: ``POST /v1/annotate``, ``/v1/appendix``, ``/v1/annotate/file``,
``/v1/batch``; ``GET /healthz``, ``/version``, ``/openapi.json``; the patient
page at ``/`` and the radiologist view at ``/radiologist``. The pipeline is
loaded once per process, in the lifespan; the service adds no NLP of its own.
"""

from .app import create_app
from .settings import Settings

__all__ = ["create_app", "Settings"]
