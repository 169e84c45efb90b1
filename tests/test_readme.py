"""The README's Python example runs as written (on the dev video) and needs one import line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import DATA, REPO

README = REPO / "README.md"


def example() -> str:
    """The code block under '## Ten lines of Python'."""
    section = README.read_text(encoding="utf-8").split("## Ten lines of Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python block under 'Ten lines of Python'"
    return match.group(1)


def test_readme_example_is_ten_lines_with_one_import() -> None:
    code = example()
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 10
    assert [line for line in lines if line.startswith(("import ", "from "))] == ["import posekit"]


def test_readme_example_counts_the_dev_video(tmp_path: Path, models_src: Path) -> None:
    video = DATA / "videos" / "squat_workouttracker_17.mp4"
    code = example()
    assert '"squats.mp4"' in code
    script = tmp_path / "example.py"
    script.write_text(code.replace('"squats.mp4"', repr(str(video))), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "POSEKIT_HOME": str(tmp_path / "home"),
            "POSEKIT_MODEL_SOURCE": str(models_src),
        },
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.fullmatch(r"rep 1: depth \d+ deg in \d+\.\d s\n", proc.stdout), proc.stdout
