"""An a2a-sdk 1.x JSON-RPC server (Starlette + uvicorn) hosting one vgkit agent.

The agent function is the same as in `vgkit serve`: the message's data part is
an ``AgentCall`` payload, the template backend computes the artifact, which
goes back as a data part. Used by ``bench_serve`` as the baseline server.
Usage: python benchmarks/_a2a_sdk_server.py PORT AGENT
"""

from __future__ import annotations

import sys

import uvicorn
from a2a.helpers.proto_helpers import get_data_parts, new_data_part, new_task_from_user_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette

from vgkit.agents import SPECS, AgentCall, TemplateBackend


class VgkitAgentExecutor(AgentExecutor):
    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.backend = TemplateBackend()

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        payload = get_data_parts(list(context.message.parts))[0]
        call = AgentCall.from_payload(payload, SPECS)
        artifact = await self.backend.run(call)
        await updater.add_artifact(
            [new_data_part(artifact.model_dump(mode="json"))], name=call.spec.step
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


def app(port: int, agent: str) -> Starlette:
    spec = SPECS[agent]
    url = f"http://127.0.0.1:{port}/"
    card = AgentCard(
        name=agent,
        description=spec.description,
        version=spec.version,
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["application/json"],
        default_output_modes=["application/json"],
        skills=[
            AgentSkill(id=s, name=s, description=spec.description, tags=[s]) for s in spec.skills
        ],
    )
    handler = DefaultRequestHandler(
        agent_executor=VgkitAgentExecutor(agent), task_store=InMemoryTaskStore(), agent_card=card
    )
    routes = [*create_agent_card_routes(card), *create_jsonrpc_routes(handler, rpc_url="/")]
    return Starlette(routes=routes)


if __name__ == "__main__":
    port, agent = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        app(port, agent), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
