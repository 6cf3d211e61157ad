"""Layer 8: many repositories of one server at once -- discovery, a changefeed follower, an inventory.

:func:`server_repositories` (discovery, from the changefeed, with a prefix filter), :class:`ChangefeedFollower`
(what changed in each repository, verified, from a cursor kept on disk) and :func:`iter_inventory` /
:func:`take_inventory` (tags, signers, expiries, health and policy verdicts of many repositories, read
concurrently). The guide is docs/registry-plugins.md.
"""

from trustkit.fleet.follower import ChangefeedFollower, RepositoryEvent
from trustkit.fleet.inventory import Inventory, InventoryProgress, InventoryRow, iter_inventory, take_inventory
from trustkit.fleet.state import RepositoryState
from trustkit.remote.changefeed import server_repositories

__all__ = [
    "ChangefeedFollower",
    "Inventory",
    "InventoryProgress",
    "InventoryRow",
    "RepositoryEvent",
    "RepositoryState",
    "iter_inventory",
    "server_repositories",
    "take_inventory",
]
