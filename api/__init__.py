"""The spinecontext web service and patient page (FastAPI).

Not built yet: it arrives with the web-service issue. It will load the
pipeline once at start-up and render the same result model as the CLI.
"""
