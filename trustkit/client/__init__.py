"""Layer 5: a repository's trust data, read (and, later, changed) through any remote with a verified cache."""

from trustkit._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "trustkit.client.cache": ("MetadataCache",),
    "trustkit.client.changelist": (
        "Change",
        "Changelist",
        "StagedChange",
    ),
    "trustkit.client.changes": ("InvalidChangeError",),
    "trustkit.client.health": (
        "HealthReport",
        "RepositorySummary",
        "health_report",
        "repository_summary",
    ),
    "trustkit.client.reader": (
        "AsyncMetadataSource",
        "AsyncReader",
        "MetadataSource",
        "Reader",
    ),
    "trustkit.client.repository": ("Repository",),
}
"""Where each name of the package lives (module -> names); type checkers read ``__init__.pyi``, which imports the
same names from the same modules."""

# lazy: the read path imports this package but not all of it (see trustkit/_lazy.py)
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
