"""The cashier's screen (收银核销页): a static page HQ serves at `/till` for tills' browsers.

The page (hq/api/static/till/: index.html, till.js, till.css; no build step, nothing fetched from
the internet) talks to the till API of docs/vouchers.md with the till's own token, which the
cashier enters once and the browser keeps in localStorage. HQ puts no secret in it: the files are
the same for every till, and a till token admits only that till's routes.

`GET /till` answers index.html itself, so the page's relative asset URLs ("till/till.js") resolve
under `/till/`; `GET /till/` redirects to `/till`. Every answer says `Cache-Control: no-cache`, so
a till's browser revalidates (ETag) and picks up a new page when HQ is upgraded.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

#: The page's files, shipped as package data (pyproject: [tool.setuptools.package-data]).
STATIC_DIR = Path(__file__).parent / "static" / "till"

#: The document may load only its own files; `connect-src` also allows another HQ base URL, which
#: the cashier may enter in the settings (that HQ must then allow this origin: CORS).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _Assets(StaticFiles):
    """StaticFiles whose answers carry `_HEADERS` (revalidate: a new HQ may ship a new page)."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_HEADERS)
        return response


def mount_till_page(app: FastAPI, *, directory: Path = STATIC_DIR) -> None:
    """Serve the cashier's page at `/till` and its files under `/till/` (left out of OpenAPI)."""
    index = directory / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"the till page is missing: {index} (is the package data installed?)")

    @app.get("/till", include_in_schema=False)
    def till_page() -> FileResponse:
        return FileResponse(
            index, media_type="text/html", headers={**_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY}
        )

    @app.get("/till/", include_in_schema=False)
    def till_page_slash() -> RedirectResponse:
        # Relative, so that it still works when a proxy serves HQ under a path prefix.
        return RedirectResponse("../till", status_code=308)

    # Registered after the two routes above: a Mount at /till matches /till/... only, never /till.
    app.mount("/till", _Assets(directory=directory), name="till")
