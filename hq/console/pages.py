"""The console's page bodies, from the data hq.console's queries return (pure: no HTTP, no SQL).

hq.api.console_routes calls these and wraps them in `html.page`. Write actions are forms that
POST with the CSRF token; a viewer gets no forms at all (and the server refuses them anyway).
"""

from __future__ import annotations

from typing import Any

from hq.console.fleet import EventRow, KioskRow
from hq.console.html import Frame, esc, notice, table, url, when, yuan
from hq.console.members import Found
from hq.console.rules import Draft, Version, pretty


def login(frame: Frame, pre: str, name: str = "") -> str:
    return (
        '<form method="post" action="/console/login" id="login" class="card">'
        f'<input type="hidden" name="pre" value="{esc(pre)}">'
        f'<label>{esc(frame.t("login.name"))}<input name="name" id="login-name" value="{esc(name)}" '
        'autocomplete="username" required></label>'
        f'<label>{esc(frame.t("login.token"))}<input name="token" id="login-token" type="password" '
        'autocomplete="current-password" required></label>'
        f'<button id="login-submit">{esc(frame.t("login.submit"))}</button></form>'
    )


def _state(frame: Frame, state: str) -> str:
    key = state if state in ("online", "offline") else "unknown"
    return f'<span class="badge {key}">{esc(frame.t("fleet." + key))}</span>'


def fleet(frame: Frame, rows: list[KioskRow], stores: list[str], store: str | None, events: list[EventRow]) -> str:
    options = f'<option value="">{esc(frame.t("fleet.all"))}</option>' + "".join(
        f'<option value="{esc(s)}"{" selected" if s == store else ""}>{esc(s)}</option>' for s in stores
    )
    filt = (
        f'<form method="get" action="/console/fleet" class="filter"><label>{esc(frame.t("fleet.store"))} '
        f'<select name="store" id="store-filter">{options}</select></label>'
        f'<button id="filter">{esc(frame.t("fleet.filter"))}</button></form>'
    )
    t = frame.t
    heads = [t(k) for k in ("fleet.device", "fleet.store", "fleet.state", "fleet.last_seen", "fleet.software",
                            "fleet.reader", "fleet.outbox", "fleet.rules", "fleet.gaps", "fleet.offline_redemptions",
                            "fleet.security")]  # fmt: skip
    body = [
        [
            esc(r.device_id),
            esc(r.store_id or "—"),
            _state(frame, r.state),
            esc(when(r.last_seen, frame.tz)),
            esc(r.software or "—"),
            f'<span class="reader {esc(r.reader or "")}">{esc(r.reader or "—")}</span>',
            esc("—" if r.outbox_depth is None else r.outbox_depth),
            esc("—" if r.rules_version is None else r.rules_version),
            f'<span class="{"warn" if r.gaps else ""}">{r.gaps}</span>',
            str(r.offline_redemptions),
            f'<span class="{"bad" if r.security_events else ""}">{r.security_events}</span>',
        ]  # fmt: skip
        for r in rows
    ]
    kiosks = table(heads, body, tid="fleet") if rows else notice("info", t("fleet.none"))
    live = url("/console/fleet/events", store=store)
    return (
        filt + kiosks + f"<h2>{esc(t('fleet.events'))} <small>{esc(t('fleet.live'))}</small></h2>"
        f'<div id="events" data-poll="{esc(live)}">{events_table(frame, events)}</div>'
    )


def events_table(frame: Frame, events: list[EventRow]) -> str:
    t = frame.t
    rows = [
        [
            esc(when(e.received_at, frame.tz)),
            esc(e.device_id),
            str(e.seq),
            f'<span class="{"bad" if e.type.startswith("security.") else ""}">{esc(e.type)}</span>'
            + (f" <small>{esc(t('ev.offline'))}</small>" if e.offline else ""),
            esc(e.member_id or "—"),
            esc(e.outcome),
        ]  # fmt: skip
        for e in events
    ]
    return table(
        [t("ev.at"), t("fleet.device"), "seq", t("ev.type"), t("ev.member"), t("ev.outcome")], rows, tid="event-list"
    )


