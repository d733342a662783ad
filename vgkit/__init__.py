"""vgkit: multi-agent video-plan generation and the performance machinery around it."""

from vgkit.errors import VgkitError

__version__ = "0.1.0"

__all__ = ["VgkitError", "__version__"]
