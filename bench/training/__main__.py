"""`python -m bench.training`."""

from bench.training.run import main

if __name__ == "__main__":
    main()
