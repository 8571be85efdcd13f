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

DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z]+)[ \t]*=[ \t]*(\S*)[ \t]*$")
STAXA_IMAGES = "localhost/staxa-"
# What buildah's parser treats as layout, and nothing else: lines end at \n only, words
# are split on space and tab, a continuation is a backslash then spaces or tabs. Python's
# str.split/strip/splitlines know more (\v, \f, \x1c-\x1f, \x85, NBSP, U+2028); a
# character one parser sees as layout and the other does not could hide an instruction.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]")
CONTINUATION = re.compile(r"\\[ \t]*$")
COMMENT = re.compile(r"^[ \t]*#")
WORDS = re.compile(r"[ \t]+")


def layout_problem(text: str) -> str | None:
    """Why the text cannot be read the same way as buildah reads it, or None."""
    body = text.replace("\r\n", "\n")
    if CONTROL.search(body):
        return "the Containerfile has control characters or a byte-order mark; only tabs and line breaks are allowed"
    for line in body.split("\n"):
        found = DIRECTIVE.match(line)
        if not found:
            break
        if found.group(1).lower() == "escape" and found.group(2) != "\\":
            return "the escape parser directive is not supported; use the default backslash"
    return None


def instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each logical line, continuations joined, comments dropped."""
    pending = ""
    for raw in text.replace("\r\n", "\n").split("\n"):
        if COMMENT.match(raw) or (not raw.strip(" \t") and pending):
            continue
        if CONTINUATION.search(raw):
            pending += CONTINUATION.sub("", raw).strip(" \t") + " "
            continue
        logical = (pending + raw).strip(" \t")
        pending = ""
        if logical:
            word, _, rest = _split(logical)
            yield word.upper(), rest
    if pending.strip(" \t"):
        word, _, rest = _split(pending.strip(" \t"))
        yield word.upper(), rest


def _split(logical: str) -> tuple[str, str, str]:
    parts = WORDS.split(logical, maxsplit=1)
    return parts[0], " ", (parts[1].strip(" \t") if len(parts) > 1 else "")


def _leading_flags(arguments: str) -> list[str]:
    flags = []
    for word in WORDS.split(arguments.strip(" \t")):
        if not word.startswith("--"):
            break
        flags.append(word)
    return flags


def image_problem(image: str, own_repositories: frozenset[str]) -> str | None:
    """Why a build may not use this image as a base or a source, or None."""
    lowered = image.lower().removeprefix("docker://")
    repository = lowered.rsplit("@", 1)[0]
    repository = repository.rsplit(":", 1)[0] if ":" in repository.rsplit("/", 1)[-1] else repository
    if re.fullmatch(r"(sha256:)?[0-9a-f]{6,64}", lowered):
        return f"{image}: name a base image by reference, not by image id"
    if lowered.startswith(("staxa-", STAXA_IMAGES)) and repository not in own_repositories:
        return f"{image} is another tenant's image; a build may use only its own tenant's images"
    return None


def refusals(text: str, own_repositories: frozenset[str]) -> list[str]:
    """Why this Containerfile may not be built (empty when it may). `own_repositories` are
    the repositories of the images staxad built for this tenant, which it may build on."""
    problem = layout_problem(text)
    if problem:
        return [problem]
    found: list[str] = []
    for instruction, arguments in instructions(text):
        if instruction == "ONBUILD":
            instruction, _, arguments = _split(arguments)
            instruction = instruction.upper()
        flags = _leading_flags(arguments)
        if instruction == "RUN" and flags:
            option = flags[0].split("=", 1)[0]
            found.append(f"RUN {option} is not allowed: build steps get no host mounts, networks or security options")
        images: list[str] = []
        if instruction == "FROM":
            rest = WORDS.split(arguments.strip(" \t"))[len(flags) :]
            images = rest[:1]
        elif instruction in ("COPY", "ADD"):
            images = [flag.split("=", 1)[1] for flag in flags if flag.startswith("--from=")]
        for image in images:
            if "$" in image:
                continue  # resolved and checked by base_images
            if (
                instruction != "FROM"
                and not ("/" in image or ":" in image)
                and not re.fullmatch(r"[0-9a-f]{6,64}", image)
            ):
                continue  # COPY --from=<stage name>
            refused = image_problem(image, own_repositories)
            if refused:
                found.append(refused)
    images, unresolved = base_images(text)
    found += unresolved
    for image in images:
        refused = image_problem(image, own_repositories)
        if refused and refused not in found:
            found.append(refused)
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
            for word in WORDS.split(arguments.strip(" \t")):
                name, _, value = word.partition("=")
                defaults[name] = value.strip("\"'")
        if instruction != "FROM":
            continue
        seen_from = True
        words = [w for w in WORDS.split(arguments.strip(" \t")) if w and not w.startswith("--")]
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
    """Why the ONBUILD triggers of a base image may not run in this build. buildah joins
    the triggers with newlines and parses them as a Containerfile, so they are checked as
    one: any layout trick or RUN option in them refuses the image."""
    joined = "\n".join(triggers)
    if "\n" in "".join(triggers) or CONTROL.search(joined) or "\r" in joined:
        return [f"base image {image} has ONBUILD triggers with line breaks or control characters"]
    if any(CONTINUATION.search(trigger) for trigger in triggers):
        return [f"base image {image} has ONBUILD triggers that continue onto another line"]
    found = []
    for instruction, arguments in instructions(joined):
        if instruction == "RUN" and _leading_flags(arguments):
            found.append(f"base image {image} has an ONBUILD trigger with a RUN option, which is not allowed")
    return found
