"""trustkit's version string, in a module of its own: the HTTP core's User-Agent and the archive manifest read it
without importing the package root, and hatch reads it for the wheel (``importlib.metadata`` costs 18 ms a process)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
