"""Layer 5: a repository's trust data, read (and, later, changed) through any remote with a verified cache."""

from trustkit._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from trustkit.client.cache import MetadataCache
    from trustkit.client.changelist import Change, Changelist, StagedChange
    from trustkit.client.health import HealthReport, RepositorySummary, health_report, repository_summary
    from trustkit.client.reader import AsyncMetadataSource, AsyncReader, MetadataSource, Reader
    from trustkit.client.repository import InvalidChangeError, Repository

__all__ = [
    "AsyncMetadataSource",
    "AsyncReader",
    "Change",
    "Changelist",
    "HealthReport",
    "InvalidChangeError",
    "MetadataCache",
    "MetadataSource",
    "Reader",
    "Repository",
    "RepositorySummary",
    "StagedChange",
    "health_report",
    "repository_summary",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "trustkit.client.cache": ("MetadataCache",),
        "trustkit.client.changelist": (
            "Change",
            "Changelist",
            "StagedChange",
        ),
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
        "trustkit.client.repository": (
            "InvalidChangeError",
            "Repository",
        ),
    },
)
