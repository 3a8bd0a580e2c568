"""`python -m bench.diagnosis`."""

import sys

from bench.diagnosis.run import main

if __name__ == "__main__":
    main(sys.argv[1:])
