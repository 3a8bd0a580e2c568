"""What users get, model beside model: the prediction path end to end: `python -m bench.endtoend`."""
