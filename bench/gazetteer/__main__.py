"""`python -m bench.gazetteer`."""

from bench.gazetteer.run import main

if __name__ == "__main__":
    main()
