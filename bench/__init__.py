"""The benchmarks, one package each: `python -m bench.<name>` from the repository root runs one.

Each folder holds its code (`run.py`), its figures (`results.json`) and the README.md made from them;
`bench.common` is what they share.
"""
