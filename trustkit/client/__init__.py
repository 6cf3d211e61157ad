"""Layer 5: a repository's trust data, read (and, later, changed) through any remote with a verified cache."""

from trustkit.client.cache import MetadataCache
from trustkit.client.changelist import Change, Changelist, StagedChange
from trustkit.client.health import HealthReport, RepositorySummary, health_report, repository_summary
from trustkit.client.reader import MetadataSource, Reader
from trustkit.client.repository import InvalidChangeError, Repository

__all__ = [
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
