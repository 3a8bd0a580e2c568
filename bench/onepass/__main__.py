"""`python -m bench.onepass`."""

import sys

from bench.onepass.run import main

if __name__ == "__main__":
    main(sys.argv[1:])
