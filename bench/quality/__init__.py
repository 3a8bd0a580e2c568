"""Quality: the recipe with 3 seeds on SEESAW, chosen on dev, scored once on valid: `python -m bench.quality`."""
