"""The pytest plugin: opt-in, markers, fixtures, async fixtures and the leak report.

Each test writes a small test file and runs pytest on it in-process (pytester).
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

_ARGS = ("-p", "no:cacheprovider", "-p", "no:randomly")


@pytest.fixture(autouse=True)
def _own_configuration(pytester):
    # A configuration file of each test's own (the tests that need settings write
    # theirs over it), so that pytest's search for one never climbs to the
    # pyproject.toml of a project above the temporary directory (ours sets
    # loopcore_mode = "auto"), wherever the run puts its temporary files.
    pytester.makeini("[pytest]\n")


def _auto(pytester):
    pytester.makeini("[pytest]\nloopcore_mode = auto\n")


def test_strict_mode_runs_only_marked_coroutine_tests(pytester):
    pytester.makepyfile(
        """
        import pytest
        import loopcore

        @pytest.mark.loopcore
        async def test_marked():
            assert loopcore.get_running_loop() is not None

        async def test_unmarked():
            pass
        """
    )
    result = pytester.runpytest(*_ARGS)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1
    # The unmarked test is left to other plugins; none runs it, so it fails.
    assert outcomes.get("failed") == 1
    assert "test_unmarked" in result.stdout.str()


def test_an_async_test_no_plugin_ran_fails_saying_how_to_opt_in(pytester):
    pytester.makepyfile(
        """
        async def test_unmarked():
            pass
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "the loopcore plugin runs coroutine tests only when the project opts in" in out
    assert 'loopcore_mode = "auto"' in out
    assert "@pytest.mark.loopcore" in out
    assert "not natively supported" not in out


def test_an_async_test_another_plugin_runs_is_left_to_it(pytester):
    pytester.makeconftest(
        """
        import inspect
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_pyfunc_call(pyfuncitem):
            if inspect.iscoroutinefunction(pyfuncitem.obj):
                coro = pyfuncitem.obj()
                try:
                    coro.send(None)
                except StopIteration:
                    return True
                raise AssertionError("the test was expected not to suspend")
        """
    )
    pytester.makepyfile(
        """
        async def test_run_by_the_other_plugin():
            pass
        """
    )
    pytester.runpytest(*_ARGS).assert_outcomes(passed=1)


def test_auto_mode_runs_async_def_and_generator_coroutine_tests(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import loopcore

        async def test_async_def(loopcore_loop):
            assert loopcore.get_running_loop() is loopcore_loop

        @loopcore.coroutine
        def test_generator_style():
            yield from loopcore.sleep(0)
        """
    )
    pytester.runpytest(*_ARGS).assert_outcomes(passed=2)


def test_command_line_mode_overrides_the_ini(pytester):
    pytester.makepyfile(
        """
        async def test_plain():
            pass
        """
    )
    pytester.runpytest(*_ARGS, "--loopcore-mode=auto").assert_outcomes(passed=1)


def test_leftover_task_fails_with_where_it_was_created(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import pytest
        import loopcore

        async def forever():
            await loopcore.sleep(1000)

        @pytest.mark.loopcore(debug=True)
        async def test_leaks_a_task(loopcore_loop):
            loopcore_loop.create_task(forever())
            await loopcore.sleep(0)
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the test left tasks pending:*",
            "*forever*",
            "*created at*",
            "*test_leftover_task_fails*.py*",
        ]
    )


def test_leak_report_without_debug_says_how_to_see_the_origin(pytester, monkeypatch):
    monkeypatch.delenv("LOOPCORE_DEBUG", raising=False)  # "without debug", whatever the shell says
    _auto(pytester)
    pytester.makepyfile(
        """
        async def test_leaks_a_timer(loopcore_loop):
            loopcore_loop.call_later(500, print, "late")
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*the test left callbacks scheduled:*", "*print*", "*--loopcore-debug*"]
    )


