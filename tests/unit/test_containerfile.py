"""What a tenant's Containerfile may ask of a build: table tests of the pure check."""

from __future__ import annotations

import pytest

from staxad.model.containerfile import base_images, instructions, refusals, trigger_refusals

OWN = frozenset({"localhost/staxa-dev/shop-web"})


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("FROM busybox\nRUN echo hi\n", []),
        ("FROM busybox\nRUN --mount=type=bind,source=link,target=/h ls /h\n", ["RUN --mount"]),
        ("FROM busybox\nrun --network=host wget x\n", ["RUN --network"]),
        ("FROM busybox\nRUN \\\n  --mount=type=cache,target=/c true\n", ["RUN --mount"]),
        ("# escape=`\nFROM busybox\nRUN `\n --security=insecure true\n", ["escape parser directive"]),
        ("FROM busybox\nONBUILD RUN --mount=type=bind,source=/,target=/h true\n", ["RUN --mount"]),
        ("FROM busybox\n# RUN --mount=type=bind in a comment\nRUN echo --mount\n", []),
        ('FROM busybox\nRUN ["sh", "-c", "echo --network=host"]\n', []),
        ("FROM localhost/staxa-dev/other-web:abc\n", ["another tenant's image"]),
        ("FROM --platform=linux/amd64 localhost/staxa-dev/other-web:abc AS base\n", ["another tenant's image"]),
        ("FROM localhost/staxa-dev/shop-web:abc\n", []),
        ("FROM busybox\nCOPY --from=localhost/staxa-dev/other-api:1 /secret /s\n", ["another tenant's image"]),
        ("FROM busybox AS one\nFROM busybox\nCOPY --from=one /a /b\n", []),
        # parser differentials a security review found: each must still be caught
        ("FROM busybox\nRUN\t--mount=type=bind,source=l,target=/h sh\n", ["RUN --mount"]),
        ("FROM busybox\nENV A=1 \\\u00a0\nRUN --mount=type=bind,source=l,target=/h sh\n", ["RUN --mount"]),
        ("\ufeff# escape=`\nFROM busybox\nRUN `\n--mount=type=bind,source=l,target=/h sh\n", ["byte-order mark"]),
        ("# escape=`\nFROM busybox\n", ["escape parser directive"]),
        ("FROM busybox\nRUN\x0b--mount=type=bind,source=l,target=/h sh\n", ["control characters"]),
        ("ARG B=localhost/staxa-dev/other-web:1\nFROM $B\n", ["another tenant's image"]),
        ("FROM staxa-dev/other-web:1\n", ["another tenant's image"]),
        ("FROM localhost/staxa-dev/shop-web-x:1\n", ["another tenant's image"]),  # tenant shop-web-x's
        ("FROM 3f2a1bc9\n", ["not by image id"]),
        ("FROM busybox\nCOPY --from=sha256:3f2a1bc9 /a /b\n", ["not by image id"]),
        ("FROM busybox\r\nRUN echo windows line ends\r\n", []),
        ("FROM busybox\nRUN echo 'héllo wörld'\n", []),
    ],
)
def test_refusals(text: str, refused: list[str]) -> None:
    found = refusals(text, OWN)
    assert len(found) == len(refused), found
    for reason, says in zip(found, refused, strict=True):
        assert says in reason


def test_continuations_and_comments_make_logical_lines() -> None:
    text = "FROM a\nRUN one \\\n# a comment inside\n    two\n\nCMD x\n"
    found = [(word, " ".join(rest.split())) for word, rest in instructions(text)]
    assert found == [("FROM", "a"), ("RUN", "one two"), ("CMD", "x")]


@pytest.mark.parametrize(
    ("text", "images", "problems"),
    [
        ("FROM busybox\n", ["busybox"], 0),
        ("FROM a AS build\nFROM build\nFROM scratch\n", ["a"], 0),
        ("ARG V=20\nFROM node:${V}-alpine\n", ["node:20-alpine"], 0),
        ("ARG V\nFROM node:$V\n", [], 1),
        ("FROM node:${V:-18}\n", ["node:18"], 0),
        ("FROM --platform=linux/amd64 a:1 AS x\nFROM a:1\n", ["a:1"], 0),
    ],
)
def test_base_images(text: str, images: list[str], problems: int) -> None:
    found, unresolved = base_images(text)
    assert found == images and len(unresolved) == problems


@pytest.mark.parametrize(
    ("triggers", "refused"),
    [
        (["RUN echo hi", "COPY . /app"], 0),
        (["RUN --mount=type=bind,source=/,target=/h true", "run  --network=host true"], 2),
        (["RUN\t--mount=type=bind,source=/,target=/h true"], 1),
        (["ENV x=1\nRUN --mount=type=bind,source=/,target=/h true"], 1),  # one trigger, two lines
        (["RUN \\", "--mount=type=bind,source=/,target=/h true"], 1),  # continued onto the next
        (["RUN\x0c--mount=x true"], 1),
    ],
)
def test_trigger_refusals(triggers: list[str], refused: int) -> None:
    found = trigger_refusals("x", triggers)
    assert len(found) == refused, found
