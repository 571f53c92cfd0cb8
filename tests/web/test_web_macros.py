"""The shared macros render accessible, escaped markup."""

from __future__ import annotations

from datetime import UTC, datetime

from keystead.web import templating

EVIL = '<script>x</script>"'


def render(source: str, **context: object) -> str:
    template = templating.environment().from_string('{% import "macros.html" as m %}' + source)
    token = templating._csrf.set("tok123")
    try:
        return template.render(context)
    finally:
        templating._csrf.reset(token)


def test_csrf_field_and_confirm_form() -> None:
    assert render("{{ m.csrf_field() }}") == '<input type="hidden" name="csrf" value="tok123">'
    html = render(
        "{{ m.confirm_form('/ui/keys/k/revoke', 'Revoke', 'Revoke key ' ~ name ~ '?') }}",
        name=EVIL,
    )
    assert 'method="post" action="/ui/keys/k/revoke"' in html
    assert 'data-confirm="Revoke key &lt;script&gt;x&lt;/script&gt;&#34;?"' in html
    assert 'value="tok123"' in html
    assert '<button type="submit" class="danger">Revoke</button>' in html


def test_time_badge_reveal_chart_pagination_and_table() -> None:
    at = datetime(2026, 12, 6, 4, 5, tzinfo=UTC)
    assert render("{{ m.time(at) }}", at=at) == (
        '<time datetime="2026-12-06T04:05:00Z">2026-12-06 04:05 UTC</time>'
    )
    assert 'class="badge badge-revoked">revoked</span>' in render("{{ m.state_badge('revoked') }}")
    reveal = render("{{ m.reveal_once(v, 'Your new key') }}", v=EVIL)
    assert 'readonly value="&lt;script&gt;x&lt;/script&gt;&#34;"' in reveal
    assert 'data-copy="reveal-value"' in reveal and '<label for="reveal-value">' in reveal
    chart = render("{{ m.chart('/ui/data/keys/k/usage', 'Volume', kind='bars') }}")
    assert 'data-chart="/ui/data/keys/k/usage"' in chart and 'data-kind="bars"' in chart
    assert chart.count("data-granularity=") == 3
    page = render("{{ m.pagination('key_2', {'state': 'active', 'q': EVIL}) }}", EVIL=EVIL)
    assert 'rel="next"' in page and "cursor=key_2" in page and "<script>" not in page
    assert render("{{ m.pagination(None, {}) }}").strip() == ""
    table = render(
        "{% call m.table('Keys', ['Name']) %}<tr><td>{{ n }}</td></tr>{% endcall %}", n=EVIL
    )
    assert '<th scope="col">Name</th>' in table and "&lt;script&gt;" in table
    empty = render("{% call m.table('Keys', ['Name'], empty='None yet.') %}{% endcall %}")
    assert "None yet." in empty


def test_field_macro_labels_and_describes_errors() -> None:
    html = render("{{ m.field('name', 'Name', value=v, error='Too long') }}", v=EVIL)
    assert '<label for="f-name">Name</label>' in html
    assert 'aria-invalid="true"' in html and 'id="f-name-error"' in html
    assert 'value="&lt;script&gt;x&lt;/script&gt;&#34;"' in html
