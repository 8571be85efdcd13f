"""A tenant's Containerfile, parsed and written again by staxad: table tests of the parse,
the checks and the rendering buildah builds."""

from __future__ import annotations

import json

import pytest

from staxad.model.containerfile import (
    Unparsable,
    base_images,
    parse,
    pins_for,
    refusals,
    render,
    trigger_refusals,
)

OWN = frozenset({"localhost/staxa-dev/shop-web"})
# Every character Go's unicode.IsSpace accepts, which buildah trims before a keyword.
GO_SPACES = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
MOUNT = "RUN --mount=type=bind,source=l,target=/h cat /h/etc/shadow > /www/leak"


def problems(text: str) -> list[str]:
    try:
        return refusals(parse(text), OWN)
    except Unparsable as exc:
        return exc.problems


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("FROM busybox\nRUN echo hi\n", []),
        ("FROM busybox\nRUN --mount=type=bind,source=link,target=/h ls /h\n", ["line 2: RUN --mount is not allowed"]),
        ("FROM busybox\nrun --network=host wget x\n", ["RUN --network"]),
        ("FROM busybox\nRUN \\\n  --mount=type=cache,target=/c true\n", ["RUN --mount"]),
        (
            "# escape=`\nFROM busybox\nRUN `\n --security=insecure true\n",
            ["line 1: the escape parser directive", "line 4"],
        ),
        ("# syntax=docker/dockerfile:1\n# escape=\\\nFROM busybox\n", []),
        ("FROM busybox\nONBUILD RUN --mount=type=bind,source=/,target=/h true\n", ["RUN --mount"]),
        ("FROM busybox\n# RUN --mount=type=bind in a comment\nRUN echo --mount\n", []),
        ('FROM busybox\nRUN ["sh", "-c", "echo --network=host"]\n', []),
        ("FROM localhost/staxa-dev/other-web:abc\n", ["another tenant's image"]),
        ("FROM --platform=linux/amd64 localhost/staxa-dev/other-web:abc AS base\n", ["another tenant's image"]),
        ("FROM localhost/staxa-dev/shop-web:abc\n", []),
        ("FROM busybox\nCOPY --from=localhost/staxa-dev/other-api:1 /secret /s\n", ["another tenant's image"]),
        ("FROM busybox\nONBUILD COPY --from=localhost/staxa-dev/other-api:1 /s /s\n", ["another tenant's image"]),
        ("FROM busybox\nCOPY --from=$X /secret /s\n", ["COPY --from="]),
        ("FROM busybox AS one\nFROM busybox\nCOPY --from=one /a /b\nCOPY --from=0 /a /b\n", []),
        ("FROM busybox\nRUN\t--mount=type=bind,source=l,target=/h sh\n", ["RUN --mount"]),
        ("FROM busybox\nENV A=1 \\\u00a0\nRUN --mount=type=bind,source=l,target=/h sh\n", ["line 3: RUN --mount"]),
        ("\ufeffFROM busybox\nRUN echo a BOM first is dropped, as buildah does\n", []),
        ("FROM busybox\nRUN echo \ufeff\n", ["line 2: control character U+FEFF"]),
        ("FROM busybox\nRUN\x0b--mount=type=bind,source=l,target=/h sh\n", ["control character U+000B"]),
        ("ARG B=localhost/staxa-dev/other-web:1\nFROM $B\n", ["another tenant's image"]),
        ("FROM staxa-dev/other-web:1\n", ["another tenant's image"]),
        ("FROM localhost/staxa-dev/shop-web-x:1\n", ["another tenant's image"]),  # tenant shop-web-x's
        ("FROM 3f2a1bc9\n", ["not by image id"]),
        ("FROM busybox\nCOPY --from=sha256:3f2a1bc9 /a /b\n", ["not by image id"]),
        ("FROM busybox\nCOPY --from=3f2a1bc9 /a /b\n", ["not by image id"]),
        ("FROM busybox\r\nRUN echo windows line ends\r\n", []),
        ("FROM busybox\nRUN echo 'héllo wörld'\n", []),
        ("FROM busybox\nFOO bar\n", ["line 2: unknown instruction FOO"]),
        ("FROM busybox\nCOPY --link a b\n", ["COPY --link is not supported"]),
        ("FROM busybox\nENV --x=1\n", ["ENV --x is not supported"]),
        ("FROM busybox\nCOPY --chown=1\u00a0--from=x a b\n", ["COPY --chown="]),
        ("FROM busybox AS a b\n", ["FROM takes an image"]),
        ("FROM busybox\nENV A=b\\\\ \\\n", ["line 2: an instruction may not end with a backslash"]),
        ("FROM busybox\nONBUILD FROM x\n", ["ONBUILD FROM is not allowed"]),
        ("FROM busybox\nHEALTHCHECK --retries=3 CMD wget -q localhost\nHEALTHCHECK NONE\n", []),
        ("FROM busybox\nSHELL bash -c\n", ["SHELL takes a JSON array"]),
    ],
)
def test_refusals(text: str, refused: list[str]) -> None:
    found = problems(text)
    if "backslash" in "".join(refused):  # found only when rendered
        with pytest.raises(Unparsable) as exc:
            render(parse(text), {})
        found = exc.value.problems
    assert len(found) == len(refused), found
    for reason, says in zip(found, refused, strict=True):
        assert says in reason


