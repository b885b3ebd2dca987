"""The undo stack: newest first, never stopping at a failure, and restoring on a signal."""

from __future__ import annotations

import os
import signal

import pytest

from support.undo import UndoStack


def test_changes_are_undone_newest_first_and_a_failure_does_not_stop_the_rest() -> None:
    stack = UndoStack()
    done: list[str] = []

    def fails() -> None:
        raise RuntimeError("heal failed")

    stack.record("a", "f1", lambda: done.append("a"))
    stack.record("b", "f2", fails)
    stack.record("c", "f2", lambda: done.append("c"))
    problems = stack.restore_all()
    assert done == ["c", "a"]
    assert problems == ["b (f2): RuntimeError: heal failed"]
    assert [c.key for c in stack.pending] == ["b"]  # kept, so a later restore tries again


def test_undo_of_one_fault_leaves_the_others() -> None:
    stack = UndoStack()
    done: list[str] = []
    stack.record("a", "f1", lambda: done.append("a"))
    stack.record("b", "f2", lambda: done.append("b"))
    assert stack.undo(fault="f2") == []
    assert done == ["b"] and [c.key for c in stack.pending] == ["a"]


def test_the_first_undo_recorded_for_a_change_is_kept() -> None:
    stack = UndoStack()
    done: list[str] = []
    stack.record("a", "f", lambda: done.append("first"))
    stack.record("a", "f", lambda: done.append("second"))
    stack.restore_all()
    assert done == ["first"]


def test_sigterm_undoes_before_the_process_ends() -> None:
    done: list[str] = []
    with pytest.raises(SystemExit) as ended, UndoStack() as stack:
        stack.record("a", "f", lambda: done.append("a"))
        os.kill(os.getpid(), signal.SIGTERM)
    assert ended.value.code == 128 + signal.SIGTERM
    assert done == ["a"]


def test_leaving_with_a_change_that_cannot_be_undone_is_an_error() -> None:
    def fails() -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError, match="could not undo"), UndoStack() as stack:
        stack.record("a", "f", fails)
