"""`python -m bench.inference`."""

from bench.inference.run import main

if __name__ == "__main__":
    main()
