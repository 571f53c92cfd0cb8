"""A sealed item that does not open is the caller's 409, never a 500."""

from __future__ import annotations

import orjson

from keystead.core.envelope import Sealed
from keystead.errors import IntegrityError
from keystead.http.problems import PROBLEM_JSON, from_keystead_error


def test_an_integrity_error_answers_409_with_its_detail() -> None:
    try:
        Sealed.from_text("AQAAAAEAKA")
    except IntegrityError as exc:
        response = from_keystead_error(exc)
        detail = exc.detail

    assert response.status_code == 409
    assert response.media_type == PROBLEM_JSON
    body = orjson.loads(bytes(response.body))
    assert body["status"] == 409
    assert body["detail"] == detail
    assert "not a sealed item" in body["detail"]
