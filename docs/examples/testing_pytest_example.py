# requires: loopcore
"""The pytest plugin at work: runs a small test file with pytest and shows the result.

The test file opts in with ``loopcore_mode = auto``; one test uses the virtual clock,
one leaks a task on purpose to show the report.
"""

import pathlib
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
    (root / "pytest.ini").write_text("[pytest]\nloopcore_mode = auto\n")
    (root / "test_demo.py").write_text(TESTS)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header", "-rE"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line.replace(tmp, "<tmp>") for line in proc.stdout.splitlines()]
    keep = [
        line
        for line in lines
        if "passed" in line
        or "left tasks" in line
        or "forever" in line
        or "created at" in line
        or line.strip().startswith("File")
    ]
    print("\n".join(keep))
