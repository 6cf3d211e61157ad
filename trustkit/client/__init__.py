"""Layer 5: a repository's trust data, read (and, later, changed) through any remote with a verified cache."""

from trustkit.client.cache import MetadataCache
from trustkit.client.reader import MetadataSource, Reader

__all__ = ["MetadataCache", "MetadataSource", "Reader"]
