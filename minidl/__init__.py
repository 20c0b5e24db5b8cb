"""minidl: a small deep-learning framework whose every gradient is written by hand."""

__version__ = "0.1.0"

__all__ = ["__version__"]
