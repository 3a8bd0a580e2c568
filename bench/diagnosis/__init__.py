"""Why the prediction path calls reached gold polar pairs neutral: `python -m bench.diagnosis`."""
