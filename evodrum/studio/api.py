"""The studio's web app (Starlette): the page, its static files and a JSON API.

Safety, as Jupyter does it: the server binds 127.0.0.1, and every request must
carry the per-run token and a Host header naming this server, so neither another
local user nor a web page in the browser (DNS rebinding) can drive it.

- The token in a URL (`/?token=...`, what `evodrum studio` prints and its launch
  file opens) is taken only on the page's address, and only to set a cookie
  (HttpOnly, SameSite) and redirect to the bare page, so it leaves the address bar.
- Reading (GET: the page, state, downloads) takes that cookie or the header;
  every state-changing request (POST) needs the X-Evodrum-Token header, which the
  page reads from its own HTML and a foreign page cannot send without CORS; a
  token in a POST's query string is refused.
- Every response carries a Content-Security-Policy (only the studio's own scripts,
  styles and connections), Referrer-Policy no-referrer and nosniff.
- Bodies are bounded (MAX_BODY, 413 from the Content-Length before reading, and
  while streaming one without it) and JSON nested deeper than statefile.MAX_DEPTH
  is refused before parsing.

Requests name loops by id and never paths: nothing from the browser reads or
writes outside the session folder. A bad request gets a 4xx with a one-line JSON
error; an unexpected failure a 500 with one line, never a traceback.
"""
from __future__ import annotations

import hmac
import json
import logging
from html import escape
from importlib import resources

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from evodrum import checks
from evodrum.errors import EvodrumError
from evodrum.statefile import check_depth
from evodrum.studio.searches import AtlasRun, TargetRun
from evodrum.studio.state import Studio

TOKEN_HEADER = "x-evodrum-token"
#: The largest request body (a grid of the largest resolution is ~150 kB of JSON).
MAX_BODY = 2**20
#: What every response says to the browser: only the studio's own code runs, nothing
#: leaks through a Referer, nothing is framed or sniffed.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
     b"media-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
     b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]
log = logging.getLogger("evodrum.studio")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def cookie_name(hosts: set[str]) -> str:
    """The token cookie's name, one per port (cookies do not tell ports apart)."""
    port = sorted(hosts)[0].rpartition(":")[2]
    return f"evodrum-studio-{port}"


class Guard:
    """ASGI middleware: security headers on every response; the Host header must name this
    server, the body must fit MAX_BODY, and the token must match (see the module note)."""

    def __init__(self, app, token: str, hosts: set[str]):
        self.app, self.token, self.hosts = app, token, hosts
        self.cookie = cookie_name(hosts)

    def _matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []),
                                                 *SECURITY_HEADERS])
            await send(message)

        response = self.refusal(Request(scope))
        if response is not None:
            return await response(scope, receive, send_secured)
        return await self.app(scope, receive, send_secured)

    def refusal(self, request: Request) -> Response | None:
        """The response that refuses `request`, or the cookie-setting redirect; None to serve it."""
        host = request.headers.get("host", "")
        if host not in self.hosts:
            return _error(403, f"refused: Host {host!r} is not this studio "
                               f"(use {sorted(self.hosts)[0]})")
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            return _error(413, f"refused: a request body is at most {MAX_BODY:,} bytes")
        if request.url.path.startswith("/static/"):   # the page's code: no session data
            return None
        reading = request.method in ("GET", "HEAD")
        in_url = request.query_params.get("token")
        if in_url is not None:
            if not (reading and request.url.path == "/"):
                return _error(403, "refused: the token is taken in the page's address only; "
                                   "requests carry it in the X-Evodrum-Token header")
            if not self._matches(in_url):
                return _error(403, "refused: wrong token; open the URL that `evodrum studio` "
                                   "printed")
            page = RedirectResponse("/", status_code=303)   # the token leaves the address bar
            page.set_cookie(self.cookie, self.token, httponly=True, samesite="lax", path="/")
            return page
        given = request.headers.get(TOKEN_HEADER) or None
        if given is None and reading:
            given = request.cookies.get(self.cookie)
        if not self._matches(given):
            return _error(403, "refused: missing or wrong token; open the URL that "
                               "`evodrum studio` printed")
        return None


