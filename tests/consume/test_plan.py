"""Which variables come from which secret: ``--path``, ``--map`` and ``--env-file``
together, each secret read once, collisions refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from keystead.consume.plan import SecretValue, build_plan, resolve
from keystead.errors import NotFound, ValidationError

STORE = {
    ("secret", "payments"): {"stripe_key": "sk_live_1", "webhook-secret": "whsec_2"},
    ("secret", "db"): {"password": "hunter2-db", "user": "app"},
    ("team", "shared/api"): {"token": "tok_3"},
}


class Reader:
    def __init__(self) -> None:
        self.reads: list[tuple[str, str]] = []

    def __call__(self, mount: str, path: str) -> SecretValue:
        self.reads.append((mount, path))
        return SecretValue(STORE[(mount, path)], version=4)


def test_all_three_sources_together(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DB_PASSWORD=keystead://secret/db#password\n"
        "DB_USER=KEYSTEAD://secret/db#user\n"
        "LOG_LEVEL=debug\n"
    )
    plan = build_plan(["secret/payments"], [env_file], ["TOKEN=team/shared/api#token"])
    reader = Reader()
    resolved = resolve(plan, reader)

    assert resolved.env == {
        "STRIPE_KEY": "sk_live_1",
        "WEBHOOK_SECRET": "whsec_2",
        "TOKEN": "tok_3",
        "DB_PASSWORD": "hunter2-db",
        "DB_USER": "app",
        "LOG_LEVEL": "debug",
    }
    assert sorted(reader.reads) == sorted(STORE)  # each secret once
    assert "debug" not in resolved.secret_values  # plain values are not masked
    assert set(resolved.secret_values) == {"sk_live_1", "whsec_2", "tok_3", "hunter2-db", "app"}
    assert resolved.versions[("secret", "db")] == 4
    assert "sk_live_1" not in repr(resolved)


def test_two_sources_of_one_name_are_refused(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("STRIPE_KEY=plain\n")
    with pytest.raises(ValidationError, match="STRIPE_KEY is given twice"):
        resolve(build_plan(["secret/payments"], [env_file]), Reader())
    with pytest.raises(ValidationError, match="TOKEN is given twice"):
        build_plan(maps=["TOKEN=secret/db#user", "TOKEN=secret/db#password"])


def test_two_fields_with_one_env_safe_name_are_refused() -> None:
    def read(mount: str, path: str) -> SecretValue:
        return SecretValue({"api-key": "aaaa", "api_key": "bbbb"})

    with pytest.raises(ValidationError, match="API_KEY is given twice"):
        resolve(build_plan(["secret/x"]), read)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"paths": ["payments"]}, "expected mount/path#field"),
        ({"paths": ["secret/payments#stripe_key"]}, "use --map"),
        ({"maps": ["NOEQUALS"]}, "expected NAME=mount/path#field"),
        ({"maps": ["A=secret/payments"]}, "names no field"),
        ({"maps": ["1A=secret/p#f"]}, "not an environment variable name"),
        ({"maps": ["A=secret/../p#f"]}, "dot segment"),
    ],
)
def test_bad_sources_are_refused_before_anything_is_read(
    kwargs: dict[str, list[str]], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        build_plan(**kwargs)  # type: ignore[arg-type]


def test_an_env_file_reference_without_a_field_names_its_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("A=1\nB=keystead://secret/payments\n")
    with pytest.raises(ValidationError, match=r"\.env, line 2: the reference names no field"):
        build_plan(env_files=[env_file])


def test_a_missing_field_is_not_found_without_the_values() -> None:
    with pytest.raises(NotFound) as raised:
        resolve(build_plan(maps=["X=secret/payments#nope"]), Reader())
    assert "'nope'" in raised.value.detail
    assert "sk_live_1" not in raised.value.detail
