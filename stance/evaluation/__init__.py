"""Evaluation: classifier-only figures on labelled pairs, the prediction path end to end, and article edges."""
