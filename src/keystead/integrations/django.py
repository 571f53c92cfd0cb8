"""Django: a middleware configured from ``settings.KEYSTEAD`` and a view decorator::

    MIDDLEWARE = [..., "keystead.integrations.django.KeysteadMiddleware"]
    KEYSTEAD = {"PUBLIC": True}            # embedded, KEYSTEAD_* from the environment

    @require_key("documents.read")
    def documents(request): return JsonResponse({"owner": request.keystead.owner_id})

``request.keystead`` holds the verified ``Identity`` (None when nothing was
verified). Settings (all optional): ``GUARD`` (a ``SyncGuard`` or its dotted
path), ``REMOTE`` (``{"URL": ..., "ROOT_KEY": ...}``: verify against a Keystead
server), ``DATABASE_URL`` (embedded), ``RULES`` (``Rule``s or their dicts),
``PERMISSIONS``, ``PUBLIC`` (default False: every request needs a key),
``KEY_SOURCES`` (``KeySources`` or its dict), ``TRUSTED_PROXIES``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from time import perf_counter
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from keystead.integrations._django_config import Config, load_config
from keystead.integrations.context import environ_context
from keystead.integrations.guard import Check, Served
from keystead.integrations.pending import SyncPending
from keystead.integrations.refusal import Answer, KeyRefused, missing_key

View = TypeVar("View", bound=Callable[..., HttpResponseBase])
PENDING = "keystead_pending"
IDENTITY = "keystead"
_CACHED = ("headers", "COOKIES", "GET")


class KeysteadMiddleware:
    """Checks every request against the ``KEYSTEAD`` settings' rules, removes the
    credential from ``request.META``, adds rate-limit headers to the response
    and completes the usage record once it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.config: Config = load_config(getattr(settings, "KEYSTEAD", {}))

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = perf_counter()
        config = self.config
        rule = config.routes.match(request.method or "GET", request.path)
        environ = request.META
        key = config.sources.find_in_environ(environ)
        context = None
        if key is not None:
            context = environ_context(environ, rule.permissions, proxies=config.proxies)
            _strip(request, config.sources.strip_environ(environ))
        slot = request.__dict__
        if rule.public:
            pending = SyncPending(config.guard, key, context, slot, IDENTITY)
        else:
            if key is None or context is None:
                return problem_response(missing_key())
            check = config.guard.check(key, context, rule.cost)
            if check.answer is not None:
                refused = problem_response(check.answer)
                self._finish(check, refused, started, request)
                return refused
            pending = SyncPending(config.guard, None, context, slot, IDENTITY, check)
        setattr(request, PENDING, pending)
        response = self.get_response(request)
        verified = pending.check
        if verified is not None:
            for name, value in verified.headers:
                response[name.decode("latin-1")] = value.decode("latin-1")
            self._finish(verified, response, started, request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A ``KeyRefused`` raised by a view (or a DRF class) becomes its answer."""
        if isinstance(exception, KeyRefused):
            return problem_response(exception.answer)
        return None

    def _finish(
        self, check: Check, response: HttpResponseBase, started: float, request: HttpRequest
    ) -> None:
        guard = self.config.guard
        bytes_in = _content_length(request)

        def done(bytes_out: int | None) -> None:
            guard.finish(check, Served.since(started, response.status_code, bytes_in, bytes_out))

        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            chunks = cast(Iterator[bytes], response.streaming_content)
            response.streaming_content = _counted(chunks, done)
        elif isinstance(response, HttpResponse):
            done(len(response.content))
        else:
            done(None)


def require_key(
    permissions: str | None = None, *, cost: int | None = None
) -> Callable[[View], View]:
    """Guard a view (``method_decorator`` for class-based ones): a key whose
    permissions satisfy ``permissions``; needs ``KeysteadMiddleware``."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                pending_of(request).identity(permissions, cost)
            except KeyRefused as refused:
                return problem_response(refused.answer)
            return view(request, *args, **kwargs)

        return cast(View, guarded)

    return decorate


def pending_of(request: HttpRequest) -> SyncPending:
    pending = getattr(request, PENDING, None)
    if not isinstance(pending, SyncPending):
        raise ImproperlyConfigured(
            "add keystead.integrations.django.KeysteadMiddleware to MIDDLEWARE"
        )
    return pending


def problem_response(answer: Answer) -> HttpResponse:
    status, headers, body = answer
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name.decode("latin-1")] = value.decode("latin-1")
    return response


def _strip(request: HttpRequest, environ: dict[str, Any]) -> None:
    """Give the request the environ without the credential, and forget what
    Django already parsed from the old one."""
    request.META = environ
    if hasattr(request, "environ"):
        request.environ = environ
    for name in _CACHED:
        request.__dict__.pop(name, None)


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def _counted(chunks: Iterator[bytes], done: Callable[[int | None], None]) -> Iterator[bytes]:
    sent = 0
    try:
        for chunk in chunks:
            sent += len(chunk)
            yield chunk
    finally:
        done(sent)


__all__ = ["KeysteadMiddleware", "pending_of", "problem_response", "require_key"]
