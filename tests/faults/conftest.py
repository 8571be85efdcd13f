"""The real-component fixtures of tests/integration, for the fault drills."""

from tests.integration.conftest import instance, live, live_without_sweep, repos, web_image

__all__ = ["instance", "live", "live_without_sweep", "repos", "web_image"]
