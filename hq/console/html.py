"""Small HTML helpers for the console's server-rendered pages: escaping, the page frame (header,
navigation, operator, locale switch, log-out form), forms that carry the CSRF token, tables.

Everything interpolated goes through `esc`; the pages load only /console/static/ files (the CSP
of hq.api.console_routes forbids the rest), so there is no inline script anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from hq.console.i18n import text

ON = ' class="on"'
NAV = ("fleet", "members", "vouchers", "rules", "analytics")


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def url(path: str, **query: object) -> str:
    parts = [f"{k}={quote(str(v), safe='')}" for k, v in query.items() if v not in (None, "")]
    return path + ("?" + "&".join(parts) if parts else "")


def when(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    return "—" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def yuan(fen: int | None) -> str:
    return "—" if fen is None else f"¥{fen / 100:,.2f}"


@dataclass(frozen=True)
class Frame:
    """What every page of one request needs: the locale, the operator (None on the login page),
    the CSRF token, the path (for the locale switch) and the time zone."""

    locale: str
    tz: dt.tzinfo
    path: str
    operator: str | None = None
    role: str | None = None
    store: str | None = None
    csrf: str = ""

    def t(self, key: str, **values: object) -> str:
        return text(self.locale, key, **values)

    def csrf_field(self) -> str:
        return f'<input type="hidden" name="csrf" value="{esc(self.csrf)}">'

    def form(self, action: str, body: str, *, cls: str = "act", confirm: str = "") -> str:
        extra = f' data-confirm="{esc(confirm)}"' if confirm else ""
        return f'<form method="post" action="{esc(action)}" class="{cls}"{extra}>{self.csrf_field()}{body}</form>'

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "store")


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], *, cls: str = "grid", tid: str = "") -> str:
    """A table; cells are HTML already (escape them with `esc`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    ident = f' id="{esc(tid)}"' if tid else ""
    return f'<table class="{cls}"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def notice(kind: str, message: str) -> str:
    return f'<p class="notice {esc(kind)}" role="status">{esc(message)}</p>'


def page(frame: Frame, title: str, body: str, *, active: str = "", banner: str = "") -> str:
    """The whole document."""
    lang = "zh-CN" if frame.locale == "zh_CN" else "en"
    other = "en" if frame.locale == "zh_CN" else "zh_CN"
    switch_to = url("/console/locale", to=other, next=frame.path)
    switch = f'<a id="locale-switch" href="{esc(switch_to)}">{esc(frame.t("switch"))}</a>'
    nav = ""
    who = ""
    if frame.operator is not None:
        links = "".join(
            f'<a href="/console/{name}"{ON if name == active else ""} id="nav-{name}">{esc(frame.t("nav." + name))}</a>'
            for name in NAV
        )
        nav = f"<nav>{links}</nav>"
        role = frame.t("role.store", store=frame.store) if frame.role == "store" else frame.t(f"role.{frame.role}")
        logout = frame.form("/console/logout", f'<button id="logout">{esc(frame.t("logout"))}</button>', cls="inline")
        who = f'<span id="operator">{esc(frame.operator)} · {esc(role)}</span>{logout}'
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf" content="{esc(frame.csrf)}">'
        f"<title>{esc(title)} · {esc(frame.t('console'))}</title>"
        f'<link rel="stylesheet" href="/console/static/console.css">'
        f'<script src="/console/static/console.js" defer></script></head><body>'
        f'<header><strong>{esc(frame.t("console"))}</strong>{nav}<span class="who">{who}{switch}</span></header>'
        f"<main><h1>{esc(title)}</h1>{banner}{body}</main></body></html>"
    )
