"""Routers by purpose: ``v1`` (the JSON API), ``meta`` (health, version), ``pages`` (the web page)."""
