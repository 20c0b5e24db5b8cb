"""The command line's exit codes, in one place (documented in docs/ERRORS.md)."""

__all__ = ["EXIT_DIVERGED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_DIVERGED = 1  # training failed: the loss or a gradient became NaN or infinite
EXIT_USAGE = 2  # the spec, its data or the command line is wrong
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