async def _json(request: Request) -> dict:
    """The request's JSON object, read in chunks up to MAX_BODY and depth-checked first."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise HTTPException(413, f"refused: a request body is at most {MAX_BODY:,} bytes")
    try:
        text = bytes(data).decode("utf-8") or "{}"
    except UnicodeDecodeError:
        raise EvodrumError("the request body is not JSON") from None
    try:
        check_depth(text)
    except ValueError as e:
        raise EvodrumError(f"the request body is nested too deeply ({e})") from None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise EvodrumError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise EvodrumError("the request body is a JSON object")
    return body


def _get(body: dict, name: str, kind, required: bool = True):
    """body[name] checked to be of `kind` (int, float, list, dict, str); None if optional.
    Numbers come back finite (a float) or whole and within +-2^53 (an int)."""
    value = body.get(name)
    if value is None:
        if required:
            raise EvodrumError(f"missing {name!r}")
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = number if kind is float else number and isinstance(value, int) if kind is int \
        else isinstance(value, kind)
    if not ok:
        raise EvodrumError(f"{name!r} must be {'a number' if kind in (int, float) else kind.__name__}")
    if kind is int and abs(value) > 2**53:
        raise EvodrumError(f"{name!r} is out of range")
    return checks.number(value, repr(name)) if kind is float else value


class IndexConvertor(Convertor):
    """A loop id or result number in a URL: 1 to 12 digits (Starlette's int takes any
    number of digits, and int() refuses text past 4,300 of them: a 500)."""

    regex = "[0-9]{1,12}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("index", IndexConvertor())


def make_app(studio: Studio, token: str, hosts: set[str]) -> Starlette:
    """The app for one studio; `hosts` are the Host header values it answers to."""
    static = resources.files("evodrum.studio") / "static"
    search, atlas = TargetRun(studio), AtlasRun(studio)

    def page(request):
        """The page, carrying the token for its own requests' header (a foreign page
        cannot read it: the browser's same-origin rule)."""
        html = (static / "index.html").read_text(encoding="utf-8")
        meta = f'<meta name="evodrum-token" content="{escape(token)}">'
        return HTMLResponse(html.replace("<head>", "<head>\n" + meta, 1),
                            headers={"Cache-Control": "no-store"})

    def state(request):
        return JSONResponse(studio.view())

    def action(fn):
        async def endpoint(request):
            body = await _json(request)
            return JSONResponse(fn(body))
        return endpoint

    def rating(body):
        value = _get(body, "rating", int, required=False)
        return studio.rate(_get(body, "id", int), value)

    def download(request, data: bytes, name: str, kind: str):
        return Response(data, media_type=kind,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def loop_midi(request):
        i = request.path_params["id"]
        return download(request, studio.midi(i, request.query_params.get("map")),
                        f"loop-{i:03d}.mid", "audio/midi")

    def loop_wav(request):
        i = request.path_params["id"]
        bpm = request.query_params.get("bpm")
        try:
            bpm = None if bpm is None else float(bpm)
        except ValueError:
            raise EvodrumError("bpm must be a number") from None
        return download(request, studio.wav(i, bpm), f"loop-{i:03d}.wav", "audio/wav")

    def target_midi(request):
        i = request.path_params["i"]
        return download(request, studio.found_midi(search.result(i - 1),
                                                   request.query_params.get("map")),
                        f"target-{i}.mid", "audio/midi")

    def atlas_midi(request):
        x, y = request.path_params["x"], request.path_params["y"]
        return download(request, studio.found_midi(atlas.cell(x - 1, y - 1),
                                                   request.query_params.get("map")),
                        f"atlas-{x}-{y}.mid", "audio/midi")

    def favourites(request):
        return download(request, studio.favourites_zip(request.query_params.get("map")),
                        "favourites.zip", "application/zip")

    async def target(request):
        if request.method == "GET":
            return JSONResponse(search.view())
        body = await _json(request)
        return JSONResponse(search.start(_get(body, "goals", dict),
                                         _get(body, "generations", int)))

    async def atlas_view(request):
        if request.method == "GET":
            return JSONResponse(atlas.view())
        body = await _json(request)
        return JSONResponse(atlas.start(_get(body, "features", list), _get(body, "cells", int),
                                        _get(body, "generations", int)))

    async def link(request):
        if request.method == "GET":
            return JSONResponse(studio.link_view())
        body = await _json(request)
        return JSONResponse(studio.set_link(_get(body, "on", bool)))

    def kit(request):
        return Response(studio.kit_wav(request.path_params["row"]), media_type="audio/wav")

    routes = [
        Route("/", page),
        Route("/api/state", state),
        Route("/api/rate", action(rating), methods=["POST"]),
        Route("/api/favourite", action(lambda b: studio.favourite(_get(b, "id", int))),
              methods=["POST"]),
        Route("/api/select", action(lambda b: studio.select(_get(b, "id", int))),
              methods=["POST"]),
        Route("/api/next", action(lambda b: studio.breed()), methods=["POST"]),
        Route("/api/back", action(lambda b: studio.back()), methods=["POST"]),
        Route("/api/goto", action(lambda b: studio.go_to(_get(b, "generation", int))),
              methods=["POST"]),
        Route("/api/tempo", action(lambda b: studio.set_tempo(
            _get(b, "bpm", float), _get(b, "source", str, required=False))), methods=["POST"]),
        Route("/api/link", link, methods=["GET", "POST"]),
        Route("/api/feel", action(lambda b: studio.set_feel(_get(b, "feel", float),
                                                            _get(b, "swing", float))),
              methods=["POST"]),
        Route("/api/adventure", action(lambda b: studio.set_adventure(
            _get(b, "adventure", float))), methods=["POST"]),
        Route("/api/decode", action(lambda b: studio.decode(
            _get(b, "genotype", list), _get(b, "attributes", dict, required=False))),
            methods=["POST"]),
        Route("/api/encode", action(lambda b: studio.encode(_get(b, "grid", list))),
              methods=["POST"]),
        Route("/api/palette", action(lambda b: studio.palette(
            _get(b, "corners", list), _get(b, "x", float), _get(b, "y", float))),
            methods=["POST"]),
        Route("/api/vary", action(lambda b: studio.vary_from(
            _get(b, "genotype", list, required=False), _get(b, "grid", list, required=False),
            _get(b, "parent", int, required=False))), methods=["POST"]),
        Route("/api/undo", action(lambda b: studio.undo()), methods=["POST"]),
        Route("/api/lock", action(lambda b: studio.set_lock(
            _get(b, "rows", list), _get(b, "id", int, required=False),
            _get(b, "keep_edits", bool, required=False) is not False)), methods=["POST"]),
        Route("/api/notemaps", lambda r: JSONResponse(studio.note_maps_view())),
        Route("/api/target", target, methods=["GET", "POST"]),
        Route("/api/atlas", atlas_view, methods=["GET", "POST"]),
        Route("/api/loop/{id:index}.mid", loop_midi),
        Route("/api/loop/{id:index}.wav", loop_wav),
        Route("/api/favourites.zip", favourites),
        Route("/api/target/{i:index}.mid", target_midi),
        Route("/api/atlas/{x:index}-{y:index}.mid", atlas_midi),
        Route("/api/played", action(lambda b: studio.played_view(_get(b, "grid", list))),
              methods=["POST"]),
        Route("/api/kit/{row}.wav", kit),
        Mount("/static", app=StaticFiles(directory=str(static)), name="static"),
    ]

    async def user_error(request, exc):
        return _error(400, str(exc))

    async def http_error(request, exc):
        return _error(exc.status_code, exc.detail if isinstance(exc.detail, str) else "error")

    async def gone(request, exc):
        """The browser went away mid-request (a tab closed during an upload): there is no
        one to answer and nothing went wrong, so nothing is logged."""
        return Response(status_code=400)

    async def crash(request, exc):
        log.exception("studio request %s failed", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the session is saved")

    return Starlette(routes=routes, middleware=[Middleware(Guard, token=token, hosts=hosts)],
                     exception_handlers={EvodrumError: user_error, HTTPException: http_error,
                                         ClientDisconnect: gone, Exception: crash})
