"""`python -m bench.recipes`."""

import sys

from bench.recipes.run import main

if __name__ == "__main__":
    main(sys.argv[1:])
