"""Prediction: the library model (`StanceClassifier`), the batch job over files with its commit log, the roll-up
of calls to actors' affiliations, and the Ray engine. Nothing here loads training code."""
