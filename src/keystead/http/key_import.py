"""``/v1/keys/import``: import keys issued by another system, as plaintext or as a
legacy hash (docs/operations.md, "Importing keys"), and how many are still on a
legacy hash. No answer ever holds a key's text or a hash."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictBool

from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import JsonObject, RequestModel
from keystead.http.openapi import WITH_BODY
from keystead.http.routing import router as make_router
from keystead.service.key_import import ImportReport, RowResult
from keystead.service.keys import MAX_BATCH

router = make_router(prefix="/v1/keys/import", tags=["keys"])


class ImportIn(RequestModel):
    rows: Annotated[list[JsonObject], Field(min_length=1, max_length=MAX_BATCH)] = Field(
        description='each a plaintext key ({"key": ...}) or a legacy hash ({"key_hash": '
        '{"scheme": ..., "value": ...}}), with external_id, lookup, prefix and the fields '
        "of POST /v1/keys"
    )
    dry_run: StrictBool = Field(default=False, description="check every row, store nothing")


class RowErrorOut(BaseModel):
    status: int
    title: str
    detail: str
    field: str | None = None


class ImportRowOut(BaseModel):
    row: int = Field(description="the row's position in this request, from 0")
    status: str = Field(description="imported, skipped (external_id seen before), failed, valid")
    external_id: str | None = None
    key_id: str | None = None
    scheme: str | None = Field(default=None, description="key (plaintext) or the legacy scheme")
    error: RowErrorOut | None = None


class ImportReportOut(BaseModel):
    dry_run: bool
    imported: int
    skipped: int
    failed: int
    valid: int = Field(description="rows a dry run found good")
    rows: list[ImportRowOut]


class SchemeCountOut(BaseModel):
    scheme: str
    imported: int
    legacy: int = Field(description="keys still on their legacy hash (never used since)")


class ImportStatusOut(BaseModel):
    legacy: int = Field(description="keys of this workspace still on a legacy hash")
    schemes: list[SchemeCountOut]


def _row_out(result: RowResult) -> ImportRowOut:
    error = result.error
    return ImportRowOut(
        row=result.row,
        status=result.status,
        external_id=result.external_id,
        key_id=result.key_id,
        scheme=result.scheme,
        error=None
        if error is None
        else RowErrorOut(
            status=error.status,
            title=error.title,
            detail=error.public_detail or error.detail,
            field=getattr(error, "field", None),
        ),
    )


def report_out(report: ImportReport) -> ImportReportOut:
    return ImportReportOut(
        dry_run=report.dry_run,
        imported=report.count("imported"),
        skipped=report.count("skipped"),
        failed=report.count("failed"),
        valid=report.count("valid"),
        rows=[_row_out(r) for r in report.rows],
    )


@router.post("", summary="Import keys from another system", responses=WITH_BODY)
async def import_keys(body: ImportIn, ks: Service, principal: Auth) -> ImportReportOut:
    """Needs ``keys.create`` (``keys.read`` for ``dry_run``). Up to 1000 rows a call;
    bad rows are reported one by one and the good ones kept. A row whose
    ``external_id`` was imported already is skipped: a re-run imports nothing twice."""
    report = await ks.key_import.run(principal, list(body.rows), dry_run=body.dry_run)
    return report_out(report)


@router.get("/status", summary="How many imported keys are still on a legacy hash")
async def import_status(ks: Service, principal: Auth) -> ImportStatusOut:
    """Needs ``keys.read``. A legacy hash is replaced by Keystead's keyed hash on the
    key's first use."""
    status = await ks.key_import.status(principal)
    return ImportStatusOut(
        legacy=status.legacy,
        schemes=[
            SchemeCountOut(scheme=scheme, imported=total, legacy=pending)
            for scheme, (total, pending) in sorted(status.schemes.items())
        ],
    )


__all__ = ["router"]