def member_search(frame: Frame, query: str, found: list[Found]) -> str:
    t = frame.t
    form = (
        '<form method="get" action="/console/members" class="filter">'
        f'<input name="q" id="member-query" value="{esc(query)}" placeholder="{esc(t("members.query"))}" size="34">'
        f'<button id="member-search">{esc(t("members.search"))}</button></form>'
        f'<p class="hint">{esc(t("members.no_phone"))}</p>'
    )
    if not query:
        return form
    if not found:
        return form + notice("info", t("members.none"))
    rows = [
        [
            f'<a href="/console/members/{esc(f.member_id)}">{esc(f.member_id)}</a>',
            esc(f.name),
            esc(f.tier),
            esc(f.home_store or "—"),
            esc(t("members.via." + f.via)),
        ]  # fmt: skip
        for f in found
    ]
    return form + table([t("m.id"), t("m.name"), t("m.tier"), t("m.home"), ""], rows, tid="members")


def member_detail(frame: Frame, d: dict[str, Any]) -> str:
    t = frame.t
    m = d["member"]
    facts = [
        (t("m.id"), m["member_id"]), (t("m.name"), m["name"]), (t("m.tier"), m["tier_override"] or m["tier"]),
        (t("m.home"), m["home_store"] or "—"), (t("m.points"), f'{d["points"]:,}'),
        (t("m.balance"), yuan(m["balance_fen"])),
        (t("m.spend"), yuan(m["spend_fen"])), (t("m.overdraft"), m["overdraft_points"]),
    ]  # fmt: skip
    out = (
        '<dl class="facts" id="member-facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
        + "</dl>"
    )
    card_rows = []
    for card in d["cards"]:
        block = card["block"]
        if block is not None and block["status"] == "blocked":
            state = t("m.blocked", reason=block["reason"], ref=block["ref"])
            action = (
                frame.form(
                    f"/console/cards/{card['uid']}/release",
                    f'<input name="note" required placeholder="{esc(t("m.note"))}">'
                    f'<button class="release">{esc(t("m.release"))}</button>',
                )
                if frame.can_write
                else ""
            )
        else:
            state = t("m.active") if block is None else t("m.released", by=block["released_by"], note=block["note"])
            action = (
                frame.form(
                    f"/console/cards/{card['uid']}/block",
                    f'<input name="note" required placeholder="{esc(t("m.note"))}">'
                    f'<button class="danger report-lost">{esc(t("m.report_lost"))}</button>',
                    confirm=t("m.report_lost") + " " + card["uid"] + "?",
                )
                if frame.can_write
                else ""
            )
        card_rows.append([f"<code>{esc(card['uid'])}</code>", str(card["issue_no"]), esc(state), action])
    out += f"<h2>{esc(t('m.cards'))}</h2>" + table(
        [t("m.uid"), t("m.issue"), t("m.card_state"), ""], card_rows, tid="cards"
    )
    if frame.can_write:
        mid = esc(m["member_id"])
        out += (
            '<div class="actions">'
            + frame.form(
                f"/console/members/{mid}/cards",
                f"<h3>{esc(t('m.replacement'))}</h3>"
                '<input name="uid" id="new-uid" required pattern="[0-9A-Fa-f :-]{8,29}" '
                f'placeholder="{esc(t("m.new_uid"))}"><button id="add-card">{esc(t("m.replacement"))}</button>',
                cls="card",
            )
            + frame.form(
                f"/console/members/{mid}/adjust",
                f"<h3>{esc(t('m.adjust'))}</h3><label>{esc(t('m.adjust_points'))}"
                '<input name="points" id="adjust-points" type="number" required step="1"></label>'
                f'<label>{esc(t("m.reason"))}<input name="reason" id="adjust-reason" required maxlength="500"></label>'
                f'<button id="adjust">{esc(t("m.adjust"))}</button>',
                cls="card",
            )
            + "</div>"
        )
    history = [
        [
            esc(when(h["at"], frame.tz)),
            esc(h["kind"]),
            f"{int(h['points_delta']) - int(h['overdraft_delta']):+,}",
            esc(yuan(h["spend_delta_fen"]) if h["spend_delta_fen"] else ""),
            esc(h["ref"]),
        ]  # fmt: skip
        for h in d["history"]
    ]
    out += f"<h2>{esc(t('m.history'))}</h2>" + table(
        [t("ev.at"), t("m.kind"), t("m.delta"), t("m.spend"), t("m.ref")], history, tid="history"
    )
    vouchers = [
        [
            f'<a href="/console/vouchers/{esc(v["voucher_id"])}">{esc(v["voucher_id"])}</a>',
            esc(v["reward_id"]),
            esc(yuan(v["value_fen"])),
            esc(v["state"]),
            esc(when(v["issued_at"], frame.tz)),
        ]  # fmt: skip
        for v in d["vouchers"]
    ]
    out += f"<h2>{esc(t('m.vouchers'))}</h2>" + table(
        [t("v.id"), t("v.reward"), t("v.value"), t("v.state"), t("v.issued")], vouchers, tid="member-vouchers"
    )
    return out


