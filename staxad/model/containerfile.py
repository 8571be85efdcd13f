"""A tenant's Containerfile, parsed by staxad and written again by staxad: pure, so it has
table tests.

buildah never reads the tenant's bytes. `parse` reads them into instructions (or says,
with the line, why it cannot), `refusals` checks what the parse found, and `render` writes
the Containerfile buildah builds: one instruction a line at column 0, ASCII keywords and
flags, no parser directive and no comment (so the default escape), and every command and
path list as a JSON array with only ASCII in it. What buildah reads is then exactly what
was checked, whatever buildah counts as layout: a check of the tenant's own text, passed
through, was bypassed five ways (leading spaces Go's `unicode.IsSpace` trims and Python's
parser did not, an `escape` directive it did not match).

Why the checks: buildah in Debian 12 (podman 4.3) resolves `RUN --mount=type=bind,
source=<link>` on the host, so a symbolic link in the build context mounts the host's `/`
into a RUN step (CVE-2024-1753's class), and newer buildah takes `RUN --network=host`:
RUN gets no options at all, in the file, in its ONBUILD and in a base image's ONBUILD
triggers (which run in this build; `trigger_refusals`). Images staxad built for other
tenants sit in the same store: naming one in `FROM` or `COPY --from` is refused, and
the images that are used are pinned by id in the rendered file (`render`'s `pins`), so
the image whose triggers were checked is the one that is built on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

STAXA_IMAGES = "localhost/staxa-"
DEFAULT_SHELL = ("/bin/sh", "-c")
INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip
COMMANDS = frozenset({"RUN", "CMD", "ENTRYPOINT"})
# Layout is spaces, tabs and \n; a \r only before \n. Anything else that some parser reads
# as layout (\v, \f, \x1c-\x1f, \x85, NBSP, U+2028, U+3000 ...) is text to staxad, so it is
# refused where it could be layout (leading whitespace, keywords, flags) and JSON-escaped
# elsewhere.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]")
CONTINUATION = re.compile(r"\\[ \t]*$")
DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*([a-z]+)[ \t]*=[ \t]*(.?)", re.IGNORECASE)
WORDS = re.compile(r"[ \t]+")
KEYWORD = re.compile(r"[A-Za-z]+")
IMAGE_WORD = re.compile(r"[A-Za-z0-9._/:@${}-]+")
STAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
# The flags each instruction may carry, and the characters their values may hold.
FLAGS: dict[str, dict[str, re.Pattern[str]]] = {
    "FROM": {"platform": re.compile(r"[A-Za-z0-9_/.${}-]+")},
    "COPY": {
        "from": re.compile(r"[A-Za-z0-9._/:@-]+"),
        "chown": re.compile(r"[A-Za-z0-9._:${}-]+"),
        "chmod": re.compile(r"[0-7]{3,4}"),
    },
    "ADD": {"chown": re.compile(r"[A-Za-z0-9._:${}-]+"), "chmod": re.compile(r"[0-7]{3,4}")},
    "HEALTHCHECK": {name: re.compile(r"[0-9a-z.]+") for name in ("interval", "timeout", "start-period", "retries")},
}
RUN_OPTION = "build steps get no host mounts, networks or security options"


@dataclass(frozen=True)
class Instruction:
    line: int  # where it starts in the tenant's file
    keyword: str  # upper case
    flags: tuple[tuple[str, str], ...]  # (name, value), in order
    args: str  # the rest, continuations joined
    words: tuple[str, ...] | None = None  # a JSON array's strings, or a list's words
    inner: Instruction | None = None  # ONBUILD's instruction, HEALTHCHECK's CMD


class Unparsable(ValueError):
    """The file cannot be read exactly; each problem names its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse(text: str) -> list[Instruction]:
    """The instructions of a Containerfile as buildah's parser joins them (comments and
    empty continuation lines dropped, continuation lines kept as they are), or Unparsable."""
    lines = text.removeprefix("\ufeff").split("\n")
    lines = [line.removesuffix("\r") for line in lines]
    problems = [
        f"line {n}: control character U+{ord(bad.group()):04X}; only tabs and line breaks are allowed"
        for n, line in enumerate(lines, 1)
        if (bad := CONTROL.search(line))
    ]
    if problems:  # the lines they are on cannot be read further
        raise Unparsable(problems)
    for n, line in enumerate(lines, 1):
        directive = DIRECTIVE.match(line)
        if not directive:
            break
        if directive.group(1).lower() == "escape" and directive.group(2) != "\\":
            problems.append(f"line {n}: the escape parser directive is not supported; use the default backslash")
    found: list[Instruction] = []
    i = 0
    while i < len(lines):
        start, logical = i + 1, lines[i].lstrip(" \t")
        i += 1
        if not logical or logical.startswith("#"):
            continue
        continued = bool(CONTINUATION.search(logical))
        logical = CONTINUATION.sub("", logical)
        while continued and i < len(lines):
            following = lines[i]
            i += 1
            if following.lstrip() and not following.lstrip().startswith("#"):
                continued = bool(CONTINUATION.search(following))
                logical += CONTINUATION.sub("", following)
        try:
            found.append(_instruction(start, logical))
        except Unparsable as exc:
            problems += exc.problems
    if problems:
        raise Unparsable(problems)
    return found


