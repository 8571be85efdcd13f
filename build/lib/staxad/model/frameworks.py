"""What kind of app a checkout holds, and the Containerfile that builds it.

Rules, first match wins:

1. `Containerfile` or `Dockerfile` at the top: used as is.
2. `package.json`: `next` in dependencies -> Next.js (`next build`, `next start`);
   `vite` in (dev)dependencies with a `build` script -> static build served from
   `dist/`; otherwise a `start` script -> plain Node (`npm start`).
3. `requirements.txt` or `pyproject.toml`: an ASGI app (FastAPI/Starlette/Quart in
   `main.py`, `app.py`, `asgi.py` or `server.py`) runs under uvicorn; a WSGI app (Flask
   in those files, or Django's `<project>/wsgi.py` beside `manage.py`) under gunicorn.
4. `go.mod`: `go build`, the binary on a small runtime image.
5. `index.html`: a static site.

Every generated image listens on `$PORT`, which staxad sets to the service's port.
Base images come from configuration (`[build]`), so a private mirror works offline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Protocol

from staxad.model.errors import PermanentError


class RepoFiles(Protocol):
    def read(self, path: str) -> str | None:
        """The text of a regular file inside the checkout, or None when it is absent."""

    def list_dir(self, path: str) -> list[str]: ...


@dataclass(frozen=True)
class BaseImages:
    node: str
    python: str
    go: str
    go_runtime: str
    static: str


@dataclass(frozen=True)
class Plan:
    framework: str
    containerfile: str  # the repo's own, or one generated here
    generated: bool


PYTHON_MODULES = ("main", "app", "asgi", "server", "wsgi")
ASGI = re.compile(r"\b(FastAPI|Starlette|Quart)\s*\(")
WSGI = re.compile(r"\bFlask\s*\(")
APP_VARIABLE = re.compile(r"^(\w+)\s*=\s*(?:FastAPI|Starlette|Quart|Flask)\s*\(", re.MULTILINE)

_SERVE_STATIC = 'CMD ["/bin/sh", "-c", "exec httpd -f -v -p \\"${PORT:-8080}\\" -h /www"]'


def detect(files: RepoFiles, images: BaseImages) -> Plan:
    for name in ("Containerfile", "Dockerfile"):
        text = files.read(name)
        if text is not None:
            return Plan("containerfile", text, generated=False)
    package = files.read("package.json")
    if package is not None:
        return _node(package, images)
    if files.read("requirements.txt") is not None or files.read("pyproject.toml") is not None:
        return _python(files, images)
    if files.read("go.mod") is not None:
        return Plan("go", _go(images), generated=True)
    if files.read("index.html") is not None:
        return Plan("static", f"FROM {images.static}\nCOPY . /www\n{_SERVE_STATIC}\n", generated=True)
    raise PermanentError(
        "no supported app found at the top of the repository: add a Containerfile, or a package.json, "
        "requirements.txt/pyproject.toml, go.mod or index.html"
    )


def _node(package_json: str, images: BaseImages) -> Plan:
    try:
        package = json.loads(package_json)
    except ValueError as exc:
        raise PermanentError(f"package.json is not valid JSON: {exc}") from None
    if not isinstance(package, dict):
        raise PermanentError("package.json must be a JSON object")
    deps = {**_mapping(package.get("devDependencies")), **_mapping(package.get("dependencies"))}
    scripts = _mapping(package.get("scripts"))
    install = "RUN if [ -f package-lock.json ]; then npm ci; else npm install; fi"
    head = f"FROM {images.node} AS app\nWORKDIR /app\nCOPY . .\n{install}\n"
    if "next" in deps:
        start = 'CMD ["/bin/sh", "-c", "exec npx next start -H 0.0.0.0 -p \\"${PORT:-3000}\\""]'
        return Plan("nextjs", f"{head}RUN npm run build\nENV NODE_ENV=production\n{start}\n", generated=True)
    if "vite" in deps and "build" in scripts:
        return Plan(
            "vite",
            f"{head}RUN npm run build\n\nFROM {images.static}\nCOPY --from=app /app/dist /www\n{_SERVE_STATIC}\n",
            generated=True,
        )
    if "start" in scripts:
        return Plan("node", f'{head}ENV NODE_ENV=production\nCMD ["npm", "start"]\n', generated=True)
    raise PermanentError('package.json has no "start" script (and no Next.js or Vite build); add one')


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _python(files: RepoFiles, images: BaseImages) -> Plan:
    install = (
        "RUN pip install --no-cache-dir -r requirements.txt"
        if files.read("requirements.txt") is not None
        else "RUN pip install --no-cache-dir ."
    )
    head = f"FROM {images.python}\nWORKDIR /app\nCOPY . .\n{install}\n"
    for module in PYTHON_MODULES:
        source = files.read(f"{module}.py")
        if source is None:
            continue
        match = APP_VARIABLE.search(source)
        variable = match.group(1) if match else "app"
        if ASGI.search(source):
            run = f'exec uvicorn {module}:{variable} --host 0.0.0.0 --port \\"${{PORT:-8000}}\\"'
            return Plan(
                "python-asgi",
                f'{head}RUN pip install --no-cache-dir uvicorn\nCMD ["/bin/sh", "-c", "{run}"]\n',
                generated=True,
            )
        if WSGI.search(source):
            return Plan("python-wsgi", _gunicorn(head, f"{module}:{variable}"), generated=True)
    if files.read("manage.py") is not None:
        for folder in files.list_dir("."):
            if re.fullmatch(r"[A-Za-z_]\w*", folder) and files.read(f"{folder}/wsgi.py") is not None:
                return Plan("python-wsgi", _gunicorn(head, f"{folder}.wsgi:application"), generated=True)
    raise PermanentError(
        "a Python project was found but no app: define a FastAPI/Starlette/Flask `app` in "
        f"{', '.join(m + '.py' for m in PYTHON_MODULES)}, or add a Containerfile"
    )


def _gunicorn(head: str, target: str) -> str:
    run = f'exec gunicorn --bind \\"0.0.0.0:${{PORT:-8000}}\\" {target}'
    return f'{head}RUN pip install --no-cache-dir gunicorn\nCMD ["/bin/sh", "-c", "{run}"]\n'


def _go(images: BaseImages) -> str:
    return (
        f"FROM {images.go} AS build\nWORKDIR /src\nCOPY . .\n"
        "RUN CGO_ENABLED=0 go build -trimpath -o /out/app .\n\n"
        f'FROM {images.go_runtime}\nCOPY --from=build /out/app /app\nCMD ["/app"]\n'
    )