def test_cancelled_timers_and_finished_tasks_are_not_leaks(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import loopcore

        async def test_clean(loopcore_loop):
            loopcore_loop.call_later(500, print).cancel()
            task = loopcore_loop.create_task(loopcore.sleep(0))
            await task
            fut = loopcore_loop.create_future()
            fut.add_done_callback(lambda f: None)
            fut.set_result(1)
        """
    )
    pytester.runpytest(*_ARGS).assert_outcomes(passed=1)


def test_exception_never_retrieved_fails_the_test(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.loopcore(debug=True)
        async def test_drops_an_exception(loopcore_loop):
            fut = loopcore_loop.create_future()
            fut.set_exception(ValueError("nobody looked"))
            del fut
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*errors reached the loop's exception handler:*",
            "*exception was never retrieved*nobody looked*",
        ]
    )


def test_coroutine_never_awaited_fails_the_test(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import loopcore

        async def helper():
            pass

        async def test_forgets_await():
            helper()
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*never awaited*", "*helper*"])


def test_virtual_clock_marker_and_fixture(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import math
        import pytest
        import loopcore
        from loopcore.testing import get_clock

        @pytest.mark.loopcore(clock="virtual")
        async def test_marker(loopcore_loop):
            await loopcore.sleep(3600)
            assert loopcore_loop.time() == 3600

        async def test_fixture(loopcore_loop, loopcore_clock):
            assert get_clock(loopcore_loop) is loopcore_clock
            assert loopcore_clock.autojump_threshold == 0

        @pytest.mark.loopcore(autojump_threshold=0.25)
        async def test_threshold_alone_means_virtual(loopcore_clock):
            assert loopcore_clock.autojump_threshold == 0.25

        async def test_real_by_default(loopcore_loop):
            assert get_clock(loopcore_loop) is None
        """
    )
    pytester.runpytest(*_ARGS).assert_outcomes(passed=4)


