"""Inference speed: stance's scoring paths against transformers.pipeline: `python -m bench.inference`."""
