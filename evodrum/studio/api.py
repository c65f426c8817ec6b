"""The studio's web app (Starlette): the page, its static files and a JSON API.

Safety, as Jupyter does it: the server binds 127.0.0.1, and every request must
carry the per-run token from the printed URL (header X-Evodrum-Token, or
?token= for the page and downloads) and a Host header naming this server, so
neither another local user nor a web page in the browser (DNS rebinding) can
drive it. Requests name loops by id and never paths: nothing from the browser
reads or writes outside the session folder. A bad request gets a 4xx with a
one-line JSON error; an unexpected failure a 500 with one line, never a
traceback.
"""
from __future__ import annotations

import hmac
import json
import logging
from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from evodrum.errors import EvodrumError
from evodrum.studio.searches import AtlasRun, TargetRun
from evodrum.studio.state import Studio

TOKEN_HEADER = "x-evodrum-token"
log = logging.getLogger("evodrum.studio")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Guard:
    """ASGI middleware: the Host header must name this server, and the token must match."""

    def __init__(self, app, token: str, hosts: set[str]):
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        host = request.headers.get("host", "")
        if host not in self.hosts:
            return await _error(403, f"refused: Host {host!r} is not this studio "
                                     f"(use {sorted(self.hosts)[0]})")(scope, receive, send)
        if scope["path"].startswith("/static/"):   # the page's code: no session data
            return await self.app(scope, receive, send)
        given = request.headers.get(TOKEN_HEADER) or request.query_params.get("token") or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return await _error(403, "refused: missing or wrong token; open the URL that "
                                     "`evodrum studio` printed")(scope, receive, send)
        return await self.app(scope, receive, send)


async def _json(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise EvodrumError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise EvodrumError("the request body is a JSON object")
    return body


def _get(body: dict, name: str, kind, required: bool = True):
    """body[name] checked to be of `kind` (int, float, list, dict, str); None if optional."""
    value = body.get(name)
    if value is None:
        if required:
            raise EvodrumError(f"missing {name!r}")
        return None
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) if kind is float \
        else isinstance(value, int) and not isinstance(value, bool) if kind is int \
        else isinstance(value, kind)
    if not ok:
        raise EvodrumError(f"{name!r} must be {'a number' if kind in (int, float) else kind.__name__}")
    return value


def make_app(studio: Studio, token: str, hosts: set[str]) -> Starlette:
    """The app for one studio; `hosts` are the Host header values it answers to."""
    static = resources.files("evodrum.studio") / "static"
    search, atlas = TargetRun(studio), AtlasRun(studio)

    def page(request):
        html = (static / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html)

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
        i = int(request.path_params["id"])
        return download(request, studio.midi(i), f"loop-{i:03d}.mid", "audio/midi")

    def loop_wav(request):
        i = int(request.path_params["id"])
        bpm = request.query_params.get("bpm")
        try:
            bpm = None if bpm is None else float(bpm)
        except ValueError:
            raise EvodrumError("bpm must be a number") from None
        return download(request, studio.wav(i, bpm), f"loop-{i:03d}.wav", "audio/wav")

    def favourites(request):
        return download(request, studio.favourites_zip(), "favourites.zip", "application/zip")

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
        Route("/api/tempo", action(lambda b: studio.set_tempo(_get(b, "bpm", float))),
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
        Route("/api/target", target, methods=["GET", "POST"]),
        Route("/api/atlas", atlas_view, methods=["GET", "POST"]),
        Route("/api/loop/{id:int}.mid", loop_midi),
        Route("/api/loop/{id:int}.wav", loop_wav),
        Route("/api/favourites.zip", favourites),
        Route("/api/kit/{row}.wav", kit),
        Mount("/static", app=StaticFiles(directory=str(static)), name="static"),
    ]

    async def user_error(request, exc):
        return _error(400, str(exc))

    async def http_error(request, exc):
        return _error(exc.status_code, exc.detail if isinstance(exc.detail, str) else "error")

    async def crash(request, exc):
        log.exception("studio request %s failed", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the session is saved")

    return Starlette(routes=routes, middleware=[Middleware(Guard, token=token, hosts=hosts)],
                     exception_handlers={EvodrumError: user_error, HTTPException: http_error,
                                         Exception: crash})