def _instruction(n: int, logical: str) -> Instruction:
    keyword, _, rest = _split(logical)
    if not KEYWORD.fullmatch(keyword):
        if keyword[:1].isspace():
            raise Unparsable([f"line {n}: leading whitespace other than spaces and tabs (U+{ord(keyword[0]):04X})"])
        raise Unparsable([f"line {n}: {keyword[:40]!r} is not an instruction (keywords are ASCII letters)"])
    keyword = keyword.upper()
    if keyword not in INSTRUCTIONS:
        raise Unparsable([f"line {n}: unknown instruction {keyword[:40]}"])
    flags, args = _flags(n, keyword, rest)
    if keyword == "ONBUILD":
        inner = _instruction(n, args)
        if inner.keyword in ("ONBUILD", "FROM", "MAINTAINER"):
            raise Unparsable([f"line {n}: ONBUILD {inner.keyword} is not allowed"])
        return Instruction(n, keyword, flags, args, inner=inner)
    if keyword == "HEALTHCHECK":
        word, _, command = _split(args)
        if word.upper() == "NONE" and not command:
            return Instruction(n, keyword, flags, "NONE")
        if word.upper() != "CMD" or not command:
            raise Unparsable([f"line {n}: HEALTHCHECK takes NONE or CMD and a command"])
        return Instruction(n, keyword, flags, args, inner=Instruction(n, "CMD", (), command, _json_words(command)))
    if keyword in COMMANDS or keyword == "SHELL":
        words = _json_words(args)
        if keyword == "SHELL" and not words:
            raise Unparsable([f"line {n}: SHELL takes a JSON array of strings"])
        return Instruction(n, keyword, flags, args, words)
    if keyword in ("COPY", "ADD", "VOLUME"):
        words = _json_words(args) or tuple(w for w in WORDS.split(args) if w)
        if keyword != "VOLUME" and len(words) < 2:
            raise Unparsable([f"line {n}: {keyword} takes at least one source and a destination"])
        return Instruction(n, keyword, flags, args, words)
    if keyword == "FROM":
        words = tuple(w for w in WORDS.split(args) if w)
        if not (len(words) == 1 or (len(words) == 3 and words[1].upper() == "AS")):
            raise Unparsable([f"line {n}: FROM takes an image and, optionally, AS and a stage name"])
        if not IMAGE_WORD.fullmatch(words[0]):
            raise Unparsable([f"line {n}: {words[0][:80]!r} is not an image reference"])
        if len(words) == 3 and not STAGE_NAME.fullmatch(words[2]):
            raise Unparsable([f"line {n}: {words[2][:80]!r} is not a stage name"])
        return Instruction(n, keyword, flags, args, words)
    # ARG ENV EXPOSE LABEL MAINTAINER STOPSIGNAL USER WORKDIR: written with their arguments
    # as given (no flags, one line), which buildah reads with its own quoting and variables;
    # none of them can mount, reach a network or name an image.
    return Instruction(n, keyword, flags, args)


