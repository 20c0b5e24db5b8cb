"""The command line's exit codes, in one place (documented in docs/ERRORS.md)."""

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_TRAINING_FAILED", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_TRAINING_FAILED = 1
"""Training failed: the loss or a gradient became NaN or infinite, the device ran out of
memory, or a cell of a sweep failed."""
EXIT_USAGE = 2  # the spec, its data or the command line is wrong
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
