"""`python -m bench.rules`."""

from bench.rules.run import main

if __name__ == "__main__":
    main()
