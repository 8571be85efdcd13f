"""What a tenant's Containerfile may not ask of the build: pure, so it has table tests.

Buildah in Debian 12 (podman 4.3) resolves `RUN --mount=type=bind,source=<link>` on the
host, so a symbolic link in the build context (or in a `from=` image) mounts the host's
`/` into a RUN step (the class of CVE-2024-1753); newer buildah also takes
`RUN --network=host`. Neither can be made safe by a podman flag on these versions, so
every `RUN` option is refused: in the Containerfile, in its `ONBUILD RUN`, and in the
ONBUILD triggers of the base images it names (which run as part of this build; the
builder reads them with `base_images` and `trigger_refusals`). Images staxad built for
other tenants sit in the same rootless store; naming one in `FROM` or `COPY --from`
would read another tenant's files.
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


VARIABLE = re.compile(r"\$(?:\{(\w+)(?::-([^}]*))?\}|(\w+))")


def base_images(text: str) -> tuple[list[str], list[str]]:
    """The images the stages start FROM (not earlier stages, not scratch), with the
    global ARG defaults put in; and why some cannot be resolved (staxad passes no build
    arguments, so an ARG without a default stays empty)."""
    defaults: dict[str, str] = {}
    stages: set[str] = set()
    images: list[str] = []
    problems: list[str] = []
    seen_from = False
    for instruction, arguments in instructions(text):
        if instruction == "ARG" and not seen_from:
            for word in arguments.split():
                name, _, value = word.partition("=")
                defaults[name] = value.strip("\"'")
        if instruction != "FROM":
            continue
        seen_from = True
        words = [w for w in arguments.split() if not w.startswith("--")]
        if not words:
            continue
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2].lower())
        missing: list[str] = []

        def put(found: re.Match[str], missing: list[str] = missing) -> str:
            name = found.group(1) or found.group(3)
            if defaults.get(name):
                return defaults[name]
            if found.group(2) is not None:
                return found.group(2)
            missing.append(name)
            return ""

        image = VARIABLE.sub(put, words[0])
        if missing:
            problems.append(f"FROM {words[0]} uses ${missing[0]}, which has no default (staxad passes no build args)")
        elif image.lower() not in stages and image.lower() != "scratch" and image not in images:
            images.append(image)
    return images, problems


def trigger_refusals(image: str, triggers: list[str]) -> list[str]:
    """Why the ONBUILD triggers of a base image may not run in this build."""
    found = []
    for trigger in triggers:
        instruction, _, arguments = trigger.strip().partition(" ")
        if instruction.upper() == "RUN" and _leading_flags(arguments.strip()):
            found.append(f"base image {image} has an ONBUILD trigger with a RUN option, which is not allowed")
    return found
