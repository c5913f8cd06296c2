"""Message templates: spintax, then sandboxed Jinja2 with strict undefined.

Order of work for one text: `spin(text, seed)` picks one variant of every `{a|b}` group (the seed
is `"<lead id>:<step id>"`, so one lead always reads the same words), then Jinja renders the
result against the lead's fields. Templates are checked when a campaign is validated: only plain
variables, constants, a few filters, `~` concatenation, `x if c else y` and `{% if %}` are
accepted, so `{{ ''.__class__ }}` and every other attribute or call is refused before anything
runs. Rendering never raises for missing data: it returns the reason the lead is held.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment

from linkseq.store.models import Lead

__all__ = [
    "ALLOWED_FILTERS",
    "RenderResult",
    "TemplateProblem",
    "check_template",
    "lead_context",
    "min_rendered_length",
    "render",
    "spin",
    "spin_variants",
]

ALLOWED_FILTERS = frozenset(
    {"default", "upper", "lower", "title", "capitalize", "trim", "truncate"}
)
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "string", "number"})
_MAX_VARIANTS = 256  # beyond this many spintax combinations, length checks wait for send time


class TemplateProblem(ValueError):
    """A template that is refused at validation; the message says why."""


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The rendered text, or `held`: why this lead cannot get this text now."""

    text: str | None
    held: str | None = None

    @property
    def ok(self) -> bool:
        """True when there is text to send."""
        return self.held is None


# ---- spintax ----------------------------------------------------------------------------------

_JINJA_OPEN = {"{{": "}}", "{%": "%}", "{#": "#}"}

# A parsed text is a list of parts: a str (literal or a whole Jinja tag) or a list of variants,
# each variant itself a list of parts.
_Part = str | list[list[Any]]


def _parse(text: str, pos: int, depth: int) -> tuple[list[_Part], int, str | None]:
    """Parse from `pos` until an unmatched `|` or `}` at `depth` > 0 (returned as the stop)."""
    parts: list[_Part] = []
    buf: list[str] = []
    i, n = pos, len(text)
    while i < n:
        two = text[i : i + 2]
        ch = text[i]
        if two in _JINJA_OPEN:
            end = text.find(_JINJA_OPEN[two], i + 2)
            end = n if end < 0 else end + 2
            buf.append(text[i:end])
            i = end
        elif ch == "{":
            group, after = _parse_group(text, i + 1, depth + 1)
            if group is None:
                buf.append(ch)  # an unmatched or single-option brace stays literal text
                i += 1
            else:
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(group)
                i = after
        elif depth > 0 and ch in "|}":
            if buf:
                parts.append("".join(buf))
            return parts, i, ch
        else:
            buf.append(ch)
            i += 1
    if buf:
        parts.append("".join(buf))
    return parts, i, None


def _parse_group(text: str, pos: int, depth: int) -> tuple[list[list[Any]] | None, int]:
    variants: list[list[Any]] = []
    i = pos
    while True:
        parts, i, stop = _parse(text, i, depth)
        variants.append(parts)
        if stop == "|":
            i += 1
            continue
        if stop == "}":
            if len(variants) == 1:  # `{text}` is text: keep its braces, spin what is inside
                return [["{", *variants[0], "}"]], i + 1
            return variants, i + 1
        return None, pos


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> tuple[_Part, ...]:
    parts, _, _ = _parse(text, 0, 0)
    return tuple(parts)


def _choose(parts: list[_Part] | tuple[_Part, ...], rng: random.Random, out: list[str]) -> None:
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            _choose(part[rng.randrange(len(part))], rng, out)


def spin(text: str, seed: str) -> str:
    """Pick one variant of every `{a|b|c}` group (nested groups too), the same for the same seed.

    Jinja's `{{ }}`, `{% %}` and `{# #}` are left untouched; a brace group with no `|` is text.
    """
    if "{" not in text:
        return text
    out: list[str] = []
    _choose(_parsed(text), random.Random(seed), out)
    return "".join(out)


def _all(parts: list[_Part] | tuple[_Part, ...]) -> Iterator[str]:
    options: list[list[str]] = []
    for part in parts:
        if isinstance(part, str):
            options.append([part])
        else:
            options.append([s for variant in part for s in _all(variant)])
    for combo in itertools.product(*options):
        yield "".join(combo)


def _count(parts: list[_Part] | tuple[_Part, ...]) -> int:
    total = 1
    for part in parts:
        if not isinstance(part, str):
            total *= sum(_count(variant) for variant in part)
    return total


def spin_variants(text: str, limit: int = _MAX_VARIANTS) -> list[str] | None:
    """Every text `spin` can produce, or None when there are more than `limit`."""
    parts = _parsed(text)
    if _count(parts) > limit:
        return None
    return list(dict.fromkeys(_all(parts)))


# ---- Jinja ------------------------------------------------------------------------------------


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.globals.clear()  # no range/cycler/lipsum/namespace: a template sees the lead only
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    env.tests = {name: env.tests[name] for name in ALLOWED_TESTS}
    return env


_ENV = _environment()


