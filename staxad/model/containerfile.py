"""What a tenant's Containerfile may not ask of the build: pure, so it has table tests.

Buildah in Debian 12 (podman 4.3) resolves `RUN --mount=type=bind,source=<link>` on the
host, so a symbolic link in the build context mounts the host's `/` into a RUN step
(the class of CVE-2024-1753); newer buildah also takes `RUN --network=host`. Neither
can be made safe by a podman flag on these versions, so every `RUN` option is refused,
in `ONBUILD RUN` too. Images staxad built for other tenants sit in the same rootless
store; naming one in `FROM` or `COPY --from` would read another tenant's files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S*)\s*$")
STAXA_IMAGES = "localhost/staxa-"


def _directives(lines: list[str]) -> str:
    """The escape character set by parser directives at the top (default backslash)."""
    escape = "\\"
    for line in lines:
        found = DIRECTIVE.match(line.strip())
        if not found:
            break
        if found.group(1).lower() == "escape" and found.group(2) in ("\\", "`"):
            escape = found.group(2)
    return escape


def instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each logical line, continuations joined, comments dropped."""
    lines = text.splitlines()
    escape = _directives(lines)
    pending = ""
    for raw in lines:
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and pending):
            continue
        if stripped.endswith(escape):
            pending += stripped[: -len(escape)] + " "
            continue
        logical = (pending + stripped).strip()
        pending = ""
        if logical:
            word, _, rest = logical.partition(" ")
            yield word.upper(), rest.strip()
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        yield word.upper(), rest.strip()


def _leading_flags(arguments: str) -> list[str]:
    flags = []
    for word in arguments.split():
        if not word.startswith("--"):
            break
        flags.append(word)
    return flags


def refusals(text: str, own_images: str) -> list[str]:
    """Why this Containerfile may not be built (empty when it may). `own_images` is the
    prefix of the images staxad built for this tenant, which it may build on."""
    found: list[str] = []
    for instruction, arguments in instructions(text):
        if instruction == "ONBUILD":
            instruction, _, arguments = arguments.partition(" ")
            instruction, arguments = instruction.upper(), arguments.strip()
        flags = _leading_flags(arguments)
        if instruction == "RUN" and flags:
            option = flags[0].split("=", 1)[0]
            found.append(f"RUN {option} is not allowed: build steps get no host mounts, networks or security options")
        images: list[str] = []
        if instruction == "FROM":
            rest = arguments.split()[len(flags) :]
            images = rest[:1]
        elif instruction in ("COPY", "ADD"):
            images = [flag.split("=", 1)[1] for flag in flags if flag.startswith("--from=")]
        for image in images:
            lowered = image.lower()
            if lowered.startswith(STAXA_IMAGES) and not lowered.startswith(own_images.lower()):
                found.append(f"{image} is another tenant's image; a build may use only its own tenant's images")
    return found
