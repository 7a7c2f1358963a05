"""loopcore.introspect: the live task tree, describers and the resource registry."""

from __future__ import annotations

import gc
import json

import pytest

import loopcore
from loopcore import introspect
from loopcore.taskgroups import TaskGroup
from loopcore.timeouts import timeout


def _by_name(tree):
    found = {}

    def walk(nodes, parent):
        for node in nodes:
            found[node["name"]] = (node, parent)
            walk(node["children"], node["name"])

    walk(tree, None)
    return found


async def _settle():
    for _ in range(3):
        await loopcore.sleep(0)


async def _stop_all(*tasks):
    for task in tasks:
        task.cancel()
    await loopcore.gather(*tasks, return_exceptions=True)


async def test_sleeping_task_reports_its_deadline(loopcore_loop, loopcore_clock):
    async def napper():
        await loopcore.sleep(90)

    task = loopcore_loop.create_task(napper(), name="napper")
    await _settle()
    node, parent = _by_name(introspect.task_tree(loopcore_loop))["napper"]
    assert parent is None
    assert node["awaiting"]["kind"] == "sleep"
    assert node["awaiting"]["deadline"] == 90.0
    assert "in 90.000 s" in node["awaiting"]["description"]
    assert node["stack"][0]["function"] == "napper"
    assert "napper() suspended at" in node["coro"]
    await _stop_all(task)


async def test_task_awaiting_another_task_has_it_as_child(loopcore_loop):
    gate = loopcore_loop.create_future()

    async def inner():
        await gate

    async def outer():
        await loopcore_loop.create_task(inner(), name="inner")

    task = loopcore_loop.create_task(outer(), name="outer")
    await _settle()
    found = _by_name(introspect.task_tree(loopcore_loop))
    assert found["inner"][1] == "outer"
    assert found["outer"][0]["awaiting"]["kind"] == "task"
    assert found["inner"][0]["awaiting"]["kind"] == "future"
    gate.set_result(None)
    await task


async def test_gather_children_are_nested_under_the_waiting_task(loopcore_loop, loopcore_clock):
    async def leaf(n):
        await loopcore.sleep(n)

    async def parent():
        await loopcore.gather(
            loopcore_loop.create_task(leaf(1), name="leaf-1"),
            loopcore_loop.create_task(leaf(2), name="leaf-2"),
        )

    task = loopcore_loop.create_task(parent(), name="parent")
    await _settle()
    found = _by_name(introspect.task_tree(loopcore_loop))
    assert found["parent"][0]["awaiting"]["kind"] == "gather"
    assert "gather of 2 (2 pending)" in found["parent"][0]["awaiting"]["description"]
    assert found["leaf-1"][1] == "parent" and found["leaf-2"][1] == "parent"
    await task


async def test_taskgroup_members_are_children_of_the_task_running_the_group(
    loopcore_loop, loopcore_clock
):
    async def member():
        await loopcore.sleep(5)

    async def body():
        async with TaskGroup() as tg:
            tg.create_task(member(), name="member")

    task = loopcore_loop.create_task(body(), name="body")
    await _settle()
    found = _by_name(introspect.task_tree(loopcore_loop))
    assert found["member"][1] == "body"
    assert found["body"][0]["awaiting"]["kind"] == "taskgroup"
    await task


async def test_timeout_deadline_is_shown_beside_what_is_awaited(loopcore_loop, loopcore_clock):
    async def bounded():
        async with timeout(30):
            await loopcore.sleep(100)

    task = loopcore_loop.create_task(bounded(), name="bounded")
    await _settle()
    node = _by_name(introspect.task_tree(loopcore_loop))["bounded"][0]
    assert node["awaiting"]["timeout"] == 30.0
    assert node["awaiting"]["deadline"] == 100.0
    assert "(timeout at 30.000)" in introspect.format_task_tree(loopcore_loop)
    with pytest.raises(TimeoutError):
        await task


class _Gadget:
    def __init__(self, loop):
        self.fut = loop.create_future()

    async def wait_ready(self):
        await self.fut


async def test_registered_describer_names_the_object_on_the_stack(loopcore_loop):
    introspect.register_describer(
        _Gadget, lambda g: {"kind": "gadget", "description": "gadget warming up"}
    )
    gadget = _Gadget(loopcore_loop)
    task = loopcore_loop.create_task(gadget.wait_ready(), name="user")
    await _settle()
    node = _by_name(introspect.task_tree(loopcore_loop))["user"][0]
    assert node["awaiting"] == {"kind": "gadget", "description": "gadget warming up"}
    gadget.fut.set_result(None)
    await task


