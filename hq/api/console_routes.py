"""The operator console's HTTP side (`/console/...`, left out of OpenAPI): log in, the pages, the
forms. Pages are rendered on the server (hq.console.pages); console.js only adds the live event
list, confirmations and the CSRF header for its fetches.

Access: an operator logs in with name and token (the same accounts and tokens as the API); the
session is a signed cookie (hq.console.session: HttpOnly, SameSite=Strict, Secure over TLS,
checked against the operators table on every request, so a disabled account is out at once).
Every POST carries the session's CSRF token and is refused (403) without it; the login form
carries a double-submit token of its own. Roles are enforced here, on the server, by the same
`Caller` checks the API uses: a viewer writes nothing, store staff act on their store's members,
cards and vouchers only, programmes are for admins. Every change records the operator's name
(a block's `ref`, a release's `released_by`, the programme's `created_by`, the voucher history's
`actor`, the points adjustment's entry). Analytics (hq.console.analytics) are read-only, for every
operator: store staff see their own store's figures only, here too, in the page and the CSV.
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations.

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Connection

from hq.api.auth import Caller
from hq.api.context import Context
from hq.api.till_page import _Assets
from hq.api.transactions import run_in_transaction
from hq.console import analytics as analytics_q
from hq.console import fleet as fleet_q
from hq.console import members as members_q
from hq.console import pages
from hq.console import rules as rules_q
from hq.console import vouchers as vouchers_q
from hq.console.html import Frame, notice, page, url
from hq.console.i18n import LOCALES, pick_locale
from hq.console.session import COOKIE, LIFETIME_S, LOCALE_COOKIE, Session, SessionCodec, session_key
from hq.domain.errors import HqDomainError
from hq.service import denylist, members, programs, vouchers
from hq.service.errors import HqServiceError
from hq.service.operators import BOOTSTRAP_NAME
from hq.service.vouchers import token_digest
from hq.store import tables as t

STATIC_DIR = Path(__file__).parent / "static" / "console"
PRE_COOKIE = "hq_console_pre"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


@dataclass(frozen=True)
class Who:
    """The logged-in operator, as the database says now."""

    session: Session
    name: str
    role: str
    store_id: str | None

    def caller(self) -> Caller:
        return Caller(self.role, None, self.store_id, self.name, named=True)


async def _form(request: Request) -> dict[str, str]:
    """An url-encoded form body (the console's forms send nothing else)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


Form = Annotated[dict[str, str], Depends(_form)]


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/console") and not target.startswith("//") else "/console/fleet"


def mount_console(app: FastAPI, ctx: Context, *, operator_token: str | None, policy: vouchers.VoucherPolicy) -> None:
    codec = SessionCodec(session_key(ctx.signing_key))
    bootstrap_digest = token_digest(operator_token) if operator_token is not None else None
    router = APIRouter(prefix="/console", include_in_schema=False)

    def now_s() -> int:
        return int(ctx.now().timestamp())

    def locale_of(request: Request) -> str:
        return pick_locale(request.cookies.get(LOCALE_COOKIE), request.headers.get("accept-language"))

    def who(request: Request) -> Who | None:
        session = codec.read(request.cookies.get(COOKIE), now_s())
        if session is None:
            return None
        if session.name == BOOTSTRAP_NAME:
            digest = bootstrap_digest if bootstrap_digest is not None else token_digest("")
            ok = hmac.compare_digest(session.generation, codec.generation(digest))
            return Who(session, BOOTSTRAP_NAME, "admin", None) if ok else None
        o = t.operators.c
        with ctx.engine.connect() as conn:
            row = conn.execute(
                sa.select(o.role, o.store_id, o.token_sha256).where(o.name == session.name, o.disabled_at.is_(None))
            ).first()
        if row is None or not hmac.compare_digest(session.generation, codec.generation(row.token_sha256)):
            return None
        return Who(session, session.name, row.role, row.store_id)

    def frame(request: Request, w: Who | None) -> Frame:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        tz = ctx.now().tzinfo or dt.UTC
        if w is None:
            return Frame(locale_of(request), tz, path)
        return Frame(locale_of(request), tz, path, w.name, w.role, w.store_id, codec.csrf(w.session))

    def html(body: str, status: int = 200, cookies: Callable[[Response], None] | None = None) -> HTMLResponse:
        response = HTMLResponse(
            body, status_code=status, headers={**_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY}
        )
        if cookies is not None:
            cookies(response)
        return response

    def to_login(request: Request, reason: str = "") -> RedirectResponse:
        return RedirectResponse(url("/console/login", why=reason, next=request.url.path), status_code=303)

    def banner(request: Request, f: Frame) -> str:
        q = request.query_params
        if q.get("ok"):
            key = "ok." + q["ok"]
            try:
                return notice("ok", f.t(key, subject=q.get("subject", "")))
            except KeyError:
                return ""
        if q.get("err"):
            return notice("bad", f.t("error", message=q["err"]))
        return ""

    def writer(request: Request, form: dict[str, str]) -> Who | Response:
        """The operator of a state-changing request, after the CSRF check; else the refusal."""
        w = who(request)
        if w is None:
            return to_login(request, "expired")
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return html(page(frame(request, w), "403", notice("bad", frame(request, w).t("csrf"))), 403)
        token = form.get("csrf") or request.headers.get("x-csrf-token")
        if not codec.csrf_ok(w.session, token):
            return html(page(frame(request, w), "403", notice("bad", frame(request, w).t("csrf"))), 403)
        return w

    def act(back: str, fn: Callable[[Connection], Any], ok: str, subject: Callable[[Any], str]) -> RedirectResponse:
        """Run a change in one transaction; back to the page with what happened (or why not)."""
        try:
            result = run_in_transaction(ctx.engine, fn)
        except (HqServiceError, HqDomainError) as exc:
            return RedirectResponse(url(back, err=getattr(exc, "message", str(exc))), status_code=303)
        return RedirectResponse(url(back, ok=ok, subject=subject(result)), status_code=303)

    # --- log in and out, locale ------------------------------------------------------------

    @router.get("/login")
    def login_page(request: Request) -> HTMLResponse:
        f = frame(request, None)
        pre = secrets.token_urlsafe(16)
        why = request.query_params.get("why")
        top = notice("info", f.t("login." + why)) if why in ("out", "expired", "failed") else ""
        if why == "failed":
            top = notice("bad", f.t("login.failed"))

        def set_pre(response: Response) -> None:
            response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", path="/console",
                                secure=request.url.scheme == "https")  # fmt: skip

        next_ = request.query_params.get("next", "")
        body = pages.login(f, pre).replace('action="/console/login"', f'action="{url("/console/login", next=next_)}"')
        return html(page(f, f.t("login.title"), body, banner=top), cookies=set_pre)

    @router.post("/login")
    def login(request: Request, form: Form) -> Response:
        pre = request.cookies.get(PRE_COOKIE)
        if not pre or not hmac.compare_digest(pre, form.get("pre", "")):
            f = frame(request, None)
            return html(page(f, "403", notice("bad", f.t("csrf"))), 403)
        name, token = form.get("name", "").strip(), form.get("token", "")
        digest = token_digest(token)
        found: str | None = None
        if name == BOOTSTRAP_NAME:
            if operator_token is None or hmac.compare_digest(token.encode(), operator_token.encode()):
                found = bootstrap_digest if bootstrap_digest is not None else token_digest("")
        else:
            o = t.operators.c
            with ctx.engine.connect() as conn:
                stored = conn.execute(sa.select(o.token_sha256).where(o.name == name, o.disabled_at.is_(None))).scalar()
            if stored is not None and hmac.compare_digest(stored, digest):
                found = stored
        if found is None:
            return RedirectResponse(url("/console/login", why="failed"), status_code=303)
        value, _ = codec.issue(name, found, now_s())
        response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        response.set_cookie(COOKIE, value, max_age=LIFETIME_S, httponly=True, samesite="strict", path="/console",
                            secure=request.url.scheme == "https")  # fmt: skip
        response.delete_cookie(PRE_COOKIE, path="/console")
        return response

    @router.post("/logout")
    def logout(request: Request, form: Form) -> Response:
        w = writer(request, form)
        if isinstance(w, Response):
            return w
        response = RedirectResponse(url("/console/login", why="out"), status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @router.get("/locale")
    def set_locale(request: Request, to: str = "zh_CN", next: str = "") -> RedirectResponse:
        response = RedirectResponse(_safe_next(next) if next else "/console/login", status_code=303)
        if to in LOCALES:
            response.set_cookie(LOCALE_COOKIE, to, max_age=365 * 86400, samesite="strict", path="/console")
        return response

    @router.get("")
    def root() -> RedirectResponse:
        return RedirectResponse("/console/fleet", status_code=303)

    # --- fleet -----------------------------------------------------------------------------

    @router.get("/fleet")
    def fleet_page(request: Request, store: str = "") -> Response:
        w = who(request)
        if w is None:
            return to_login(request)
        f = frame(request, w)
        now = ctx.now()
        with ctx.engine.connect() as conn:
            rows = fleet_q.kiosks(conn, now, store or None)
            stores = fleet_q.stores(conn)
            events = fleet_q.last_events(conn, store or None)
        return html(page(f, f.t("fleet.title"), pages.fleet(f, rows, stores, store or None, events), active="fleet"))

    @router.get("/fleet/events")
    def fleet_events(request: Request, store: str = "") -> Response:
        w = who(request)
        if w is None:
            return Response(status_code=401)
        with ctx.engine.connect() as conn:
            events = fleet_q.last_events(conn, store or None)
        return html(pages.events_table(frame(request, w), events))

    # --- members and cards -----------------------------------------------------------------

    @router.get("/members")
    def members_page(request: Request, q: str = "") -> Response:
        w = who(request)
        if w is None:
            return to_login(request)
        f = frame(request, w)
        with ctx.engine.connect() as conn:
            found = members_q.find(conn, q)
        if len(found) == 1 and found[0].via in ("member", "card"):
            return RedirectResponse(f"/console/members/{found[0].member_id}", status_code=303)
        return html(page(f, f.t("members.title"), pages.member_search(f, q, found), active="members"))

    @router.get("/members/{member_id}")
    def member_page(request: Request, member_id: str) -> Response:
        w = who(request)
        if w is None:
            return to_login(request)
        f = frame(request, w)
        try:
            with ctx.engine.connect() as conn:
                d = members_q.detail(conn, member_id)
        except HqServiceError as exc:
            return html(page(f, f.t("members.title"), notice("bad", exc.message), active="members"), 404)
        title = f"{d['member']['name']} · {member_id}"
        return html(page(f, title, pages.member_detail(f, d), active="members", banner=banner(request, f)))

    @router.post("/members/{member_id}/adjust")
    def adjust(request: Request, member_id: str, form: Form) -> Response:
        w = writer(request, form)
        if isinstance(w, Response):
            return w
        caller, now = w.caller(), ctx.now()
        try:
            delta = int(form.get("points", ""))
        except ValueError:
            return RedirectResponse(url(f"/console/members/{member_id}", err="points: a whole number"), status_code=303)

        def apply(conn: Connection) -> int:
            caller.check_member(conn, member_id)
            return members_q.adjust_points(conn, member_id, delta, reason=form.get("reason", ""), by=w.name, now=now)

        return act(f"/console/members/{member_id}", apply, "adjusted", lambda held: f"{held:,}")

    @router.post("/members/{member_id}/cards")
    def add_card(request: Request, member_id: str, form: Form) -> Response:
        w = writer(request, form)
        if isinstance(w, Response):
            return w
        caller, now = w.caller(), ctx.now()
        uid = members_q.card_uid(form.get("uid", ""))
        if uid is None:
            return RedirectResponse(
                url(f"/console/members/{member_id}", err="UID: 4, 7 or 10 bytes of hex"), status_code=303
            )

        def apply(conn: Connection) -> str:
            caller.check_member(conn, member_id)
            members.add_card(conn, member_id, uid, members_q.next_issue_no(conn, member_id), now)
            return uid

        return act(f"/console/members/{member_id}", apply, "card_added", str)

    def _card_member(uid: str) -> str:
        with ctx.engine.connect() as conn:
            owner = conn.execute(sa.select(t.cards.c.member_id).where(t.cards.c.uid == uid.lower())).scalar()
        return f"/console/members/{owner}" if owner else url("/console/members", q=uid)

    @router.post("/cards/{uid}/block")
    def block(request: Request, uid: str, form: Form) -> Response:
        w = writer(request, form)
        if isinstance(w, Response):
            return w
        caller, now = w.caller(), ctx.now()

        def apply(conn: Connection) -> str:
            caller.check_card(conn, uid)
            denylist.block(conn, uid, "lost", source="operator", ref=f"{w.name}: {form.get('note', '')}", now=now)
            return uid.lower()

        return act(_card_member(uid), apply, "blocked", str)

    @router.post("/cards/{uid}/release")
    def release(request: Request, uid: str, form: Form) -> Response:
        w = writer(request, form)
        if isinstance(w, Response):
            return w
        caller, now = w.caller(), ctx.now()

        def apply(conn: Connection) -> str:
            caller.check_card(conn, uid)
            denylist.release(conn, uid, by=w.name, note=form.get("note", "").strip(), now=now)
            return uid.lower()

        return act(_card_member(uid), apply, "released", str)

    # --- vouchers --------------------------------------------------------------------------

    @router.get("/vouchers")
    def vouchers_page(request: Request, q: str = "") -> Response:
        w = who(request)
        if w is None:
            return to_login(request)
        f = frame(request, w)
        with ctx.engine.connect() as conn:
            found = vouchers_q.find(conn, q)
        if len(found) == 1:
            return RedirectResponse(f"/console/vouchers/{found[0]['voucher_id']}", status_code=303)
        return html(page(f, f.t("vouchers.title"), pages.voucher_search(f, q, found), active="vouchers"))

    @router.get("/vouchers/{voucher_id}")
    def voucher_page(request: Request, voucher_id: str) -> Response:
        w = who(request)
        if w is None:
            return to_login(request)
        f = frame(request, w)
        try:
            with ctx.engine.connect() as conn:
                row, state, history = vouchers_q.detail(conn, voucher_id, ctx.now())
        except HqServiceError as exc:
            return html(page(f, f.t("vouchers.title"), notice("bad", exc.message), active="vouchers"), 404)
        body = pages.voucher_detail(f, row, state, history)
        return html(page(f, f"{f.t('v.id')} {voucher_id}", body, active="vouchers", banner=banner(request, f)))

    def _voucher_change(request: Request, voucher_id: str, form: dict[str, str], kind: str) -> Response:
        w = writer(request, form)
        if isinstance(w, Response):
            return w
        caller, now = w.caller(), ctx.now()
        # The operator's name is the history's actor; store staff act for their store only.
        actor = vouchers.Till(w.name, w.store_id if w.role == "store" else None)
        request_id = f"console-{secrets.token_hex(8)}"
        reason = form.get("reason", "").strip() or kind

        def apply(conn: Connection) -> str:
            caller.check_write()
            if kind == "reverse":
                vouchers.reverse(conn, actor, policy, voucher_id, request_id, reason, now)
            else:
                vouchers.cancel(conn, actor, policy, voucher_id, request_id, reason, now)
            return voucher_id

        return act(f"/console/vouchers/{voucher_id}", apply, "reversed" if kind == "reverse" else "cancelled", str)

    @router.post("/vouchers/{voucher_id}/reverse")
    def reverse(request: Request, voucher_id: str, form: Form) -> Response:
        return _voucher_change(request, voucher_id, form, "reverse")

    @router.post("/vouchers/{voucher_id}/cancel")
    def cancel(request: Request, voucher_id: str, form: Form) -> Response:
        return _voucher_change(request, voucher_id, form, "cancel")

    # --- rules -----------------------------------------------------------------------------

    def rules_body(f: Frame, request: Request, **draft_parts: Any) -> str:
        with ctx.engine.connect() as conn:
            current = rules_q.document(conn)
            history = rules_q.versions(conn)
            shown: tuple[int, list[str]] | None = None
            wanted = request.query_params.get("diff")
            if wanted and wanted.isdigit() and int(wanted) > 1:
                new, old = rules_q.document(conn, int(wanted)), rules_q.document(conn, int(wanted) - 1)
                if new is not None:
                    shown = (new[0], rules_q.diff(old[1] if old else None, new[1], f"v{new[0] - 1}", f"v{new[0]}"))
        if current is not None and "tiers_text" not in draft_parts:
            draft_parts["tiers_text"], draft_parts["rewards_text"] = pages.start_draft(current)
        defaults: dict[str, Any] = {"tiers_text": "", "rewards_text": "", "members_text": "", "draft": None,
                                    "changes": None, "preview": None}  # fmt: skip
        return pages.rules(f, current=current, history=history, shown_diff=shown, **(defaults | draft_parts))

    @router.get("/rules")
    def rules_page(request: Request) -> Response:
        w = who(request)
        if w is None:
            return to_login(request)
        f = frame(request, w)
        return html(page(f, f.t("rules.title"), rules_body(f, request), active="rules", banner=banner(request, f)))

    @router.post("/rules")
    def rules_post(request: Request, form: Form) -> Response:
        w = writer(request, form)
        if isinstance(w, Response):
            return w
        f = frame(request, w)
        action = form.get("action", "validate")
        tiers_text, rewards_text = form.get("tiers", ""), form.get("rewards", "")
        members_text = form.get("members", "")
        with ctx.engine.connect() as conn:
            current = rules_q.document(conn)
        if current is None:
            return html(page(f, f.t("rules.title"), notice("bad", f.t("rules.none")), active="rules"), 409)
        base = int(form["base"]) if form.get("base", "").isdigit() else current[0]
        parts: dict[str, Any] = {"tiers_text": tiers_text, "rewards_text": rewards_text, "members_text": members_text}
        if base != current[0]:
            top = notice("bad", f.t("rules.stale", version=current[0]))
            return html(page(f, f.t("rules.title"), rules_body(f, request, **parts), active="rules", banner=top), 409)
        draft = rules_q.make_draft(base, current[1], tiers_text, rewards_text)
        parts["draft"] = draft
        if draft.document is not None:
            parts["changes"] = rules_q.diff(current[1], draft.document, f"v{base}", "draft")
        if action == "publish" and draft.program is not None:
            caller, now = w.caller(), ctx.now()
            document = draft.document

            def publish(conn: Connection) -> int:
                caller.check_admin("publishing rules")
                return programs.add_program(
                    conn, document, key=ctx.signing_key, topics=ctx.topics, now=now, by=w.name
                ).version

            return act("/console/rules", publish, "published", str)
        if action == "preview" and draft.program is not None:
            ids = [m.strip() for m in members_text.split(",")]
            with ctx.engine.connect() as conn:
                entries = rules_q.sample_entries(conn, ids)
            now = ctx.now()
            parts["preview"] = rules_q.preview(
                draft.program, entries, now=now, tz=getattr(now.tzinfo, "key", "UTC"), locales=[f.locale]
            )
        status = 200 if draft.error is None else 422
        return html(page(f, f.t("rules.title"), rules_body(f, request, **parts), active="rules"), status)

    # --- analytics -------------------------------------------------------------------------

    def analytics_scope(request: Request, w: Who, store: str, days: str) -> analytics_q.Scope | Response:
        """The page's and the exports' filters, or the refusal: store staff see their store only
        (no store asked: theirs), viewers and admins a store or the fleet (no store)."""
        f = frame(request, w)
        window = analytics_q.window_of(days)
        if window is None:
            choices = "/".join(map(str, analytics_q.WINDOWS))
            body = notice("bad", f.t("analytics.bad_window", choices=choices))
            return html(page(f, f.t("analytics.title"), body, active="analytics"), 400)
        if w.role == "store":
            if store and store != w.store_id:
                body = notice("bad", f.t("analytics.forbidden", store=w.store_id))
                return html(page(f, f.t("analytics.title"), body, active="analytics"), 403)
            store = w.store_id or ""
        return analytics_q.Scope(store or None, window, ctx.now(), f.tz)

    @router.get("/analytics")
    def analytics_page(request: Request, store: str = "", days: str = "") -> Response:
        w = who(request)
        if w is None:
            return to_login(request)
        scope = analytics_scope(request, w, store, days)
        if isinstance(scope, Response):
            return scope
        f = frame(request, w)
        with ctx.engine.connect() as conn:
            known = analytics_q.stores(conn)
            report = analytics_q.report(conn, scope)
        body = analytics_q.body(f, scope, known, report)
        return html(page(f, f.t("analytics.title"), body, active="analytics"))

    @router.get("/analytics/export/{kind}.csv")
    def analytics_export(request: Request, kind: str, store: str = "", days: str = "") -> Response:
        w = who(request)
        if w is None:
            return to_login(request)
        if kind not in analytics_q.EXPORTS:
            return Response(status_code=404)
        scope = analytics_scope(request, w, store, days)
        if isinstance(scope, Response):
            return scope
        with ctx.engine.connect() as conn:
            text = analytics_q.export(conn, scope, kind)
        disposition = f'attachment; filename="{analytics_q.export_name(scope, kind)}"'
        return Response(
            text.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={**_HEADERS, "Content-Disposition": disposition},
        )

    app.include_router(router)
    app.mount("/console/static", _Assets(directory=STATIC_DIR), name="console-static")
