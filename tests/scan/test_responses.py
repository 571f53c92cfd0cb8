"""Every rule's kind has a response procedure worth printing."""

from __future__ import annotations

import importlib.resources
import tomllib

from keystead.scan.responses import CLOSING_STEPS, kinds, procedure


def _rule_kinds() -> set[str]:
    text = importlib.resources.files("keystead.scan").joinpath("rules.toml").read_text("utf-8")
    return {rule["kind"] for rule in tomllib.loads(text)["rules"]}


def test_every_rule_kind_has_a_procedure_of_its_own() -> None:
    assert _rule_kinds() <= kinds()


def test_no_procedure_is_left_without_a_rule() -> None:
    assert kinds() <= _rule_kinds()


def test_each_procedure_says_what_to_revoke_who_to_tell_and_what_to_check() -> None:
    for kind in kinds():
        done = procedure(kind)
        assert done.kind == kind and done.title
        specific = done.steps[: -len(CLOSING_STEPS)]
        assert len(specific) >= 3, kind
        text = " ".join(specific).lower()
        assert any(
            w in text
            for w in (
                "revoke",
                "delete",
                "roll",
                "rotate",
                "regenerate",
                "reset",
                "replace",
                "disable",
                "change",
                "remove",
            )
        ), kind
        assert "tell" in text, f"{kind}: who to notify"
        assert any(w in text for w in ("log", "audit", "history", "check")), kind
        assert done.steps[-len(CLOSING_STEPS) :] == CLOSING_STEPS
        assert done.links, kind


def test_provider_procedures_link_to_the_provider_over_https() -> None:
    for kind in kinds() - {"keystead"}:
        first = procedure(kind).links[0]
        assert first.startswith("https://"), (kind, first)


def test_keystead_keys_point_at_the_compromise_command() -> None:
    steps = " ".join(procedure("keystead").steps)
    assert "keystead keys compromise" in steps
    assert "keystead scan --report" in steps


def test_a_kind_without_a_procedure_gets_the_generic_one() -> None:
    assert procedure("my-internal-token") == procedure("generic")
