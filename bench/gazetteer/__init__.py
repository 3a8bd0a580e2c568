"""Gazetteer load time, memory and matching speed: `python -m bench.gazetteer`."""
