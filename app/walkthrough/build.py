"""Build the walk-through's two images from Maven Central and npm, cached by content in the one cache directory.

The host builds the artifacts (`mvn package`, `npm ci && ng build`) only when a hash of their sources changed; the
outputs, the Maven repository and the npm cache all live under `cache_dir()/walkthrough`. The images are then built
FROM debian:bookworm-slim with the kit (`kit.api.build_image`), which re-uses an image whose content key matches.

Run as `python -m app.walkthrough.build` to print the image refs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from kit.pins import cache_dir

__all__ = [
    "BACKEND_IMAGE",
    "FRONTEND_IMAGE",
    "backend_jar",
    "build_images",
    "frontend_dist",
    "source_key",
    "work_dir",
]

HERE = Path(__file__).resolve().parent
BACKEND = HERE / "backend"
FRONTEND = HERE / "frontend"
TRUSTSTORE_TOOL = HERE / "tools" / "PemTrustStore.java"
# Kustomize image names (last path segment of the base's kubernetesdemo/... names) and our local repositories.
BACKEND_IMAGE = "to-do-app-backend"
FRONTEND_IMAGE = "to-do-app-frontend"
BACKEND_SOURCES = ("pom.xml", "src")
FRONTEND_DEPS = ("package.json", "package-lock.json")
FRONTEND_SOURCES = (*FRONTEND_DEPS, "angular.json", "tsconfig.json", "src", "public")
TRUSTSTORE_PASSWORD = "changeit"  # protects nothing: the store holds public CA certificates only
BUILD_TIMEOUT = 1200.0  # a cold Maven or npm run downloads a few hundred MB through the proxy


def work_dir() -> Path:
    """Where the walk-through's caches and build outputs live: cache_dir()/walkthrough."""
    path = cache_dir() / "walkthrough"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _log(message: str) -> None:
    print(f"[walkthrough] {message}", file=sys.stderr, flush=True)


def _files(root: Path, names: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for name in names:
        path = root / name
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} is missing: the walk-through's sources are incomplete")
    return found


