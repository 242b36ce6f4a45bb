"""HQ's operator console (issue #23): server-rendered pages over HQ's own use cases.

Pure parts live here (no FastAPI: the layer rules confine it to hq.api): the session cookie and
CSRF tokens (session), the words in zh_CN and en (i18n), HTML helpers and page bodies (html,
pages), and the reads and the few changes the pages need (fleet, members, vouchers, rules). The
routes are hq.api.console_routes; the kiosk-screen preview runs in a child process
(preview_worker), so pygame never loads into HQ's web process.
"""