def _check_node(node: nodes.Node) -> None:
    if isinstance(node, nodes.Name):
        if node.ctx != "load":
            raise TemplateProblem("assignments are not allowed in a template")
        if node.name.startswith("_"):
            raise TemplateProblem(f"names starting with '_' are not allowed ({node.name!r})")
    elif isinstance(node, nodes.Filter):
        if node.name not in ALLOWED_FILTERS:
            allowed = ", ".join(sorted(ALLOWED_FILTERS))
            raise TemplateProblem(f"filter {node.name!r} is not allowed (use one of {allowed})")
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise TemplateProblem("*args and **kwargs are not allowed in a template")
    elif isinstance(node, nodes.Test):
        if node.name not in ALLOWED_TESTS:
            raise TemplateProblem(f"test {node.name!r} is not allowed")
    elif isinstance(node, nodes.Getattr | nodes.Getitem):
        attr = getattr(node, "attr", None)
        what = f" ({attr!r})" if isinstance(attr, str) else ""
        raise TemplateProblem(f"attribute and item access are not allowed in a template{what}")
    elif isinstance(node, nodes.Call):
        raise TemplateProblem("calls are not allowed in a template")
    elif not isinstance(
        node,
        nodes.Template
        | nodes.Output
        | nodes.TemplateData
        | nodes.Const
        | nodes.Concat
        | nodes.CondExpr
        | nodes.If
        | nodes.Keyword
        | nodes.Not
        | nodes.And
        | nodes.Or,
    ):
        raise TemplateProblem(f"{type(node).__name__.lower()} is not allowed in a template")
    for child in node.iter_child_nodes():
        _check_node(child)


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> tuple[nodes.Template | None, str | None]:
    """The checked AST of one spun text, or the reason it is refused."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return None, f"template syntax error: {exc.message} (line {exc.lineno})"
    try:
        _check_node(tree)
    except TemplateProblem as exc:
        return None, str(exc)
    return tree, None


@functools.lru_cache(maxsize=1024)
def _template(source: str) -> Any:
    return _ENV.from_string(source)


def _min_length(node: nodes.Node) -> int:
    """A lower bound of the rendered length: text always printed, expressions counted as 0."""
    if isinstance(node, nodes.TemplateData):
        return len(node.data)
    if isinstance(node, nodes.If):
        branches = [sum(_min_length(n) for n in node.body)]
        branches += [_min_length(n) for n in node.elif_]
        branches.append(sum(_min_length(n) for n in node.else_))
        return min(branches)
    if isinstance(node, nodes.Template | nodes.Output):
        children = node.body if isinstance(node, nodes.Template) else node.nodes
        return sum(_min_length(n) for n in children)
    return 0


def check_template(text: str) -> None:
    """Refuse a template that has a syntax error or touches anything but the lead's fields.

    Every spintax variant is checked when there are few enough; otherwise the text with each
    spintax group's first variant and the raw text's Jinja tags are checked.
    """
    sources = spin_variants(text) or [spin(text, "check")]
    for source in sources:
        _tree, problem = _compiled(source)
        if problem is not None:
            raise TemplateProblem(problem)


def min_rendered_length(text: str) -> int | None:
    """The shortest text this template can render to, or None when that cannot be known."""
    sources = spin_variants(text)
    if sources is None:
        return None
    lengths: list[int] = []
    for source in sources:
        tree, problem = _compiled(source)
        if tree is None or problem is not None:
            return None
        lengths.append(_min_length(tree))
    return min(lengths, default=0)


_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")


def render(
    template: str, context: Mapping[str, Any], *, seed: str, max_length: int | None = None
) -> RenderResult:
    """Spin then render `template` for one lead; never raises for missing or bad data.

    `held` says why there is no text: a missing variable without a `default`, a refused
    template, an empty result, or (with `max_length`) a text that is too long.
    """
    source = spin(template, seed)
    _tree, problem = _compiled(source)
    if problem is not None:
        return RenderResult(None, problem)
    try:
        text = _template(source).render(dict(context))
    except UndefinedError as exc:
        match = _UNDEFINED.match(str(exc.message or ""))
        name = match.group(1) if match else str(exc.message)
        return RenderResult(None, f"missing variable {name!r}")
    except Exception as exc:  # any data can reach a template; hold, never crash
        return RenderResult(None, f"template error: {type(exc).__name__}: {exc}")
    if not text.strip():
        return RenderResult(None, "empty after rendering")
    if max_length is not None and len(text) > max_length:
        return RenderResult(None, f"over {max_length} characters ({len(text)})")
    return RenderResult(text)


# ---- lead context -----------------------------------------------------------------------------

_STANDARD = ("first_name", "last_name", "full_name", "company_name", "location", "email")


def lead_context(lead: Lead) -> dict[str, Any]:
    """A lead's fields for templates: the standard ones that are set, then its custom columns.

    A blank field is absent (so `{{ x }}` holds the lead and `default` applies); `first_name` and
    `last_name` come from `full_name` when the file had none.
    """
    context: dict[str, Any] = {}
    for key, value in (lead.custom_fields or {}).items():
        if isinstance(key, str) and not key.startswith("_") and _present(value):
            context[key] = value.strip() if isinstance(value, str) else value
    for name in _STANDARD:
        value = getattr(lead, name, None)
        if isinstance(value, str) and value.strip():
            context[name] = value.strip()
    full = context.get("full_name")
    if isinstance(full, str):
        words = full.split()
        if "first_name" not in context and words:
            context["first_name"] = words[0]
        if "last_name" not in context and len(words) > 1:
            context["last_name"] = " ".join(words[1:])
    elif "first_name" in context:
        parts = [context["first_name"], context.get("last_name")]
        context["full_name"] = " ".join(p for p in parts if p)
    return context


def _present(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())
