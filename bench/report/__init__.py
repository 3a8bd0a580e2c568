"""stance-report on 10 million synthetic prediction rows: `python -m bench.report`."""
