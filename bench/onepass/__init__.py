"""The cross-encoder beside the one-pass pair model, in one run: `python -m bench.onepass`."""
