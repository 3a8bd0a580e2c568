"""Recipes side by side: each trained model on SEESAW valid and DSE valid, with its cost: `python -m bench.recipes`."""