def test_bad_marker_arguments_are_usage_errors(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.loopcore(clock="sundial")
        async def test_bad_clock():
            pass

        @pytest.mark.loopcore(colour="blue")
        async def test_bad_key():
            pass

        @pytest.mark.loopcore(clock="real")
        async def test_conflict(loopcore_clock):
            pass
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*'sundial'*", "*colour*", "*clock='real'*"])


def test_failing_shuffled_test_reports_its_seed_and_the_seed_replays(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        async def test_fails(loopcore_seed):
            print("SEED", loopcore_seed)
            assert False
        """
    )
    result = pytester.runpytest(*_ARGS, "--loopcore-seed=random")
    result.assert_outcomes(failed=1)
    line = next(x for x in result.stdout.lines if "replay with --loopcore-seed=" in x)
    seed = int(line.split("--loopcore-seed=")[1].split()[0])
    assert f"SEED {seed}" in result.stdout.str()
    again = pytester.runpytest(*_ARGS, f"--loopcore-seed={seed}")
    again.assert_outcomes(failed=1)
    assert f"SEED {seed}" in again.stdout.str()


def test_bad_seed_option_is_a_usage_error(pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*_ARGS, "--loopcore-seed=tomorrow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'tomorrow'*"])


def test_async_fixtures_run_on_the_test_loop_with_setup_and_teardown(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import pytest
        import loopcore

        EVENTS = []

        @pytest.fixture
        async def resource(loopcore_loop):
            assert loopcore.get_running_loop() is loopcore_loop
            EVENTS.append("setup")
            yield "res"
            await loopcore.sleep(0)
            EVENTS.append("teardown")

        @pytest.fixture
        async def value(resource):
            return resource + "+value"

        async def test_uses(resource, value, loopcore_loop):
            assert resource == "res" and value == "res+value"
            assert EVENTS == ["setup"]

        def test_teardown_ran():
            assert EVENTS == ["setup", "teardown"]
        """
    )
    pytester.runpytest(*_ARGS).assert_outcomes(passed=2)


def test_async_fixture_that_yields_twice_fails(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        async def twice():
            yield 1
            yield 2

        async def test_x(twice):
            pass
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*'twice' yielded more than once*"])


def test_wider_scoped_async_fixture_is_refused_with_a_reason(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="module")
        async def shared():
            return 1

        async def test_x(shared):
            pass
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*must be function-scoped*"])


def test_resource_left_open_fails_the_test(pytester):
    _auto(pytester)
    pytester.makepyfile(
        """
        from loopcore import introspect

        class Conn:
            def is_closing(self):
                return False

        KEEP = []

        async def test_leaves_it_open(loopcore_loop):
            KEEP.append(Conn())
            introspect.register_resource(loopcore_loop, KEEP[-1], "connection")
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*the test left resources open:*", "*connection: <*Conn object*"])


def test_strict_mode_marker_on_a_class_covers_its_methods_and_fixtures(pytester):
    pytester.makepyfile(
        """
        import pytest
        import loopcore

        @pytest.mark.loopcore(clock="virtual")
        class TestService:
            @pytest.fixture
            async def service(self, loopcore_loop):
                self.started = loopcore_loop.time()
                yield "svc"
                await loopcore.sleep(60)

            async def test_method(self, service, loopcore_loop):
                assert service == "svc" and self.started == 0.0
                await loopcore.sleep(10)
                assert loopcore_loop.time() == 10.0

            @loopcore.coroutine
            def test_generator_method(self, service):
                yield from loopcore.sleep(1)
        """
    )
    pytester.runpytest(*_ARGS).assert_outcomes(passed=2)


def test_marker_debug_false_turns_debug_mode_off_even_when_the_environment_asks_for_it(
    pytester, monkeypatch
):
    monkeypatch.setenv("LOOPCORE_DEBUG", "1")
    _auto(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.loopcore(debug=False)
        async def test_off(loopcore_loop):
            assert not loopcore_loop.get_debug()

        async def test_default_follows_the_environment(loopcore_loop):
            assert loopcore_loop.get_debug()
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=2)


def test_loop_factory_ini_option_makes_each_test_s_loop(pytester):
    pytester.makeini(
        "[pytest]\nloopcore_mode = auto\nloopcore_loop_factory = factories:counted_loop\n"
    )
    pytester.makepyfile(
        factories="""
        import loopcore

        class CountedLoop(type(loopcore.new_event_loop())):
            pass

        def counted_loop():
            return CountedLoop()
        """
    )
    pytester.makepyfile(
        """
        import loopcore

        async def test_runs_on_the_factory_s_loop():
            assert type(loopcore.get_running_loop()).__name__ == "CountedLoop"
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=1)


def test_loop_factory_marker_overrides_the_ini_option(pytester):
    pytester.makeini("[pytest]\nloopcore_mode = auto\nloopcore_loop_factory = nowhere:factory\n")
    pytester.makepyfile(
        """
        import pytest
        import loopcore

        def factory():
            loop = loopcore.new_event_loop()
            loop.marked = True
            return loop

        @pytest.mark.loopcore(loop_factory=factory)
        async def test_marked():
            assert loopcore.get_running_loop().marked
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=1)


def test_loop_factory_that_cannot_be_loaded_is_a_usage_error(pytester):
    pytester.makeini("[pytest]\nloopcore_mode = auto\nloopcore_loop_factory = no_such_module:f\n")
    pytester.makepyfile(
        """
        async def test_anything():
            pass
        """
    )
    result = pytester.runpytest(*_ARGS)
    assert "cannot be loaded" in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


def test_loop_factory_must_make_a_loopcore_loop(pytester):
    pytester.makeini("[pytest]\nloopcore_mode = auto\nloopcore_loop_factory = builtins:object\n")
    pytester.makepyfile(
        """
        async def test_anything():
            pass
        """
    )
    result = pytester.runpytest(*_ARGS)
    assert "is not a loopcore loop" in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


def test_clock_ini_option_makes_every_loop_virtual_unless_marked_real(pytester):
    pytester.makeini("[pytest]\nloopcore_mode = auto\nloopcore_clock = virtual\n")
    pytester.makepyfile(
        """
        import time
        import pytest
        import loopcore

        async def test_an_hour_passes_at_once():
            started = time.monotonic()
            await loopcore.sleep(3600)
            assert time.monotonic() - started < 30

        @pytest.mark.loopcore(clock="real")
        async def test_marked_real():
            from loopcore.testing import get_clock
            assert get_clock(loopcore.get_running_loop()) is None
        """
    )
    result = pytester.runpytest(*_ARGS)
    result.assert_outcomes(passed=2)
