"""Type checkers' view of ``trustkit/client/__init__.py``: the names of its ``_EXPORTS`` table, imported from the
same modules (``tests/unit/test_lazy_imports.py`` keeps the two equal)."""

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
