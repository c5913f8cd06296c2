"""Templates: spintax, sandboxed Jinja with strict undefined, and the lead's context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkseq.campaigns import RenderResult, check_template, lead_context, render, spin
from linkseq.campaigns.templates import TemplateProblem, min_rendered_length, spin_variants
from linkseq.store.models import Lead


def make_lead(**fields: Any) -> Lead:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    return Lead(
        id=1, profile_url="https://www.linkedin.com/in/x", created_at=now, updated_at=now, **fields
    )


def test_spin_picks_one_variant_deterministically() -> None:
    text = "{Hi|Hello|Hey} there"
    outputs = {spin(text, f"{lead}:invite") for lead in range(60)}
    assert outputs == {"Hi there", "Hello there", "Hey there"}
    assert spin(text, "7:invite") == spin(text, "7:invite")


def test_spin_nested_and_jinja_untouched() -> None:
    text = "{a|{b|c}} {{ x | default('y') }} {% if x %}q{% endif %} {plain}"
    seen = {spin(text, str(i)) for i in range(60)}
    suffix = " {{ x | default('y') }} {% if x %}q{% endif %} {plain}"
    assert seen == {"a" + suffix, "b" + suffix, "c" + suffix}


def test_spin_unbalanced_braces_are_text() -> None:
    assert spin("a { b | c", "s") == "a { b | c"
    assert spin("a } b", "s") == "a } b"


# spintax-free words, joined into groups (possibly nested)
_word = st.text(alphabet="abcdefgh xyz.,!", min_size=0, max_size=6)


@st.composite
def _spintax(draw: st.DrawFn, depth: int = 0) -> str:
    pieces = draw(st.lists(_word, min_size=1, max_size=3))
    out = []
    for piece in pieces:
        out.append(piece)
        if depth < 2 and draw(st.booleans()):
            options = draw(st.lists(_spintax(depth + 1), min_size=2, max_size=3))
            out.append("{" + "|".join(options) + "}")
    return "".join(out)


@settings(max_examples=60)
@given(_spintax(), st.text(max_size=10))
def test_spin_output_is_always_one_of_the_variants(text: str, seed: str) -> None:
    variants = spin_variants(text, limit=10_000)
    assert variants is not None
    result = spin(text, seed)
    assert result in variants
    assert spin(text, seed) == result


def test_render_with_default_filter_and_missing_variable() -> None:
    ctx = {"first_name": "Ann"}
    ok = render(
        "Hi {{ first_name }} at {{ company_name | default('your company') }}", ctx, seed="s"
    )
    assert ok == RenderResult("Hi Ann at your company", None)
    held = render("Hi {{ first_name }} at {{ company_name }}", ctx, seed="s")
    assert held.text is None
    assert held.held == "missing variable 'company_name'"
    assert not held.ok


def test_render_filters_and_conditionals() -> None:
    ctx = {"first_name": "ann", "company_name": "  Acme  "}
    out = render(
        "{{ first_name | title }} {{ company_name | trim | upper }}"
        "{% if title is defined %} ({{ title }}){% endif %}"
        "{{ '!' if first_name else '.' }}",
        ctx,
        seed="s",
    )
    assert out.text == "Ann ACME!"


def test_render_over_length_and_empty_are_held() -> None:
    assert render("{{ x }}", {"x": "y" * 301}, seed="s", max_length=300).held == (
        "over 300 characters (301)"
    )
    assert render("{{ x | default('') }}", {}, seed="s").held == "empty after rendering"


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ x.__init__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ x['__class__'] }}",
        "{{ range(10) }}",
        "{% set y = 1 %}",
        "{{ x | attr('__class__') }}",
        "{{ x | format('%s') }}",
        "{{ __builtins__ }}",
        "{Hi|{{ ''.__class__ }}}",
    ],
)
def test_unsafe_templates_are_refused_and_never_rendered(template: str) -> None:
    with pytest.raises(TemplateProblem):
        check_template(template)
    for seed in ("a", "b", "c", "d"):
        result = render(template, {"x": "v"}, seed=seed)
        if result.text is not None:  # only the harmless spintax branch may render
            assert "class" not in result.text


def test_min_rendered_length() -> None:
    assert min_rendered_length("abc{{ x }}") == 3
    assert min_rendered_length("{ab|c}d") == 2
    assert min_rendered_length("x{% if y %}long text{% endif %}") == 1


_values = st.one_of(
    st.none(), st.text(max_size=20), st.integers(), st.floats(allow_nan=True), st.booleans()
)


@settings(max_examples=60)
@given(
    st.dictionaries(
        st.sampled_from(["first_name", "company_name", "title", "city", "x"]), _values, max_size=5
    ),
    st.sampled_from(
        [
            "{Hi|Hello} {{ first_name }}",
            "{{ company_name | default('your company') | upper }}",
            "{{ title | truncate(5) }} {{ city | title }}",
            "{% if x %}{{ x | capitalize }}{% else %}none{% endif %}",
            "{{ first_name ~ ' at ' ~ company_name }}",
        ]
    ),
    st.text(max_size=8),
)
def test_rendering_any_lead_gives_text_or_a_reason(
    ctx: dict[str, Any], template: str, seed: str
) -> None:
    result = render(template, ctx, seed=seed, max_length=300)
    assert (result.text is None) != (result.held is None)
    if result.text is not None:
        assert len(result.text) <= 300
        assert result.text.strip()


def test_lead_context_fields_and_derived_names() -> None:
    lead = make_lead(
        full_name="Ann Marie Smith",
        company_name="Acme",
        email=None,
        location=" ",
        custom_fields={"job_title": "CTO", "blank": "", "_secret": "x"},
    )
    ctx = lead_context(lead)
    assert ctx == {
        "full_name": "Ann Marie Smith",
        "first_name": "Ann",
        "last_name": "Marie Smith",
        "company_name": "Acme",
        "job_title": "CTO",
    }
    only_first = lead_context(make_lead(first_name="Bob", custom_fields={}))
    assert only_first["full_name"] == "Bob"
    assert render("Hi {{ first_name }}", lead_context(lead), seed="s").text == "Hi Ann"
