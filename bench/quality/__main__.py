"""`python -m bench.quality`."""

import sys

from bench.quality.run import main

if __name__ == "__main__":
    main(sys.argv[1:])
