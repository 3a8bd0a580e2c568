"""Labelled data: stance examples from labelled articles, their splits and mixes, examples from the pairs the
prediction path finds, and the matcher that puts the path's rows in gold terms."""