def _tool_version(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    return (done.stdout + done.stderr).strip()


def source_key(root: Path, names: Iterable[str], *extra: str) -> str:
    """A hash of the named files and folders under `root` (paths relative to it, and contents) plus `extra`."""
    digest = hashlib.sha256()
    for part in extra:
        digest.update(part.encode() + b"\0")
    for file in _files(root, names):
        digest.update(str(file.relative_to(root)).encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _run(command: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    """Run a build tool; on failure raise with the tail of its output and the command."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-4000:]
        raise RuntimeError(f"{what} failed ({done.returncode}) in {cwd}: `{' '.join(command)}`\n{output}")
    _log(f"{what} done in {time.monotonic() - started:.1f}s")


def _keep_only(parent: Path, keep: Path) -> None:
    """Drop older keyed outputs next to `keep`, so the cache holds one build per artifact."""
    for other in parent.iterdir():
        if other != keep and not other.name.startswith("."):
            shutil.rmtree(other, ignore_errors=True)


def _ca_bundle() -> Path | None:
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(var)
        if value and Path(value).is_file():
            return Path(value)
    return None


def _java_trust_options() -> list[str]:
    """JVM flags that make Maven trust $SSL_CERT_FILE (an intercepting proxy's CA), via a PKCS12 store made once."""
    bundle = _ca_bundle()
    if bundle is None:
        return []
    key = hashlib.sha256(bundle.read_bytes()).hexdigest()[:16]
    store = work_dir() / "truststore" / f"ca-{key}.p12"
    if not store.is_file():
        store.parent.mkdir(parents=True, exist_ok=True)
        partial = store.with_suffix(".tmp")
        _run(
            ["java", str(TRUSTSTORE_TOOL), str(bundle), str(partial), TRUSTSTORE_PASSWORD],
            store.parent,
            dict(os.environ),
            f"truststore from {bundle}",
        )
        partial.replace(store)
    return [
        f"-Djavax.net.ssl.trustStore={store}",
        "-Djavax.net.ssl.trustStoreType=PKCS12",
        f"-Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}",
    ]


def backend_jar() -> Path:
    """The back end's Spring Boot jar, rebuilt with `mvn -B -q package` only when pom.xml or src/ changed."""
    key = source_key(BACKEND, BACKEND_SOURCES, _tool_version("java", "-version"), _tool_version("mvn", "-v"))
    out = work_dir() / "backend" / key
    jar = out / "app.jar"
    if jar.is_file():
        return jar
    _log(f"back end sources changed (key {key}): mvn package")
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["MAVEN_OPTS"] = " ".join([*_java_trust_options(), env.get("MAVEN_OPTS", "")]).strip()
    with tempfile.TemporaryDirectory(prefix="build-", dir=out.parent) as tmp:
        target = Path(tmp) / "target"
        _run(
            [
                "mvn",
                "-B",
                "-q",
                f"-Dmaven.repo.local={work_dir() / 'm2' / 'repository'}",
                f"-Dbuild.dir={target}",
                "-DskipTests",
                "package",
            ],
            BACKEND,
            env,
            "mvn package",
        )
        staged = Path(tmp) / "out"
        staged.mkdir()
        shutil.copy2(target / "to-do-app-backend.jar", staged / "app.jar")
        staged.replace(out)
    _keep_only(out.parent, out)
    return jar


def _npm_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "npm_config_cache": str(work_dir() / "npm"),
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "NG_CLI_ANALYTICS": "false",
        }
    )
    bundle = _ca_bundle()
    if bundle is not None:
        env["npm_config_cafile"] = str(bundle)
        env["NODE_EXTRA_CA_CERTS"] = str(bundle)
    return env


def frontend_dist() -> Path:
    """The Angular build (index.html and bundles), rebuilt only when package*.json or the app's sources changed.

    The project is copied into a work folder in the cache, whose node_modules is reinstalled (`npm ci`) only when
    package*.json changed.
    """
    node = _tool_version("node", "--version")
    key = source_key(FRONTEND, FRONTEND_SOURCES, node)
    out = work_dir() / "frontend" / key
    if (out / "index.html").is_file():
        return out
    _log(f"front end sources changed (key {key}): ng build")
    env = _npm_env()
    project = work_dir() / "frontend-project"
    project.mkdir(parents=True, exist_ok=True)
    for name in FRONTEND_SOURCES:
        src, dest = FRONTEND / name, project / name
        if dest.is_dir():
            shutil.rmtree(dest)
        if src.is_dir():
            shutil.copytree(src, dest)
        else:
            shutil.copy2(src, dest)
    deps_key = source_key(FRONTEND, FRONTEND_DEPS, node)
    stamp = project / "node_modules" / ".deps-key"
    if not stamp.is_file() or stamp.read_text() != deps_key:
        _run(["npm", "ci", "--no-audit", "--no-fund"], project, env, "npm ci")
        stamp.write_text(deps_key)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=out.parent) as tmp:
        _run(["npx", "--no-install", "ng", "build", f"--output-path={tmp}/dist"], project, env, "ng build")
        Path(tmp, "dist", "browser").replace(out)
    _keep_only(out.parent, out)
    return out


def _stage(context: Path, files: dict[str, Path]) -> Path:
    """Copy the image's build context (Dockerfile, scripts, artifacts) into a fixed folder in the cache."""
    if context.exists():
        shutil.rmtree(context)
    context.mkdir(parents=True)
    for name, src in files.items():
        if src.is_dir():
            shutil.copytree(src, context / name)
        else:
            shutil.copy2(src, context / name)
    return context


def build_images(names: Iterable[str] | None = None) -> dict[str, str]:
    """Build (or re-use) both images; returns kustomize image name -> local image ref.

    `names` are the images the suite's target profile asks this builder for (the lifecycle's builder contract);
    both are built either way, since one Maven and one npm build make them.
    """
    del names
    from kit.api import build_image  # the kit preflights Docker and the base image: only when images are wanted

    contexts = work_dir() / "contexts"
    backend = _stage(contexts / "backend", {"Dockerfile": BACKEND / "Dockerfile", "app.jar": backend_jar()})
    frontend = _stage(
        contexts / "frontend",
        {
            "Dockerfile": FRONTEND / "Dockerfile",
            "frontend-entrypoint.sh": FRONTEND / "frontend-entrypoint.sh",
            "html": frontend_dist(),
        },
    )
    return {
        BACKEND_IMAGE: build_image(backend, BACKEND_IMAGE),
        FRONTEND_IMAGE: build_image(frontend, FRONTEND_IMAGE),
    }


def main() -> None:
    """Print `name=ref` for each image."""
    for name, ref in build_images().items():
        print(f"{name}={ref}")


if __name__ == "__main__":
    main()
