"""Scale-out: engine=local against engine=ray: `python -m bench.scale`."""