def voucher_search(frame: Frame, query: str, found: list[dict[str, Any]]) -> str:
    t = frame.t
    form = (
        '<form method="get" action="/console/vouchers" class="filter">'
        f'<input name="q" id="voucher-query" value="{esc(query)}" placeholder="{esc(t("vouchers.query"))}" size="34">'
        f'<button id="voucher-search">{esc(t("members.search"))}</button></form>'
    )
    if not query:
        return form
    if not found:
        return form + notice("info", t("vouchers.none"))
    rows = [
        [
            f'<a href="/console/vouchers/{esc(v["voucher_id"])}">{esc(v["voucher_id"])}</a>',
            esc(v["short_code"] or "—"),
            esc(v["member_id"] or "—"),
            esc(v["reward_id"]),
            esc(yuan(v["value_fen"])),
            esc(v["state"]),
        ]  # fmt: skip
        for v in found
    ]
    return form + table(
        [t("v.id"), t("v.short"), t("m.id"), t("v.reward"), t("v.value"), t("v.state")], rows, tid="vouchers"
    )


def voucher_detail(frame: Frame, v: dict[str, Any], state: str, history: list[dict[str, Any]]) -> str:
    t = frame.t
    used = (
        t(
            "v.used_at",
            at=when(v["used_at"], frame.tz),
            store=v["used_store"] or "—",
            till=v["used_till"] or "—",
            order=v["used_order"] or "—",
        )  # fmt: skip
        if v["used_at"] is not None
        else "—"
    )
    member = f'<a href="/console/members/{esc(v["member_id"])}">{esc(v["member_id"])}</a>' if v["member_id"] else "—"
    facts = [
        (t("v.id"), esc(v["voucher_id"])), (t("v.short"), esc(v["short_code"] or "—")), (t("m.id"), member),
        (t("v.reward"), esc(v["reward_id"])), (t("v.value"), esc(yuan(v["value_fen"]))), (t("v.state"), esc(state)),
        (t("v.issued"), esc(f'{when(v["issued_at"], frame.tz)} · {v["device_id"]} · {v["store_id"] or "—"}')),
        (t("v.expires"), esc(when(v["expires_at"], frame.tz))), (t("v.used"), esc(used)),
    ]  # fmt: skip
    out = (
        '<dl class="facts" id="voucher-facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{h}</dd>" for k, h in facts) + "</dl>"
    )
    if frame.can_write:
        vid = esc(v["voucher_id"])
        reason = f'<input name="reason" required maxlength="500" placeholder="{esc(t("m.reason"))}">'
        if state == "used":
            out += frame.form(
                f"/console/vouchers/{vid}/reverse", reason + f'<button id="reverse">{esc(t("v.reverse"))}</button>'
            )
        if state in ("issued", "reversed"):
            out += frame.form(
                f"/console/vouchers/{vid}/cancel",
                reason + f'<button id="cancel" class="danger">{esc(t("v.cancel"))}</button>',
                confirm=t("v.cancel") + "?",
            )  # fmt: skip
    rows = [
        [
            esc(when(h["at"], frame.tz)),
            esc(h["action"]),
            esc(h["actor"]),
            esc(h["store_id"] or ""),
            esc(h["order_no"] or ""),
            esc(h["detail"] or ""),
        ]  # fmt: skip
        for h in history
    ]
    out += f"<h2>{esc(t('v.history'))}</h2>" + table(
        [t("ev.at"), t("v.action"), t("v.actor"), t("fleet.store"), "", t("m.note")], rows, tid="voucher-history"
    )
    return out


