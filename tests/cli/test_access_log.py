import logging

from keystead.cli.serve import RedactQuery
from keystead.core import keyformat


def test_access_log_hides_query_values_and_keys_in_paths() -> None:
    key = keyformat.generate("ks")
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/v1/keys/{key}?api_id=secretish&limit=5", "1.1", 422),
        None,
    )
    assert RedactQuery().filter(record)
    line = record.getMessage()
    assert key not in line and "secretish" not in line
    assert f"/v1/keys/{keyformat.REDACTED}?api_id=...&limit=..." in line
