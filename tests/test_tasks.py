"""Stopping background loops: a cancellation that a library swallows is sent again."""

from __future__ import annotations

import asyncio
import gc

import pytest

from vgkit._tasks import AGAIN, stop


def swallowing_loop(state: dict[str, int]) -> asyncio.Task[None]:
    """Fault injection: a loop that drops its first cancellation, as Python 3.11's
    ``asyncio.wait_for`` does when the cancel meets the operation's completion."""

    async def loop() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                state["cancels"] += 1
                if state["cancels"] == 1:
                    continue
                raise

    return asyncio.create_task(loop())


async def test_a_plain_cancel_leaves_the_swallowing_loop_running() -> None:
    # The fault is real: one cancel and the loop goes on.
    state = {"cancels": 0}
    task = swallowing_loop(state)
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3 * AGAIN)
    assert not done and state["cancels"] == 1
    await stop(task)


async def test_stop_cancels_again_until_the_loop_ends() -> None:
    state = {"cancels": 0}
    task = swallowing_loop(state)
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await stop(task)
    assert task.cancelled() and state["cancels"] == 2


async def test_stop_cancels_a_well_behaved_task_once_and_lets_its_cleanup_finish() -> None:
    cleaned: list[float] = []

    async def tidy() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(AGAIN / 2)  # its cleanup, within the grace
            cleaned.append(AGAIN / 2)
            raise

    task = asyncio.create_task(tidy())
    await asyncio.sleep(0)
    await stop(task)
    assert cleaned and task.cancelled()


async def test_stop_takes_ended_and_failed_tasks_and_retrieves_their_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom() -> None:
        raise RuntimeError("broken")

    failed = asyncio.create_task(boom())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    assert failed.done() and finished.done()
    await stop(failed, finished)
    await stop()  # nothing to stop
    del failed
    gc.collect()
    assert "never retrieved" not in caplog.text
