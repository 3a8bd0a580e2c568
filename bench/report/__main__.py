"""`python -m bench.report`."""

from bench.report.run import main

if __name__ == "__main__":
    main()
