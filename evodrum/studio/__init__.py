"""`evodrum studio`: evolve, steer and audition loops in the browser.

Modules, one job each: `state` (the session and everything the views ask of
it, no HTTP), `api` (the Starlette app: routes, the token and Host checks,
JSON errors), `searches` (the Target and Map views' searches, run in the
background with progress), `static/` (the page: plain HTML, JS and CSS, no
build step). The session is an `evodrum interactive` session folder: start in
one, resume in the other.
"""