@pytest.mark.parametrize("space", [c for c in GO_SPACES if c not in " \t\n"])
def test_every_space_buildah_trims_is_refused_before_a_keyword(space: str) -> None:
    found = problems(f"FROM busybox\n{space}{MOUNT}\n")
    assert len(found) == 1 and found[0].startswith("line 2:"), found


@pytest.mark.parametrize("space", [c for c in GO_SPACES if c not in " \t\n\r"])
def test_a_space_buildah_trims_inside_a_command_is_text(space: str) -> None:
    """After RUN, such a character is part of the shell command, in a JSON string."""
    text = f"FROM busybox\nRUN {space}--mount=type=bind,source=l,target=/h true\n"
    try:
        rendered = render(parse(text), {})
    except Unparsable as exc:
        assert "control character" in exc.problems[0]
        return
    line = rendered.splitlines()[1]
    assert line.isascii() and line.startswith('RUN ["/bin/sh", "-c", ')
    assert json.loads(line.removeprefix("RUN ")) == [
        "/bin/sh",
        "-c",
        f"{space}--mount=type=bind,source=l,target=/h true",
    ]


@pytest.mark.parametrize(
    "directive", ["# escape=`", "#escape=`", "# ESCAPE = ` x", "#\tescape\t=`", "# escape=x", "# escape=` x"]
)
def test_every_escape_directive_but_backslash_is_refused(directive: str) -> None:
    found = problems(f"{directive}\nFROM busybox\nRUN echo `\n{MOUNT}\n")
    assert any("escape parser directive" in p for p in found), found


def test_the_rendering_is_one_ascii_line_per_instruction_with_json_commands() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG B=busybox\n"
        "FROM $B AS build\n"
        "RUN echo hi && \\\n"
        "    # a comment inside\n"
        "\n"
        "    echo 'héllo'\n"
        "COPY --chown=1:1 a b /dest/\n"
        "FROM busybox\n"
        "COPY --from=build /x /y\n"
        'ENV A="h é" B=2\n'
        "ONBUILD RUN echo x\n"
        "HEALTHCHECK --interval=5s CMD wget -q localhost\n"
        "CMD node server.js\n"
        'SHELL ["/bin/bash", "-c"]\n'
        "RUN echo bash\n"
    )
    parsed = parse(text)
    assert render(parsed, pins_for(parsed, {"busybox": "f" * 64})).splitlines() == [
        "ARG B=busybox",
        f"FROM {'f' * 64} AS build",
        'RUN ["/bin/sh", "-c", "echo hi &&     echo \'h\\u00e9llo\'"]',
        'COPY --chown=1:1 ["a", "b", "/dest/"]',
        f"FROM {'f' * 64}",
        'COPY --from=build ["/x", "/y"]',
        'ENV A="h é" B=2',
        'ONBUILD RUN ["/bin/sh", "-c", "echo x"]',
        'HEALTHCHECK --interval=5s CMD ["/bin/sh", "-c", "wget -q localhost"]',
        'CMD ["/bin/sh", "-c", "node server.js"]',
        'SHELL ["/bin/bash", "-c"]',
        'RUN ["/bin/bash", "-c", "echo bash"]',
    ]


def test_copy_from_an_image_is_pinned_too() -> None:
    parsed = parse("FROM busybox\nCOPY --from=other:1 /a /b\n")
    rendered = render(parsed, pins_for(parsed, {"busybox": "a" * 64, "other:1": "b" * 64}))
    assert rendered == f'FROM {"a" * 64}\nCOPY --from={"b" * 64} ["/a", "/b"]\n'


@pytest.mark.parametrize(
    ("text", "images", "problems"),
    [
        ("FROM busybox\n", ["busybox"], 0),
        ("FROM a AS build\nFROM build\nFROM scratch\n", ["a"], 0),
        ("ARG V=20\nFROM node:${V}-alpine\n", ["node:20-alpine"], 0),
        ("ARG V\nFROM node:$V\n", [], 1),
        ("FROM node:${V:-18}\n", ["node:18"], 0),
        ("FROM --platform=linux/amd64 a:1 AS x\nFROM a:1\n", ["a:1"], 0),
        ("FROM a:1\nARG V=x\nFROM $V\n", ["a:1"], 1),  # an ARG after FROM is not global
    ],
)
def test_base_images(text: str, images: list[str], problems: int) -> None:
    found, unresolved = base_images(parse(text))
    assert found == images and len(unresolved) == problems


@pytest.mark.parametrize(
    ("triggers", "refused"),
    [
        (["RUN echo hi", "COPY . /app"], 0),
        (["RUN --mount=type=bind,source=/,target=/h true", "run  --network=host true"], 2),
        (["RUN\t--mount=type=bind,source=/,target=/h true"], 1),
        (["ENV x=1\nRUN --mount=type=bind,source=/,target=/h true"], 1),  # one trigger, two lines
        (["RUN \\", "--mount=type=bind,source=/,target=/h true"], 2),  # continued onto the next
        (["RUN\x0c--mount=x true"], 1),
        (["\u00a0RUN --mount=x true"], 1),
        (["RUN echo \u00e9"], 1),
        (["# escape=`", "RUN `", "--mount=x true"], 2),
        (["COPY --from=localhost/staxa-dev/other-api:1 /s /s"], 1),
        (["ONBUILD RUN true"], 1),
    ],
)
def test_trigger_refusals(triggers: list[str], refused: int) -> None:
    found = trigger_refusals("x", triggers, OWN)
    assert len(found) == refused, found
