"""Expecting a typed failure: the one helper the robustness regressions share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import trustkit as tk


def trustkit_error(call: Callable[[], Any], what: str) -> tk.TrustkitError:
    """Run ``call``, which must fail with a ``TrustkitError`` (returned); anything else fails the test, named."""
    try:
        call()
    except tk.TrustkitError as exc:
        return exc
    except BaseException as exc:  # the finding: report it as a test failure, not an error
        pytest.fail(f"{type(exc).__module__}.{type(exc).__name__} escaped from {what}: {str(exc)[:200]}")
    pytest.fail(f"{what} succeeded")
