"""The console's words in both locales (zh_CN, en). `text(locale, key, **values)`; a key missing
from a locale is a bug the console tests catch (every page is rendered in both)."""

from __future__ import annotations

LOCALES = ("zh_CN", "en")

_TEXTS: dict[str, tuple[str, str]] = {
    # chrome
    "console": ("总部控制台", "HQ console"),
    "nav.fleet": ("设备", "Fleet"),
    "nav.members": ("会员与卡", "Members & cards"),
    "nav.vouchers": ("券", "Vouchers"),
    "nav.rules": ("规则", "Rules"),
    "nav.analytics": ("分析", "Analytics"),
    "logout": ("退出", "Log out"),
    "switch": ("English", "中文"),
    "role.admin": ("管理员", "admin"),
    "role.viewer": ("只读", "viewer"),
    "role.store": ("门店 {store}", "store {store}"),
    "error": ("未完成：{message}", "Not done: {message}"),
    "readonly": ("只读账号：不能修改。", "Read-only account: no changes."),
    # login
    "login.title": ("登录", "Log in"),
    "login.name": ("操作员", "Operator"),
    "login.token": ("令牌", "Token"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("操作员或令牌不对。", "Unknown operator or wrong token."),
    "login.out": ("已退出。", "Logged out."),
    "login.expired": ("请重新登录。", "Please log in again."),
    "csrf": ("表单已过期，请重试。", "The form expired; please try again."),
    # fleet
    "fleet.title": ("设备状态", "Fleet"),
    "fleet.store": ("门店", "Store"),
    "fleet.all": ("全部门店", "All stores"),
    "fleet.filter": ("筛选", "Filter"),
    "fleet.device": ("设备", "Kiosk"),
    "fleet.state": ("状态", "State"),
    "fleet.online": ("在线", "online"),
    "fleet.offline": ("离线", "offline"),
    "fleet.unknown": ("未知", "unknown"),
    "fleet.last_seen": ("最后联系", "Last seen"),
    "fleet.software": ("软件版本", "Software"),
    "fleet.reader": ("读卡器", "Reader"),
    "fleet.outbox": ("待发事件", "Outbox"),
    "fleet.rules": ("规则版本", "Rules"),
    "fleet.gaps": ("序号缺口", "Seq. gaps"),
    "fleet.offline_redemptions": ("离线兑换(24h)", "Offline redemptions (24 h)"),
    "fleet.security": ("安全事件(7天)", "Security events (7 d)"),
    "fleet.none": ("还没有设备联系过总部。", "No kiosk has reported to HQ yet."),
    "fleet.events": ("最新事件", "Latest events"),
    "fleet.live": ("每 3 秒自动刷新", "refreshes every 3 s"),
    "ev.at": ("时间", "At"),
    "ev.type": ("类型", "Type"),
    "ev.member": ("会员", "Member"),
    "ev.outcome": ("结果", "Outcome"),
    "ev.offline": ("离线", "offline"),
    # members
    "members.title": ("会员与卡", "Members & cards"),
    "members.query": ("会员号、卡号或姓名", "Member number, card UID or name"),
    "members.search": ("查找", "Find"),
    "members.no_phone": (
        "总部不保存手机号，无法按手机号查找。",
        "HQ stores no phone numbers: a phone cannot be looked up.",
    ),
    "members.none": ("没有找到会员。", "No member found."),
    "members.via.member": ("会员号", "member number"),
    "members.via.card": ("卡号", "card"),
    "members.via.name": ("姓名", "name"),
    "m.id": ("会员号", "Member"),
    "m.name": ("姓名", "Name"),
    "m.tier": ("等级", "Tier"),
    "m.home": ("开卡门店", "Home store"),
    "m.points": ("积分", "Points"),
    "m.balance": ("储值余额", "Stored value"),
    "m.spend": ("累计消费", "Spend"),
    "m.overdraft": ("透支积分", "Overdraft"),
    "m.cards": ("卡", "Cards"),
    "m.uid": ("卡号", "UID"),
    "m.issue": ("发卡序号", "Issue"),
    "m.card_state": ("状态", "State"),
    "m.active": ("正常", "active"),
    "m.blocked": ("已挂失/封锁（{reason}，{ref}）", "blocked ({reason}, {ref})"),
    "m.released": ("已解除（{by}：{note}）", "released ({by}: {note})"),
    "m.report_lost": ("挂失", "Report lost"),
    "m.note": ("说明", "Note"),
    "m.release": ("复核后解除", "Release after review"),
    "m.replacement": ("补发新卡", "Issue a replacement"),
    "m.new_uid": ("新卡卡号", "New card UID"),
    "m.adjust": ("调整积分", "Adjust points"),
    "m.adjust_points": ("积分（负数为扣减）", "Points (negative takes away)"),
    "m.reason": ("原因", "Reason"),
    "m.history": ("明细", "History"),
    "m.kind": ("类型", "Kind"),
    "m.delta": ("积分变动", "Points"),
    "m.ref": ("依据", "Reference"),
    "m.vouchers": ("券", "Vouchers"),
    "ok.blocked": (
        "卡 {subject} 已挂失，设备将在数秒内拒绝。",
        "Card {subject} blocked: kiosks refuse it within seconds.",
    ),
    "ok.released": ("卡 {subject} 已解除封锁。", "Card {subject} released."),
    "ok.card_added": ("新卡 {subject} 已登记。", "Card {subject} registered."),
    "ok.adjusted": ("积分已调整，现有 {subject} 分。", "Points adjusted: {subject} held now."),
    "ok.reversed": ("券 {subject} 的核销已撤销。", "Write-off of voucher {subject} reversed."),
    "ok.cancelled": ("券 {subject} 已作废，积分已退回。", "Voucher {subject} cancelled; its points went back."),
    "ok.published": ("规则版本 {subject} 已签名发布。", "Rules version {subject} signed and published."),
    # vouchers
    "vouchers.title": ("券", "Vouchers"),
    "vouchers.query": ("券号、短码或会员号", "Voucher id, short code or member"),
    "vouchers.none": ("没有找到券。", "No voucher found."),
    "v.id": ("券号", "Voucher"),
    "v.short": ("短码", "Short code"),
    "v.reward": ("奖品", "Reward"),
    "v.value": ("面值", "Value"),
    "v.state": ("状态", "State"),
    "v.issued": ("发放", "Issued"),
    "v.expires": ("到期", "Expires"),
    "v.used": ("使用", "Used"),
    "v.used_at": ("{at}，门店 {store}，收银台 {till}，订单 {order}", "{at}, store {store}, till {till}, order {order}"),
    "v.history": ("记录", "History"),
    "v.action": ("动作", "Action"),
    "v.actor": ("操作者", "By"),
    "v.reverse": ("撤销核销", "Reverse write-off"),
    "v.cancel": ("作废（退回积分）", "Cancel (points back)"),
    # rules
    "rules.title": ("规则", "Rules"),
    "rules.in_force": ("当前版本 {version}", "In force: version {version}"),
    "rules.none": ("总部还没有规则。", "HQ has no programme yet."),
    "rules.tiers": ("等级阶梯（JSON）", "Tier ladder (JSON)"),
    "rules.rewards": ("奖品目录（JSON）", "Reward catalog (JSON)"),
    "rules.members": (
        "预览会员（会员号，逗号分隔；空：每个等级一位）",
        "Preview members (ids, comma separated; empty: one per tier)",
    ),
    "rules.validate": ("校验", "Validate"),
    "rules.preview": ("校验并预览", "Validate and preview"),
    "rules.publish": ("签名并发布", "Sign and publish"),
    "rules.valid": ("草稿有效：将成为版本 {version}。", "The draft is valid: it becomes version {version}."),
    "rules.invalid": ("草稿无效：{message}", "The draft is invalid: {message}"),
    "rules.stale": (
        "期间已发布版本 {version}：请在新版本上重新编辑。",
        "Version {version} was published meanwhile: redo the draft over it.",
    ),
    "rules.changes": ("与当前版本的差异", "Changes against the version in force"),
    "rules.no_changes": ("与当前版本相同。", "Same as the version in force."),
    "rules.preview_title": ("设备画面预览（草稿）", "Kiosk screens under the draft"),
    "rules.preview_failed": ("预览失败：{message}", "The preview failed: {message}"),
    "rules.history": ("版本历史", "Versions"),
    "rules.version": ("版本", "Version"),
    "rules.created": ("发布时间", "Published"),
    "rules.by": ("发布人", "By"),
    "rules.diff": ("与上一版差异", "Diff to previous"),
    # analytics
    "analytics.title": ("会员分析", "Member analytics"),
    "analytics.pending": ("分析模块尚未就绪。", "The analytics module is not there yet."),
}


def text(locale: str, key: str, **values: object) -> str:
    zh, en = _TEXTS[key]
    template = zh if locale == "zh_CN" else en
    return template.format(**values) if values else template


def pick_locale(cookie: str | None, accept_language: str | None) -> str:
    """The operator's choice (cookie), else the browser's first language we have, else zh_CN."""
    if cookie in LOCALES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh_CN"
    return "zh_CN"
