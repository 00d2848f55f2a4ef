"""What a running check sees: its target, a recording HTTP client, shared prerequisites.

Every HTTP exchange a check makes is recorded (secrets redacted) so that a report can
show a partner exactly what was sent and what came back. A request that never reached
the target is tried once more, and the retry is recorded.
"""

from __future__ import annotations

import contextlib
import json
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import httpx

from ._outcomes import CheckError, CheckFailed, CheckSkipped, ErrorClass

if TYPE_CHECKING:
    from ._adapter_types import Adapter
    from ._console import Console

__all__ = ["CheckContext", "RecordingHttp", "Suite", "Target", "redact"]

T = TypeVar("T")

_SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "pre-authorized_code",
        "tx_code",
        "code",
        "code_verifier",
        "transaction_id",
        "client_secret",
        "token",
        "password",
    }
)
_SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "dpop"})
_BEARER = re.compile(r"(Bearer|DPoP)\s+\S+", re.IGNORECASE)
_MAX_BODY = 4000
REDACTED = "‹redacted›"


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if k in _SECRET_KEYS and v is not None else _redact_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact(body: str, content_type: str) -> str:
    """A body fit for a report: secrets replaced, long bodies cut."""
    text = body
    if "json" in content_type:
        with contextlib.suppress(ValueError):
            text = json.dumps(_redact_json(json.loads(body)), ensure_ascii=False, indent=1)
    elif "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body, keep_blank_values=True)
        text = urlencode([(k, REDACTED if k in _SECRET_KEYS else v) for k, v in pairs])
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return text if len(text) <= _MAX_BODY else text[:_MAX_BODY] + f"… ({len(text)} chars)"


def _headers(headers: httpx.Headers) -> dict[str, str]:
    return {k: REDACTED if k.lower() in _SECRET_HEADERS else v for k, v in headers.items()}


def _redact_url(url: str) -> str:
    head, _, query = url.partition("?")
    if not query:
        return url
    pairs = parse_qsl(query, keep_blank_values=True)
    return head + "?" + urlencode([(k, REDACTED if k in _SECRET_KEYS else v) for k, v in pairs])