def _split(logical: str) -> tuple[str, str, str]:
    parts = WORDS.split(logical.strip(" \t"), maxsplit=1)
    return parts[0], " ", (parts[1].strip(" \t") if len(parts) > 1 else "")


def _flags(n: int, keyword: str, rest: str) -> tuple[tuple[tuple[str, str], ...], str]:
    flags: list[tuple[str, str]] = []
    while rest.startswith("--"):
        word, _, rest = _split(rest)
        name, _, value = word[2:].partition("=")
        if keyword == "RUN":
            raise Unparsable([f"line {n}: RUN --{name[:40]} is not allowed: {RUN_OPTION}"])
        allowed = FLAGS.get(keyword, {})
        if name not in allowed:
            raise Unparsable([f"line {n}: {keyword} --{name[:40]} is not supported here"])
        if not allowed[name].fullmatch(value):
            raise Unparsable([f"line {n}: {keyword} --{name}={value[:80]!r} is not a value staxad builds with"])
        flags.append((name, value))
    return tuple(flags), rest


def _json_words(args: str) -> tuple[str, ...] | None:
    """The strings of a JSON array form, or None for the shell form (as buildah decides)."""
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        return None
    return tuple(value)


def render(instructions: list[Instruction], pins: Mapping[str, str]) -> str:
    """The Containerfile buildah builds: `pins` maps the image references of FROM and
    COPY --from to the image ids that were checked."""
    out: list[str] = []
    shell: tuple[str, ...] = DEFAULT_SHELL
    for instruction in instructions:
        if instruction.keyword == "FROM":
            shell = DEFAULT_SHELL
        elif instruction.keyword == "SHELL" and instruction.words:
            shell = instruction.words
        line = _line(instruction, pins, shell)
        if CONTINUATION.search(line):
            raise Unparsable([f"line {instruction.line}: an instruction may not end with a backslash"])
        out.append(line)
    return "\n".join(out) + "\n"


def _line(i: Instruction, pins: Mapping[str, str], shell: tuple[str, ...]) -> str:
    flags = "".join(f" --{name}={pins.get(value, value) if name == 'from' else value}" for name, value in i.flags)
    head = i.keyword + flags
    if i.keyword == "ONBUILD" and i.inner is not None:
        return f"{head} {_line(i.inner, pins, shell)}"
    if i.keyword == "HEALTHCHECK" and i.inner is not None:
        return f"{head} CMD {_array(i.inner, shell)}"
    if i.keyword in COMMANDS or i.keyword == "SHELL":
        return f"{head} {_array(i, shell)}"
    if i.keyword in ("COPY", "ADD", "VOLUME"):
        return f"{head} {json.dumps(list(i.words or ()))}"
    if i.keyword == "FROM" and i.words is not None:
        image = pins.get(i.words[0], i.words[0])
        return f"{head} {image}" + (f" AS {i.words[2]}" if len(i.words) == 3 else "")
    return f"{head} {i.args}" if i.args else head


def _array(i: Instruction, shell: tuple[str, ...]) -> str:
    words = i.words if i.words is not None else (*shell, i.args)
    return json.dumps(list(words))


def _stage_names(instructions: list[Instruction]) -> set[str]:
    return {i.words[2].lower() for i in instructions if i.keyword == "FROM" and i.words and len(i.words) == 3}


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


def refusals(instructions: list[Instruction], own_repositories: frozenset[str]) -> list[str]:
    """Why these instructions may not be built (empty when they may): images of other
    tenants, or by id. `own_repositories` are this tenant's built repositories."""
    images, found = base_images(instructions)
    images += copy_images(instructions)
    for image in images:
        refused = image_problem(image, own_repositories)
        if refused and refused not in found:
            found.append(refused)
    return found


