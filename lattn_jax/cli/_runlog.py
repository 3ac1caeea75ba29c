"""Run records shared by long ``lattn`` commands: a resumable JSONL log of
finished points, CSV output, and a progress display on stderr.

The JSONL log (``--jsonl PATH``) has one JSON object per line. The first line
is the header ``{"schema_version": 1, "kind": "header", "command": ...,
"config": {...}}``; every later line is ``{"kind": "point", ...}`` with the
point's fields, appended and flushed to disk (``fsync``) as soon as the point
finishes. A run stopped at any moment (Ctrl-C, ``kill -9``) leaves every
finished point on disk; at worst the last line is cut short, and a reader drops
it. ``--resume`` reads the log back, refuses it if its header's config differs
from the new run's, and skips the points it already holds.
"""

import csv
import io
import json
import os
import sys
from pathlib import Path

from ._common import SCHEMA_VERSION, UsageError


def _read_lines(path: Path) -> list[dict]:
    """The complete JSON lines of ``path``; a cut-short last line is dropped."""
    records = []
    lines = path.read_bytes().split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # the last line, cut short by a kill: drop it
                break
            raise UsageError(f"{path} is not a lattn JSONL log (line {i + 1} is not JSON)") from None
    return records


class RunLog:
    """An append-only JSONL log of finished points (see the module docstring).

    ``RunLog.open(path, command, config, resume)`` creates the file, or with
    ``resume=True`` reads the points an earlier run with the same config finished
    (``.done``, keyed by ``key_fields``). ``append(point)`` writes one point.
    """

    def __init__(self, path: Path, done: list[dict]):
        self.path = path
        self.done = done

    @classmethod
    def open(cls, path: Path, command: str, config: dict, resume: bool) -> "RunLog":
        header = {"schema_version": SCHEMA_VERSION, "kind": "header", "command": command, "config": config}
        exists = path.exists() and path.stat().st_size > 0
        if exists and not resume:
            raise UsageError(f"{path} exists: pass --resume to continue that run, or choose another --jsonl path")
        done = []
        if exists:
            records = _read_lines(path)
            if not records or records[0].get("kind") != "header":
                raise UsageError(f"{path} is not a lattn JSONL log (no header line)")
            old = records[0]
            if old.get("schema_version") != SCHEMA_VERSION or old.get("command") != command:
                raise UsageError(
                    f"{path} was written by 'lattn {old.get('command')}' with schema_version "
                    f"{old.get('schema_version')}; this is 'lattn {command}' with schema_version {SCHEMA_VERSION}"
                )
            differ = sorted(k for k in set(old["config"]) | set(config) if old["config"].get(k) != config.get(k))
            if differ:
                changes = ", ".join(f"{k}: {old['config'].get(k)!r} -> {config.get(k)!r}" for k in differ)
                raise UsageError(f"cannot resume {path}: it was written with a different config ({changes})")
            done = [r for r in records[1:] if r.get("kind") == "point"]
            # Rewrite without a cut-short last line, so appends start on a fresh line.
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
            os.replace(tmp, path)
        else:
            _append(path, header)
        return cls(path, done)

    def append(self, point: dict) -> None:
        """Append one finished point and flush it to disk."""
        _append(self.path, {"kind": "point", **point})


def _append(path: Path, record: dict) -> None:
    data = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)  # one write per line
        os.fsync(fd)
    finally:
        os.close(fd)


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write ``rows`` as CSV with a ``schema_version`` first column, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["schema_version", *columns], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"schema_version": SCHEMA_VERSION, **{k: "" if row[k] is None else row[k] for k in columns}})
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buffer.getvalue())
    os.replace(tmp, path)


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def start(self, description: str) -> None:
        pass

    def step(self, detail: str) -> None:
        pass

    def advance(self) -> None:
        pass


def escape(text: str) -> str:
    """``text`` with rich markup escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


class Progress:
    """A ``rich`` progress bar on stderr, one step per point: a spinner, the point
    in flight with its search's latest iteration (reported from inside the
    compiled loop), points done of total, the elapsed time and the time left.

    Rows printed to stdout while it runs appear above the bar when stdout is the
    same terminal.
    """

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("points"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            # Not a terminal (a file, a pipe): no width to fit, so the final line is written whole.
            console=Console(stderr=True, width=None if sys.stderr.isatty() else 1000),
            redirect_stdout=sys.stdout.isatty(),
            redirect_stderr=False,
            transient=False,
        )
        self._task = self._bar.add_task("", total=total)
        self._description = ""

    def __enter__(self):
        self._bar.start()
        return self

    def __exit__(self, *exc):
        self._bar.stop()
        return False

    def start(self, description: str) -> None:
        """Show ``description`` for the point now running."""
        self._description = escape(description)  # plain text: "E[max w]" is not rich markup
        self._bar.update(self._task, description=self._description)

    def step(self, detail: str) -> None:
        """Show ``detail`` (e.g. the search's latest iteration) after the point's description."""
        self._bar.update(self._task, description=f"{self._description} · {escape(detail)}")

    def advance(self) -> None:
        """One point finished."""
        self._bar.advance(self._task)


def progress(total: int, quiet: bool):
    """A ``Progress`` over ``total`` points, or a silent stand-in if ``quiet``."""
    return _NoProgress() if quiet else Progress(total)
