"""Framework detection and the generated Containerfiles, from in-memory checkouts."""

from __future__ import annotations

import json

import pytest

from staxad.model.errors import PermanentError
from staxad.model.frameworks import BaseImages, detect

IMAGES = BaseImages("mirror/node:20", "mirror/python:3.12", "mirror/go:1.22", "mirror/alpine:3", "mirror/busybox:1")


class Files:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def list_dir(self, path: str) -> list[str]:
        return sorted({name.split("/")[0] for name in self.files if "/" in name})


def package(deps: dict[str, str] | None = None, dev: dict[str, str] | None = None, **scripts: str) -> str:
    return json.dumps({"dependencies": deps or {}, "devDependencies": dev or {}, "scripts": scripts})


def test_a_containerfile_wins_over_everything_and_is_used_as_is() -> None:
    own = "FROM scratch\n"
    plan = detect(Files({"Dockerfile": own, "package.json": package(start="node .")}), IMAGES)
    assert (plan.framework, plan.containerfile, plan.generated) == ("containerfile", own, False)
    assert detect(Files({"Containerfile": own, "Dockerfile": "x"}), IMAGES).containerfile == own


def test_node_kinds() -> None:
    nextjs = detect(Files({"package.json": package({"next": "14", "react": "18"}, build="next build")}), IMAGES)
    assert nextjs.framework == "nextjs" and "npx next start" in nextjs.containerfile
    vite = detect(Files({"package.json": package(dev={"vite": "5"}, build="vite build")}), IMAGES)
    assert vite.framework == "vite" and "COPY --from=app /app/dist /www" in vite.containerfile
    assert vite.containerfile.startswith("FROM mirror/node:20 AS app") and "FROM mirror/busybox:1" in vite.containerfile
    plain = detect(Files({"package.json": package({"express": "4"}, start="node server.js")}), IMAGES)
    assert plain.framework == "node" and 'CMD ["npm", "start"]' in plain.containerfile
    for broken in ("{not json", "[]", package({"express": "4"})):
        with pytest.raises(PermanentError):
            detect(Files({"package.json": broken}), IMAGES)


def test_python_kinds() -> None:
    asgi = detect(Files({"requirements.txt": "fastapi\n", "main.py": "api = FastAPI()\n"}), IMAGES)
    assert asgi.framework == "python-asgi" and "uvicorn main:api" in asgi.containerfile
    assert "pip install --no-cache-dir -r requirements.txt" in asgi.containerfile
    flask = detect(Files({"pyproject.toml": "[project]\n", "app.py": "app = Flask(__name__)\n"}), IMAGES)
    assert flask.framework == "python-wsgi" and "gunicorn" in flask.containerfile and "app:app" in flask.containerfile
    assert "pip install --no-cache-dir ." in flask.containerfile
    django = detect(Files({"requirements.txt": "django\n", "manage.py": "", "shop/wsgi.py": ""}), IMAGES)
    assert django.framework == "python-wsgi" and "shop.wsgi:application" in django.containerfile
    with pytest.raises(PermanentError, match="no app"):
        detect(Files({"requirements.txt": "requests\n", "tool.py": "print(1)\n"}), IMAGES)


def test_go_static_and_nothing() -> None:
    go = detect(Files({"go.mod": "module x\n", "main.go": ""}), IMAGES)
    assert go.framework == "go" and "FROM mirror/go:1.22 AS build" in go.containerfile
    assert "FROM mirror/alpine:3" in go.containerfile
    static = detect(Files({"index.html": "<h1>hi</h1>"}), IMAGES)
    assert static.framework == "static" and static.containerfile.startswith("FROM mirror/busybox:1\nCOPY . /www")
    assert "${PORT:-8080}" in static.containerfile
    with pytest.raises(PermanentError, match="no supported app"):
        detect(Files({"README.md": "hello"}), IMAGES)


def test_every_generated_image_listens_on_port() -> None:
    checkouts = [
        {"package.json": package({"next": "14"})},
        {"package.json": package(start="node .")},
        {"requirements.txt": "", "main.py": "app = FastAPI()"},
        {"requirements.txt": "", "app.py": "app = Flask(__name__)"},
        {"index.html": ""},
    ]
    for files in checkouts:
        plan = detect(Files(files), IMAGES)
        assert "PORT" in plan.containerfile or plan.framework == "node", plan  # npm start reads $PORT itself