def copy_images(instructions: list[Instruction]) -> list[str]:
    """The images `COPY --from` reads (not earlier stages, named or numbered)."""
    stages = _stage_names(instructions)
    found: list[str] = []
    for instruction in instructions:
        for i in (instruction, instruction.inner):
            for name, value in i.flags if i is not None else ():
                if name == "from" and value.lower() not in stages and not value.isdigit() and value not in found:
                    found.append(value)
    return found


VARIABLE = re.compile(r"\$(?:\{(\w+)(?::-([^}]*))?\}|(\w+))")


def base_images(instructions: list[Instruction]) -> tuple[list[str], list[str]]:
    """The images the stages start FROM (not earlier stages, not scratch), with the global
    ARG defaults put in; and why some cannot be resolved (staxad passes no build
    arguments, so an ARG without a default stays empty)."""
    stages: set[str] = set()
    images: list[str] = []
    problems: list[str] = []
    for instruction, image in _froms(instructions):
        assert instruction.words is not None
        if image is None:
            problems.append(
                f"line {instruction.line}: FROM {instruction.words[0]} uses a build argument with no default "
                "(staxad passes none)"
            )
        elif image.lower() not in stages and image.lower() != "scratch" and image not in images:
            images.append(image)
        if len(instruction.words) == 3:
            stages.add(instruction.words[2].lower())
    return images, problems


def pins_for(instructions: list[Instruction], ids: Mapping[str, str]) -> dict[str, str]:
    """FROM words and COPY --from values -> the ids of the images they resolve to, for `render`."""
    pins = {
        i.words[0]: ids[image] for i, image in _froms(instructions) if i.words and image is not None and image in ids
    }
    pins.update({image: ids[image] for image in copy_images(instructions) if image in ids})
    return pins


def _froms(instructions: list[Instruction]) -> list[tuple[Instruction, str | None]]:
    """Each FROM with its image resolved from the ARGs before the first FROM (None: unresolved)."""
    defaults: dict[str, str] = {}
    found: list[tuple[Instruction, str | None]] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not found:
            for word in WORDS.split(instruction.args):
                name, _, value = word.partition("=")
                defaults[name] = value.strip("\"'")
        elif instruction.keyword == "FROM" and instruction.words:
            found.append((instruction, resolve(instruction.words[0], defaults)))
    return found


def resolve(word: str, defaults: Mapping[str, str]) -> str | None:
    """`word` with `$NAME`, `${NAME}` and `${NAME:-default}` put in; None when a name has no value."""
    missing: list[str] = []

    def put(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(3)
        if defaults.get(name):
            return defaults[name]
        if found.group(2) is not None:
            return found.group(2)
        missing.append(name)
        return ""

    resolved = VARIABLE.sub(put, word)
    return None if missing else resolved


def trigger_refusals(image: str, triggers: list[str], own_repositories: frozenset[str]) -> list[str]:
    """Why the ONBUILD triggers of a base image may not run in this build. buildah reads
    the triggers themselves (joined with line breaks), not a rendering of them, so each must
    be one instruction in printable ASCII that staxad's parse reads exactly as buildah's
    does: no line break, continuation, comment or directive, no RUN option."""
    found: list[str] = []
    for trigger in triggers:
        if not re.fullmatch(r"[\x20-\x7e\t]+", trigger) or trigger.lstrip(" \t").startswith("#"):
            found.append(f"base image {image} has an ONBUILD trigger that is not one line of printable ASCII")
        elif CONTINUATION.search(trigger):
            found.append(f"base image {image} has an ONBUILD trigger that continues onto another line")
        else:
            try:
                instruction = _instruction(0, trigger)
            except Unparsable as exc:
                reason = exc.problems[0].removeprefix("line 0: ")
                found.append(f"base image {image} has an ONBUILD trigger staxad cannot build: {reason}")
                continue
            if instruction.keyword in ("ONBUILD", "FROM"):
                found.append(f"base image {image} has an ONBUILD {instruction.keyword} trigger")
            for source in copy_images([instruction]):
                refused = image_problem(source, own_repositories)
                if refused:
                    found.append(f"base image {image} has an ONBUILD trigger that copies from {refused}")
    return found