class _Broken:
    def __init__(self, loop):
        self.fut = loop.create_future()

    async def wait(self):
        await self.fut


async def test_a_failing_describer_is_reported_not_raised(loopcore_loop):
    def explode(obj):
        raise RuntimeError("boom")

    introspect.register_describer(_Broken, explode)
    broken = _Broken(loopcore_loop)
    task = loopcore_loop.create_task(broken.wait(), name="broken")
    await _settle()
    node = _by_name(introspect.task_tree(loopcore_loop))["broken"][0]
    assert node["awaiting"]["kind"] == "unknown"
    assert "describer failed" in node["awaiting"]["description"]
    broken.fut.set_result(None)
    await task


def test_register_describer_checks_its_arguments():
    with pytest.raises(TypeError, match="needs a class"):
        introspect.register_describer("Lock", lambda o: {})
    with pytest.raises(TypeError, match="callable"):
        introspect.register_describer(_Gadget, 42)


@pytest.mark.loopcore(debug=True)
async def test_debug_mode_records_where_each_task_was_created(loopcore_loop):
    gate = loopcore_loop.create_future()

    async def waiter():
        await gate

    task = loopcore_loop.create_task(waiter(), name="made-here")
    await _settle()
    node = _by_name(introspect.task_tree(loopcore_loop))["made-here"][0]
    assert node["created_at"][-1]["file"] == __file__
    assert f"created at {__file__}" in introspect.format_task_tree(loopcore_loop)
    gate.set_result(None)
    await task


@pytest.mark.loopcore(debug=False)
async def test_without_debug_mode_creation_is_not_recorded(loopcore_loop):
    gate = loopcore_loop.create_future()
    task = loopcore_loop.create_task(_wait(gate), name="anon")
    await _settle()
    assert _by_name(introspect.task_tree(loopcore_loop))["anon"][0]["created_at"] is None
    gate.set_result(None)
    await task


async def _wait(fut):
    await fut


async def test_tree_is_json_and_text_formats_from_json(loopcore_loop, loopcore_clock):
    task = loopcore_loop.create_task(loopcore.sleep(7), name="sleepy")
    await _settle()
    tree = json.loads(json.dumps(introspect.task_tree(loopcore_loop)))
    text = introspect.format_task_tree(tree=tree)
    assert "* sleepy:" in text
    assert "awaiting [sleep] sleep until loop time 7.000" in text
    assert "| " not in introspect.format_task_tree(tree=tree, stack=False).split("sleepy")[1]
    await task


def test_format_without_tasks_and_without_arguments():
    assert introspect.format_task_tree(tree=[]) == "(no pending tasks)\n"
    with pytest.raises(TypeError, match="needs a loop or a tree"):
        introspect.format_task_tree()


async def test_running_task_is_shown_as_running(loopcore_loop):
    tree = introspect.task_tree(loopcore_loop)
    assert [n["awaiting"]["kind"] for n in tree] == ["running"]


class _Resource:
    def __init__(self):
        self.closed = False

    def is_closing(self):
        return self.closed


@pytest.mark.loopcore(debug=False)
def test_open_resources_lists_registered_objects_until_closed(loopcore_loop):
    res = _Resource()
    introspect.register_resource(loopcore_loop, res, "widget")
    [entry] = introspect.open_resources(loopcore_loop)
    assert entry["kind"] == "widget" and entry["id"] == id(res)
    assert entry["created_at"] is None
    res.closed = True
    assert introspect.open_resources(loopcore_loop) == []


def test_registered_resources_are_held_weakly(loopcore_loop):
    introspect.register_resource(loopcore_loop, _Resource(), "widget")
    gc.collect()
    assert introspect.open_resources(loopcore_loop) == []


def test_debug_mode_records_where_a_resource_was_registered(loopcore_loop):
    loopcore_loop.set_debug(True)
    res = _Resource()
    introspect.register_resource(loopcore_loop, res, "widget")
    [entry] = introspect.open_resources(loopcore_loop)
    assert entry["created_at"][-1]["file"] == __file__
    res.closed = True


def test_register_resource_needs_a_weakly_referenceable_object(loopcore_loop):
    with pytest.raises(TypeError, match="weak references"):
        introspect.register_resource(loopcore_loop, 42, "number")


async def test_a_task_waiting_for_an_executor_is_shown_waiting_on_a_thread(loopcore_loop):
    import threading

    release = threading.Event()
    task = loopcore_loop.create_task(
        _wait(loopcore_loop.run_in_executor(None, release.wait, 30)), name="exec"
    )
    await _settle()
    node = _by_name(introspect.task_tree(loopcore_loop))["exec"][0]
    assert node["awaiting"]["kind"] == "thread"
    release.set()
    await task
