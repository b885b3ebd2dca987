"""Masking secrets and refusing kubeconfigs in the results folder (every file, every form of a secret)."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "MASK",
    "KubeconfigRefusedError",
    "looks_like_kubeconfig",
    "redact_folder",
    "redact_text",
    "redact_tree",
    "secret_leaks",
    "secret_variants",
    "slug",
]

MASK = "***"

_KUBECONFIG_MARKERS = (
    re.compile(r"""^\s*["']?apiVersion["']?\s*:\s*["']?v1["']?\s*,?\s*$""", re.MULTILINE),
    re.compile(r"""^\s*["']?kind["']?\s*:\s*["']?Config["']?\s*,?\s*$""", re.MULTILINE),
    re.compile(r"""^\s*["']?clusters["']?\s*:""", re.MULTILINE),
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class KubeconfigRefusedError(ValueError):
    """Raised when something that looks like a kubeconfig would be written into the results folder."""


def looks_like_kubeconfig(text: str) -> bool:
    """True when text carries the three markers of a kubeconfig (apiVersion v1, kind Config, clusters)."""
    return all(m.search(text) for m in _KUBECONFIG_MARKERS)


def secret_variants(value: str) -> list[str]:
    """Every form of a secret that may land in a file: raw, base64 (padded, unpadded, url-safe), escaped."""
    if not value:
        return []
    raw = value.encode()
    forms = {
        value,
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        html.escape(value, quote=True),
        html.escape(value, quote=False),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    # Longest first, so a secret that contains another one is masked whole.
    return sorted((f for f in forms if f), key=len, reverse=True)


# The characters of a name or a word: a secret value found inside a longer run of them is a different word (the
# username `to-do-app` inside the database name `to-do-app-db`), not a copy of the secret.
_WORD = "A-Za-z0-9._-"


def secret_leaks(secrets: Mapping[str, str], settings: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Where a secret value (any of its forms) stands as a whole word in the plain settings (ConfigMaps).

    `secrets` maps a label (Secret/key) to its value; `settings` maps a ConfigMap to its data. A value counts as
    leaked where it is the whole setting or is delimited by anything but a name character (letters, digits, `.`,
    `_`, `-`): `password=s3cret`, `user:s3cret@host` and a base64 copy are found; the same letters inside a longer
    name are not. Values shorter than 4 characters are not checked (too many chance matches).
    """
    found = []
    for label, value in secrets.items():
        if len(value) < 4:
            continue
        patterns = [re.compile(rf"(?<![{_WORD}]){re.escape(v)}(?![{_WORD}])") for v in secret_variants(value)]
        for config_map, data in settings.items():
            for key, text in data.items():
                if any(p.search(text) for p in patterns):
                    found.append(f"{label} in ConfigMap {config_map}/{key}")
    return found


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Mask every variant of every secret in text."""
    variants = sorted({v for s in secrets for v in secret_variants(s)}, key=len, reverse=True)
    for v in variants:
        text = text.replace(v, MASK)
    return text


def redact_folder(path: str | Path, secrets: Iterable[str]) -> list[Path]:
    """Rewrite every text file under path in place with secrets masked; returns the files changed."""
    secret_list = [s for s in secrets if s]
    changed: list[Path] = []
    if not secret_list:
        return changed
    for file in sorted(Path(path).rglob("*")):
        if not file.is_file() or file.is_symlink():
            continue
        data = file.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            # Binary files (screenshots) are rendered from already-redacted text; they are left as they are.
            continue
        new = redact_text(text, secret_list)
        if new != text:
            file.write_text(new, encoding="utf-8")
            changed.append(file)
    return changed


def redact_tree(node: object, secrets: Iterable[str]) -> object:
    """A copy of a JSON-like tree with every string (keys too) redacted."""
    secret_list = [s for s in secrets if s]
    if not secret_list:
        return node
    if isinstance(node, str):
        return redact_text(node, secret_list)
    if isinstance(node, dict):
        return {redact_text(str(k), secret_list): redact_tree(v, secret_list) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [redact_tree(v, secret_list) for v in node]
    return node


def slug(text: str) -> str:
    """A file-name-safe slug of text."""
    return _SAFE_NAME.sub("-", text).strip("-").lower()[:80] or "x"