class RecordingHttp:
    """An httpx client that writes every exchange into the current check's record."""

    def __init__(
        self,
        *,
        timeout: float,
        verify: ssl.SSLContext | str | bool = True,
        transport: httpx.BaseTransport | None = None,
        tokens: Mapping[str, str] | None = None,
    ) -> None:
        # ``transport`` lets tests record exchanges with an in-memory target.
        self._client = httpx.Client(
            timeout=timeout, verify=verify, follow_redirects=False, transport=transport
        )
        # Backchannel bearer tokens by backchannel URL (Target.backchannel_tokens): sent
        # with every request under that URL that carries no Authorization itself.
        self._tokens = dict(tokens or {})
        self.exchanges: list[dict[str, Any]] = []
        self.retried = False

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.get("headers") or {})
        if not any(k.lower() == "authorization" for k in headers):
            for base, token in self._tokens.items():
                if url == base or url.startswith(base.rstrip("/") + "/"):
                    kwargs["headers"] = {**headers, "Authorization": f"Bearer {token}"}
                    break
        for attempt in (1, 2):
            started = time.monotonic()
            try:
                response = self._client.request(method, url, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # The request never reached the target, so a second try cannot act twice.
                self.exchanges.append(
                    {
                        "method": method,
                        "url": _redact_url(url),
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                )
                if attempt == 1:
                    self.retried = True
                    time.sleep(0.2)
                    continue
                kind = (
                    ErrorClass.TIMEOUT
                    if isinstance(exc, httpx.ConnectTimeout)
                    else ErrorClass.NETWORK
                )
                raise CheckError(kind, f"{method} {url}: {exc or type(exc).__name__}") from exc
            except httpx.TimeoutException as exc:
                raise CheckError(ErrorClass.TIMEOUT, f"{method} {url}: timed out") from exc
            except httpx.TransportError as exc:
                raise CheckError(ErrorClass.NETWORK, f"{method} {url}: {exc}") from exc
            self._record(response, started)
            return response
        raise AssertionError("unreachable")

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def _record(self, response: httpx.Response, started: float) -> None:
        request = response.request
        request_type = request.headers.get("content-type", "")
        response_type = response.headers.get("content-type", "")
        self.exchanges.append(
            {
                "method": request.method,
                "url": _redact_url(str(request.url)),
                "request_headers": _headers(request.headers),
                "request_body": redact(request.content.decode("utf-8", "replace"), request_type),
                "status": response.status_code,
                "response_headers": _headers(response.headers),
                "response_body": redact(response.text, response_type),
                "elapsed_ms": int((time.monotonic() - started) * 1000),
            }
        )


@dataclass(frozen=True, slots=True)
class Target:
    """One system under test, as the targets file describes it."""

    name: str
    role: str
    profile: str
    url: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    adapter: Adapter | None = None
    """How the target's own API makes offers, requests and verdicts (``adapter`` in the
    targets file, or the Passerelle test API its shorthand endpoints name)."""

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def backchannel_tokens(self) -> dict[str, str]:
        """The bearer token of the target's backchannels (``token``, or ``token_file``),
        by backchannel URL (``offer_endpoint``, ``backchannel``, ``consumer_api``): what a
        partner-facing deployment requires there. Protocol endpoints never get it, so a
        check that sends no token still sends none."""
        token = self.settings.get("token")
        path = self.settings.get("token_file")
        if not (isinstance(token, str) and token) and isinstance(path, str) and path:
            with contextlib.suppress(OSError):
                token = Path(path).read_text().strip()
        if not isinstance(token, str) or not token:
            return {}
        urls = (self.settings.get(k) for k in ("offer_endpoint", "backchannel", "consumer_api"))
        return {url: token for url in urls if isinstance(url, str) and url}

    def require(self, key: str) -> Any:
        """A setting the check cannot do without: absent means skipped, saying why."""
        value = self.settings.get(key)
        if value is None:
            raise CheckSkipped(f"the targets file gives no `{key}` for {self.name}")
        return value


@dataclass(frozen=True, slots=True)
class Suite:
    """How the suite itself runs: the identities it plays counterparts with."""

    pki_dir: Path | None = None
    """A data directory of ``passerelle init``: the suite signs as that PKI's issuers
    and verifiers when it plays them (the target trusts the development lists)."""
    timeout: float = 10.0
    tls_ca: str | None = None
    allow_insecure_loopback: bool = True
    console: Console | None = None
    """The interactive page (``--interactive``): device-facing steps go through a person."""


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


@dataclass(slots=True)
class CheckContext:
    target: Target
    targets: Mapping[str, Target]
    suite: Suite
    http: RecordingHttp
    shared_state: dict[str, Any]
    cell: Mapping[str, Any] | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    check_id: str = ""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def record(self, **evidence: Any) -> None:
        self.evidence.update(evidence)

    def shared(self, key: str, factory: Callable[[], T], *, prerequisite: bool = True) -> T:
        """Run ``factory`` once per run and share its result between checks.

        When it fails, the check that owns the step (``prerequisite=False``) reports
        the failure; every other check depending on it is skipped, naming the cause.
        """
        lock_for = getattr(self.shared_state, "lock_for", None)
        with lock_for(key) if lock_for is not None else contextlib.nullcontext():
            # Targets run side by side (run_checks' jobs) compute a step once: the
            # others wait for it here.
            if key not in self.shared_state:
                try:
                    self.shared_state[key] = factory()
                except (CheckFailed, CheckSkipped, CheckError) as exc:
                    self.shared_state[key] = _Failure(exc)
        value = self.shared_state[key]
        if isinstance(value, _Failure):
            error = value.error
            if prerequisite and isinstance(error, CheckFailed | CheckSkipped):
                raise CheckSkipped(f"prerequisite {key!r} did not complete: {error}")
            raise error
        return value  # type: ignore[no-any-return]

    def json(self, response: httpx.Response, what: str) -> Any:
        """The response body as JSON, or a protocol-unparseable error."""
        try:
            return response.json()
        except ValueError as exc:
            raise CheckError(
                ErrorClass.UNPARSEABLE,
                f"{what}: HTTP {response.status_code}, body is not JSON",
            ) from exc

    def json_object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        value = self.json(response, what)
        if not isinstance(value, dict):
            raise CheckError(ErrorClass.UNPARSEABLE, f"{what}: body is not a JSON object")
        return value
