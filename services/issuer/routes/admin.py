"""The back office: issuances, and revoking, suspending or reinstating a credential.
Every route takes the admin token (:data:`..state.AdminDep`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from passerelle.status_list import StatusValue

from ..dcp import change_bitstring_status
from ..state import AdminDep, IssuerState, stored

router = APIRouter(tags=["admin"])

_ACTIONS = {
    "revoke": StatusValue.INVALID,
    "suspend": StatusValue.SUSPENDED,
    "reinstate": StatusValue.VALID,
}


@router.get("/admin/issuances")
def issuances(state: AdminDep) -> JSONResponse:
    rows = state.store.list("issuances", now=state.now(), limit=10_000)
    return JSONResponse([{"credential_id": k, **v} for k, v in rows if isinstance(v, dict)])


def _change_status(state: IssuerState, credential_id: str, action: str) -> bool:
    """Apply ``action`` to one of our credentials; False if it has no status to change."""
    entry = stored(state.store.get("issuances", credential_id, now=state.now()))
    if entry is None:
        return False
    if state.dcp is not None and state.dcp.owns(entry):
        state.dcp.change_status(entry, action, now=state.now())
    elif isinstance(entry.get("w3c_status"), dict):
        key = state.profile.configurations[str(entry["configuration"])].signing_key
        change_bitstring_status(
            state.w3c_statuses[key], entry["w3c_status"], action, now=state.now()
        )
    elif entry.get("status_index") is not None:
        signing_key = state.profile.configurations[str(entry["configuration"])].signing_key
        status = state.statuses[signing_key]
        status.set_status(int(entry["status_index"]), _ACTIONS[action], now=state.now())
    else:
        return False
    state.store.put("issuances", credential_id, {**entry, "status": action})
    return True


@router.post("/admin/credentials/{credential_id}/{action}")
def change_status(state: AdminDep, credential_id: str, action: str) -> JSONResponse:
    if action not in _ACTIONS:
        return JSONResponse({"error": "not_found", "reason": "input.malformed"}, status_code=404)
    if not _change_status(state, credential_id, action):
        return JSONResponse(
            {"error": "not_found", "reason": "status.index_out_of_range"}, status_code=404
        )
    return JSONResponse({"credential_id": credential_id, "status": action})
