"""Planned rows kept on disk between deciding and writing.

Planning may only write once the whole audience is counted (a mass campaign whose count drifted from
the approved one goes back to approval, and nothing of it may reach the outbox, where the worker would
claim it). Holding a million rows until then costs half a gigabyte; a temporary file costs a few
pickled batches of memory, and reading them back is cheap beside the insert they feed.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from types import TracebackType


class PlanSpool:
    """Append batches of rows (plain tuples of a `storage.outbox.PlannedRow`'s values), then read them
    back in the same batches; the file goes on `close`."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="ritm-plan-")  # noqa: SIM115 - closed by close()
        self.rows = 0

    def add(self, rows: Sequence[tuple[object, ...]]) -> None:
        if rows:
            pickle.dump(rows, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.rows += len(rows)

    def batches(self) -> Iterator[list[tuple[object, ...]]]:
        self._file.flush()
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)  # our own file, written by `add` above
            except EOFError:
                return

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PlanSpool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
