"""Rule data for spinecontext (YAML files only; see README.md in this folder)."""
