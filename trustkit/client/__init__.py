"""Layer 5: a repository's trust data, read (and, later, changed) through any remote with a verified cache."""

from trustkit._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from trustkit.client.cache import MetadataCache as MetadataCache
    from trustkit.client.changelist import Change as Change
    from trustkit.client.changelist import Changelist as Changelist
    from trustkit.client.changelist import StagedChange as StagedChange
    from trustkit.client.changes import InvalidChangeError as InvalidChangeError
    from trustkit.client.health import HealthReport as HealthReport
    from trustkit.client.health import RepositorySummary as RepositorySummary
    from trustkit.client.health import health_report as health_report
    from trustkit.client.health import repository_summary as repository_summary
    from trustkit.client.reader import AsyncMetadataSource as AsyncMetadataSource
    from trustkit.client.reader import AsyncReader as AsyncReader
    from trustkit.client.reader import MetadataSource as MetadataSource
    from trustkit.client.reader import Reader as Reader
    from trustkit.client.repository import Repository as Repository

# lazy: the read path imports this package but not all of it (see trustkit/_lazy.py)
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
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
    },
)
