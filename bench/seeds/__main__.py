"""`python -m bench.seeds`."""

import sys

from bench.seeds.run import main

if __name__ == "__main__":
    main(sys.argv[1:])