def rules(
    frame: Frame,
    *,
    current: tuple[int, dict[str, Any]] | None,
    tiers_text: str,
    rewards_text: str,
    members_text: str,
    draft: Draft | None,
    changes: list[str] | None,
    preview: dict[str, Any] | None,
    history: list[Version],
    shown_diff: tuple[int, list[str]] | None,
) -> str:
    t = frame.t
    if current is None:
        return notice("info", t("rules.none"))
    version = current[0]
    out = f'<p id="in-force">{esc(t("rules.in_force", version=version))}</p>'
    if draft is not None:
        if draft.error is not None:
            out += notice("bad", t("rules.invalid", message=draft.error))
        else:
            out += notice("ok", t("rules.valid", version=version + 1))
    if changes is not None:
        out += f"<h2>{esc(t('rules.changes'))}</h2>" + (
            diff_block(changes, "draft-diff") if changes else notice("info", t("rules.no_changes"))
        )
    if preview is not None:
        out += f"<h2>{esc(t('rules.preview_title'))}</h2>"
        if preview.get("error"):
            out += notice("bad", t("rules.preview_failed", message=preview["error"]))
        else:
            out += (
                '<div class="previews" id="previews">'
                + "".join(
                    f'<figure><img alt="{esc(i["member_id"])} {esc(i["screen"])}" class="preview" '
                    f'data-member="{esc(i["member_id"])}" data-screen="{esc(i["screen"])}" '
                    f'src="data:image/png;base64,{i["png"]}"><figcaption>{esc(i["member_id"])} · {esc(i["screen"])}'
                    "</figcaption></figure>"
                    for i in preview.get("images", [])
                )
                + "</div>"
            )
    buttons = f'<button name="action" value="validate" id="validate">{esc(t("rules.validate"))}</button>'
    buttons += f'<button name="action" value="preview" id="preview">{esc(t("rules.preview"))}</button>'
    if frame.role == "admin":
        buttons += (
            f'<button name="action" value="publish" id="publish" class="danger">{esc(t("rules.publish"))}</button>'
        )
    out += frame.form(
        "/console/rules",
        f'<input type="hidden" name="base" value="{version}">'
        f'<div class="editors"><label>{esc(t("rules.tiers"))}'
        '<textarea name="tiers" id="tiers" rows="18" spellcheck="false">'
        f"{esc(tiers_text)}</textarea></label>"
        f'<label>{esc(t("rules.rewards"))}<textarea name="rewards" id="rewards" rows="18" spellcheck="false">'
        f"{esc(rewards_text)}</textarea></label></div>"
        f"<label>{esc(t('rules.members'))}"
        f'<input name="members" id="preview-members" value="{esc(members_text)}"></label>'
        f'<p class="buttons">{buttons}</p>',
        cls="rules",
    )
    rows = [
        [str(v.version), esc(when(v.created_at, frame.tz)), esc(v.created_by),
         _diff_link(frame, v.version)]
        for v in history
    ]  # fmt: skip
    out += f"<h2>{esc(t('rules.history'))}</h2>" + table(
        [t("rules.version"), t("rules.created"), t("rules.by"), ""], rows, tid="versions"
    )
    if shown_diff is not None:
        out += f'<h2 id="diff">{esc(t("rules.diff"))}: {shown_diff[0] - 1} → {shown_diff[0]}</h2>' + diff_block(
            shown_diff[1], "version-diff"
        )
    return out


def diff_block(lines: list[str], ident: str) -> str:
    def cls(line: str) -> str:
        if line.startswith(("+++", "---")):
            return "head"
        return {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "")

    return (
        f'<pre class="diff" id="{ident}">'
        + "".join(f'<span class="{cls(line)}">{esc(line)}</span>\n' for line in lines)
        + "</pre>"
    )


def start_draft(current: tuple[int, dict[str, Any]]) -> tuple[str, str]:
    kiosk = current[1].get("kiosk", {})
    return pretty(kiosk.get("tiers", [])), pretty(kiosk.get("rewards", []))


def _diff_link(frame: Frame, version: int) -> str:
    if version <= 1:
        return ""
    return f'<a href="{esc(url("/console/rules", diff=version))}#diff">{esc(frame.t("rules.diff"))}</a>'
