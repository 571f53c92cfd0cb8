"""The call of the exposure analysis of a leaked key's incident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keystead.client._call import Call, compact, endpoint, jsonable, post, read_object, seg


class ExposureApi:
    @endpoint(("POST", "/v1/incidents/{incident_id}/exposure"))
    def reassess_exposure(
        self, incident_id: str, *, leaked_at: str | datetime | None = None
    ) -> Call[dict[str, Any]]:
        """Analyse again what the incident's key did after it leaked (from
        ``leaked_at``, default the reported leak's time): the incident, with
        ``evidence["exposure"]``."""
        body = jsonable(compact(leaked_at=leaked_at))
        return post(f"/v1/incidents/{seg(incident_id)}/exposure", read_object, body)


__all__ = ["ExposureApi"]
