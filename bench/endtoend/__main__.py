"""`python -m bench.endtoend`."""

import sys

from bench.endtoend.run import main

if __name__ == "__main__":
    main(sys.argv[1:])
