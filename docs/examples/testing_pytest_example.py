# requires: loopcore, pytest
"""The pytest plugin at work: runs a small test file with pytest and shows the result.

The test file opts in with ``loopcore_mode = auto``; one test uses the virtual clock,
one leaks a task on purpose to show the report.
"""

import os
import pathlib
import re
import subprocess
import sys
import tempfile

TESTS = """
import pytest
import loopcore


async def test_retry_backs_off_for_an_hour(loopcore_loop, loopcore_clock):
    delays = []
    for attempt in range(4):
        delay = 60 * 2**attempt
        delays.append(delay)
        await loopcore.sleep(delay)
    assert loopcore_loop.time() == sum(delays) == 900


async def forever():
    await loopcore.sleep(3600)


@pytest.mark.loopcore(debug=True)
async def test_forgets_a_task(loopcore_loop):
    loopcore_loop.create_task(forever())
    await loopcore.sleep(0)
"""

with tempfile.TemporaryDirectory() as tmp:
    root = pathlib.Path(tmp)
    # The opt-in: without it the plugin leaves async tests alone.
    (root / "pytest.ini").write_text("[pytest]\nloopcore_mode = auto\n")
    (root / "test_demo.py").write_text(TESTS)
    # pytest reports in full when it thinks it runs on CI (CI or BUILD_NUMBER set):
    # the example shows the report a developer sees at a terminal, wherever it runs.
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rE"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

if proc.returncode != 1:  # 1: a test failed (the leaky one), as intended
    sys.exit(f"pytest exited with {proc.returncode}:\n{proc.stdout}{proc.stderr}")


KEYS = ("passed", "left tasks", "Task pending", "created at")


def interesting(lines: list[str]) -> list[str]:
    """The lines of the report worth reading: no pytest or pluggy frames."""
    kept = []
    in_test_frame = False
    for line in lines:
        if line.strip().startswith("File "):
            in_test_frame = "test_demo.py" in line
            if in_test_frame:
                kept.append(line)
        elif line.startswith("          "):  # the source line under a frame
            if in_test_frame:
                kept.append(line)
        elif any(key in line for key in KEYS):
            kept.append(line)
    return kept


lines = proc.stdout.replace(tmp + "/", "").splitlines()
# A path of this machine (where loopcore is installed) is shortened to the module.
lines = [re.sub(r"/\S*/(loopcore/\w+\.py)", r"\1", line) for line in lines]
print("\n".join(interesting(lines)))


# Expected output ("..." stands for any text):
# the test left tasks pending:
#   <Task pending name='Task-5' coro=<forever() suspended at test_demo.py:16> created at ...>
#     created at (most recent call last):
#         File "test_demo.py", line 21, in test_forgets_a_task
#           loopcore_loop.create_task(forever())
# ERROR test_demo.py::test_forgets_a_task - Failed: the test left tasks pending:
# 2 passed, 1 error in ...s
