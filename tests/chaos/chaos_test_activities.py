"""Plain activities for exercising ChaosHandle's judgement on real chaoslib runs, without a cluster."""

from pathlib import Path

__all__ = ["flag_absent", "raise_flag", "record", "terminate_pods"]


def flag_absent(path: str) -> bool:
    """True while the flag file is absent; raises (so the probe fails, not merely misses) once it exists."""
    if Path(path).exists():
        raise RuntimeError(f"flag {path} is set")
    return True


def raise_flag(path: str) -> str:
    """Create the flag file: the 'fault' of these test experiments."""
    Path(path).write_text("set", encoding="utf-8")
    return path


def record(path: str, line: str) -> str:
    """Append a line to a file, so a test can see which rollbacks ran."""
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return line


def terminate_pods(label_selector: str) -> list[str]:
    """Select no pod, like chaosk8s's terminate_pods when its selector matches nothing."""
    return []
