"""Maintainer tools that prepare data and docs assets: `python -m tools.<name>` from the repository root."""
