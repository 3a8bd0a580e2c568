"""The report: predictions rolled up into edges, a network, time series, evidence and an HTML page."""
