"""The Jinja2 side of rendering: two sandboxed environments, inline sources, errors with a line number.

Two environments share one loader (the `RITM_TEMPLATES` directory first, then the shipped `templates`
package): `text` renders subjects and plain-text bodies as they are; `markup` renders email HTML and
Telegram HTML with autoescaping, so contact data can never inject markup while the template's own tags
stay. Both use `StrictUndefined`, and every failure — syntax, undefined name, unknown link, sandbox
violation, missing include, a render over its time or size limit (dispatcher.render_limits) — becomes a
`TemplateProblem` naming the template and line.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    meta,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import SecurityError

import templates as shipped_templates
from dispatcher.render_context import NoConnectLink, UnknownLink
from dispatcher.render_guard import GuardedSandbox
from dispatcher.render_limits import RenderBudget, RenderLimitExceeded, RenderLimits, budget_scope

Kind = Literal["text", "markup"]
SHIPPED_DIR = Path(shipped_templates.__file__).resolve().parent


class TemplateProblem(ValueError):
    """A template that cannot render: `template` is its name, `line` its 1-based line when known."""

    def __init__(self, template: str, line: int | None, message: str) -> None:
        where = f"{template}, line {line}" if line else template
        super().__init__(f"{where}: {message}")
        self.template = template
        self.line = line
        self.message = message


class _Undefined(StrictUndefined):
    """StrictUndefined whose message names our objects (`contact has no attribute 'nmae'`)."""

    @property
    def _undefined_message(self) -> str:
        label = getattr(type(self._undefined_obj), "_label", None)
        if not self._undefined_hint and label and isinstance(self._undefined_name, str):
            return f"{label} has no attribute {self._undefined_name!r}"
        message: str = super()._undefined_message
        return message


class TemplateEnvironments:
    """The `text` and `markup` environments over the extra directory and the shipped templates.

    `pinned` (the long-running process): a template, once loaded, and the answer to "which file is
    this name" are kept until `refresh()` looks at the files again, instead of a few `stat` calls per
    part and message. The renderer refreshes whenever it fingerprints a campaign (every dry run, and the
    worker's periodic "templates changed since approval?" check), so a file edited on disk is not sent
    before that check has seen it. Unpinned (the CLI, tests): every lookup reads the disk.
    """

    def __init__(self, extra_dir: Path | None = None, *, pinned: bool = False) -> None:
        if extra_dir is not None and not extra_dir.is_dir():
            raise ValueError(f"RITM_TEMPLATES: {extra_dir} is not a directory")
        self.roots = [p.resolve() for p in (extra_dir, SHIPPED_DIR) if p is not None]
        self.envs: dict[Kind, GuardedSandbox] = {
            kind: GuardedSandbox(
                loader=FileSystemLoader([os.fspath(root) for root in self.roots], encoding="utf-8"),
                undefined=_Undefined,
                autoescape=kind == "markup",
                trim_blocks=True,
                lstrip_blocks=True,
                auto_reload=not pinned,
            )
            for kind in ("text", "markup")
        }
        self.pinned = pinned
        self.generation = 0  # counts `refresh()` calls: what was derived from the files is stale after one
        self._inline: dict[tuple[Kind, str, str], Template] = {}
        self._paths: dict[str, Path | None] = {}

    def refresh(self) -> None:
        """Look at the files again: a template changed or removed on disk is loaded anew at its next use."""
        self.generation += 1
        self._paths.clear()
        for env in self.envs.values():
            cache = env.cache
            if cache is None:
                continue
            for key, template in list(cache.items()):
                if not template.is_up_to_date:
                    with contextlib.suppress(KeyError):
                        del cache[key]

    def path(self, name: str) -> Path | None:
        """The file `name` resolves to (the extra directory wins); None when missing or not a plain name."""
        if not self.pinned:
            return self._find(name)
        try:
            return self._paths[name]
        except KeyError:
            if len(self._paths) > 4096:  # names come from campaigns; this only bounds a pathological process
                self._paths.clear()
            found = self._paths[name] = self._find(name)
            return found

    def _find(self, name: str) -> Path | None:
        try:
            pieces = split_template_path(name)  # refuses "..": a name never leaves the template roots
        except TemplateNotFound:
            return None
        for root in self.roots:
            path = root.joinpath(*pieces)
            if path.is_file():
                return path
        return None

    def exists(self, name: str) -> bool:
        return self.path(name) is not None

    def files_of(self, template: str) -> list[str]:
        """The names of the files in a template's directory, over every root (locale variants too)."""
        names: set[str] = set()
        for root in self.roots:
            folder = root / template
            if folder.is_dir() and not template.startswith((".", "_")):
                names.update(f"{template}/{p.name}" for p in folder.iterdir() if p.is_file())
        return sorted(names)

    def source(self, name: str) -> str | None:
        path = self.path(name)
        return None if path is None else path.read_text(encoding="utf-8")

    def file(self, kind: Kind, name: str) -> Template:
        try:
            return self.envs[kind].get_template(name)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(exc.name or name, exc.lineno, exc.message or "syntax error") from exc
        except TemplateNotFound as exc:
            raise TemplateProblem(name, None, f"template {exc.name!r} not found") from exc

    def inline(self, kind: Kind, name: str, source: str) -> Template:
        """Compile an inline source from a campaign file; `name` shows up in errors (and tracebacks)."""
        key = (kind, name, source)
        if key not in self._inline:
            env = self.envs[kind]
            try:
                code = env.compile(source, name=name, filename=name)
            except TemplateSyntaxError as exc:
                raise TemplateProblem(name, exc.lineno, exc.message or "syntax error") from exc
            if len(self._inline) > 4096:  # campaigns are few; this only bounds a pathological process
                self._inline.clear()
            self._inline[key] = env.template_class.from_code(env, code, env.make_globals(None))
        return self._inline[key]

    def render(
        self, template: Template, name: str, context: dict[str, Any], budget: RenderBudget | None = None
    ) -> str:
        """Render within `budget` (default limits when none), streaming the output so that a template
        stops as soon as it has produced too much; any failure becomes a `TemplateProblem` at the
        template line that caused it."""
        budget = budget or RenderBudget(RenderLimits())
        try:
            with budget_scope(budget):
                try:  # what `Template.render` does, with the output counted as it is produced
                    return budget.collect(template.root_render_func(template.new_context(context)))
                except Exception:
                    template.environment.handle_exception()  # re-raises with template lines
                    raise
        except TemplateProblem:
            raise
        except RenderLimitExceeded as exc:
            where, line = self._where(exc, name)
            raise TemplateProblem(where, line, str(exc)) from exc
        except TemplateSyntaxError as exc:  # an include compiled on first use
            raise TemplateProblem(exc.name or name, exc.lineno, exc.message or "syntax error") from exc
        except Exception as exc:
            where, line = self._where(exc, name)
            raise TemplateProblem(where, line, _describe(exc)) from exc

    def _where(self, exc: BaseException, fallback: str) -> tuple[str, int | None]:
        found: tuple[str, int | None] = (fallback, None)
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            name = self._template_name(frame.f_code.co_filename, fallback)
            if name is not None:
                found = (name, lineno)
        return found

    def _template_name(self, filename: str, inline: str) -> str | None:
        if filename == inline or any(filename == key[1] for key in self._inline):
            return filename
        path = Path(filename)
        for root in self.roots:
            if path.is_relative_to(root):
                return path.relative_to(root).as_posix()
        return None

    def references(self, kind: Kind, source: str) -> list[str]:
        """Templates a source extends, includes or imports by constant name (unparsable: none)."""
        try:
            ast = self.envs[kind].parse(source)
        except TemplateSyntaxError:
            return []
        return [name for name in meta.find_referenced_templates(ast) if name is not None]

    def closure(self, names: Iterable[str], inline_sources: Iterable[str] = ()) -> dict[str, str | None]:
        """Every file reachable from `names` and from the inline sources, with its text (None: missing)."""
        found: dict[str, str | None] = {}
        todo = list(names)
        for source in inline_sources:
            todo.extend(self.references("text", source))
        while todo:
            name = todo.pop()
            if name in found:
                continue
            found[name] = text = self.source(name)
            if text is not None:
                todo.extend(self.references("text", text))
        return found


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UnknownLink | NoConnectLink):
        return str(exc)
    if isinstance(exc, SecurityError):
        return f"not allowed in a template: {exc}"
    if isinstance(exc, UndefinedError):
        return str(exc)
    if isinstance(exc, TemplateNotFound):
        return f"template {exc.name!r} not found"
    return f"{type(exc).__name__}: {exc}"
