"""`python -m minidl.compile SPEC [options]`: the command line, kept under its v1 name.

The command line itself lives in `minidl.cli`.
"""

from minidl.cli.main import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
