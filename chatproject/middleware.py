from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from chatproject.paths import body_max_bytes


class BodySizeLimitMiddleware:
    """Refuse a body over the path's limit (chatproject.paths.body_max_bytes) with 413 before
    anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
        limit = body_max_bytes(request.path_info)
        if length > limit:
            return JsonResponse(
                {"detail": f"Request body is larger than {limit} bytes."}, status=413
            )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY on HTML responses that set none of their own.

    Paths under CONTENT_SECURITY_POLICY_EXEMPT_PATHS (the admin, the API docs) are left alone:
    they rely on inline scripts and styles. So are Django's debug error pages, which do too and are
    only ever shown with DEBUG on.
    """

    header = "Content-Security-Policy"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            self.header not in response
            and response.get("Content-Type", "").startswith("text/html")
            and not request.path.startswith(tuple(settings.CONTENT_SECURITY_POLICY_EXEMPT_PATHS))
            and not (settings.DEBUG and response.status_code >= 400)
        ):
            response[self.header] = settings.CONTENT_SECURITY_POLICY
        return response


class ApiNoStoreMiddleware:
    """API answers are private and change all the time: no browser or proxy may keep them
    (Chrome served a stale /api/chats/ on Back without this)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


class ReleaseViewMiddleware:
    """Once a DRF response is rendered, drop the references that tie the view, its request, its
    response and its serializers into cycles: the view holds the request and the response, whose
    contexts point back at the view; the request points at itself; a serializer's data points
    back at the serializer, whose fields point back at it. Left so, every API request's objects,
    its rows and payloads included, waited for the cyclic collector, whose pauses, tens of ms
    each, then landed on whatever request or socket ran next (bench/README.md, catch-up). The
    rendered response keeps its data; nothing after the view reads the rest.

    First in MIDDLEWARE, so that every other middleware has seen the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        renderer_context = getattr(response, "renderer_context", None)
        if renderer_context:
            view, drf_request = renderer_context.get("view"), renderer_context.get("request")
            if drf_request is not None:
                drf_request.parser_context = None
            if view is not None:
                view.__dict__.clear()
            renderer_context.clear()
            data = getattr(response, "data", None)
            for part in (data, *data.values()) if isinstance(data, dict) else (data,):
                serializer = getattr(part, "serializer", None)  # DRF's ReturnDict, ReturnList
                if serializer is not None:
                    serializer.__dict__.clear()
        return response
