"""Training speed by encoder and precision: `python -m bench.training`."""
