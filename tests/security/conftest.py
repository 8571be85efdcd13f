"""The real-component fixtures of tests/integration, for the attacks that need them."""

from tests.integration.conftest import instance, live, registry, repos, web_image

__all__ = ["instance", "live", "registry", "repos", "web_image"]
