"""The template backend: offline, deterministic, topic-specific (the embedded default)."""

from __future__ import annotations

from vgkit.agents.base import AgentCall
from vgkit.agents.catalog import TEMPLATES
from vgkit.errors import AgentError
from vgkit.models import Model
from vgkit.templates import TemplateSource, default_library

#: Bump when template agents change behaviour without a version bump of their own.
BACKEND_VERSION = "2"


class TemplateBackend:
    """Builds artifacts from the template library with a seeded RNG.

    Same call, same artifact, byte for byte, in any process. ``templates`` may be
    the packaged library (default) or any ``TemplateSource`` such as the template
    cache; its fingerprint is part of the backend's, so cached artifacts made with
    other templates are never mistaken for these.
    """

    name = "template"

    def __init__(self, templates: TemplateSource | None = None) -> None:
        self.templates: TemplateSource = templates if templates is not None else default_library()

    def fingerprint(self) -> str:
        return f"template/{BACKEND_VERSION}/{self.templates.fingerprint()}"

    async def run(self, call: AgentCall) -> Model:
        try:
            impl = TEMPLATES[call.spec.name]
        except KeyError:
            raise AgentError(call.spec.name, "the template backend has no such agent") from None
        result = await impl(call, self.templates)
        if not isinstance(result, call.spec.output):
            raise AgentError(
                call.spec.name,
                f"returned {type(result).__name__}, expected {call.spec.output.__name__}",
            )
        return result

    async def aclose(self) -> None:
        return None
