"""Words and numbers on screen: the UI strings in both locales, money, points and dates.

Money is integer fen shown as ¥1,234.50; dates are converted to the store's timezone before they
are formatted, and month/weekday names come from here rather than the C library's locale, which a
kiosk image rarely has for zh_CN.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCALES: tuple[str, ...] = ("zh_CN", "en")

STRINGS: dict[str, dict[str, str]] = {
    # idle / reading
    "tap_card": {"zh_CN": "请将会员卡放在感应区", "en": "Tap your membership card"},
    "tap_card_hint": {"zh_CN": "查看余额、积分，兑换礼品", "en": "Balance, points and rewards"},
    "reading": {"zh_CN": "正在读卡…", "en": "Reading your card…"},
    "reading_hint": {"zh_CN": "请勿移开卡片", "en": "Please keep the card in place"},
    "online": {"zh_CN": "在线", "en": "Online"},
    "offline": {"zh_CN": "离线", "en": "Offline"},
    "toggle_locale": {"zh_CN": "English", "en": "中文"},
    # member
    "hello": {"zh_CN": "您好，{name}", "en": "Hello, {name}"},
    "birthday": {"zh_CN": "生日快乐！今天有生日礼遇", "en": "Happy birthday! Birthday treats today"},
    "points": {"zh_CN": "积分", "en": "Points"},
    "balance": {"zh_CN": "储值余额", "en": "Stored value"},
    "progress_spend": {"zh_CN": "再消费 {amount} 升级{tier}", "en": "Spend {amount} more to reach {tier}"},
    "progress_growth": {
        "zh_CN": "再获得 {amount} 成长值升级{tier}",
        "en": "Earn {amount} more growth points to reach {tier}",
    },
    "progress_top": {"zh_CN": "您已是最高等级", "en": "You are at the top tier"},
    "expiries": {"zh_CN": "即将到期积分", "en": "Points expiring soon"},
    "expiry_line": {"zh_CN": "{date} 到期 {points} 分", "en": "{points} on {date}"},
    "no_expiries": {"zh_CN": "近期没有积分到期", "en": "No points expiring soon"},
    "benefits": {"zh_CN": "会员权益", "en": "Your benefits"},
    "discount": {"zh_CN": "购物享{rate}", "en": "{rate} off purchases"},
    "multiplier": {"zh_CN": "消费积分 {mult} 倍", "en": "{mult}× points on spend"},
    "as_of": {"zh_CN": "数据时间 {time}", "en": "As of {time}"},
    # what did not fit on the member screen: a button that opens it all, and the sheet it opens
    "more_details": {"zh_CN": "还有 {count} 项 · 查看全部", "en": "{count} more · Show all"},
    "details_title": {"zh_CN": "会员详情", "en": "Member details"},
    "details_close": {"zh_CN": "收起", "en": "Close"},
    "member_label": {"zh_CN": "会员", "en": "Member"},
    "tier_label": {"zh_CN": "会员等级", "en": "Tier"},
    "progress_label": {"zh_CN": "升级进度", "en": "Next tier"},
    # buttons
    "rewards": {"zh_CN": "兑换礼品", "en": "Rewards"},
    "my_vouchers": {"zh_CN": "我的券", "en": "My vouchers"},
    "points_history": {"zh_CN": "积分明细", "en": "Points history"},
    "done": {"zh_CN": "完成", "en": "Done"},
    "back": {"zh_CN": "返回", "en": "Back"},
    "ok": {"zh_CN": "好的", "en": "OK"},
    "cancel": {"zh_CN": "取消", "en": "Cancel"},
    "confirm": {"zh_CN": "确认兑换", "en": "Confirm"},
    "working": {"zh_CN": "处理中…", "en": "Working…"},
    # rewards
    "rewards_title": {"zh_CN": "积分兑换", "en": "Rewards"},
    "points_available": {"zh_CN": "可用积分 {points}", "en": "{points} points available"},
    "cost_points": {"zh_CN": "{points} 积分", "en": "{points} pts"},
    "points_missing": {"zh_CN": "还差 {points} 积分", "en": "{points} pts short"},
    "redeem": {"zh_CN": "兑换", "en": "Redeem"},
    "worth": {"zh_CN": "价值 {amount}", "en": "Worth {amount}"},
    "valid_days": {"zh_CN": "{days} 天有效", "en": "Valid {days} days"},
    "unavailable": {"zh_CN": "暂不可兑换", "en": "Not available"},
    "unavailable_tier": {"zh_CN": "等级不足", "en": "Higher tier only"},
    "unavailable_stock": {"zh_CN": "已兑完", "en": "Out of stock"},
    "unavailable_limit": {"zh_CN": "已达兑换上限", "en": "Limit reached"},
    "unavailable_dates": {"zh_CN": "不在兑换期内", "en": "Not on offer now"},
    "no_rewards": {"zh_CN": "暂无可兑换的礼品", "en": "No rewards on offer right now"},
    # confirm
    "confirm_title": {"zh_CN": "确认兑换", "en": "Confirm redemption"},
    "points_now": {"zh_CN": "当前积分", "en": "Points now"},
    "points_after": {"zh_CN": "兑换后", "en": "After"},
    "cost": {"zh_CN": "消耗 {points} 积分", "en": "Uses {points} points"},
    "offline_redeem": {"zh_CN": "网络离线：兑换将在恢复后同步", "en": "Offline: this will sync when back online"},
    "keep_card": {"zh_CN": "请保持卡片在感应区", "en": "Keep your card on the reader"},
    # voucher
    "voucher_title": {"zh_CN": "兑换成功", "en": "Here is your voucher"},
    "show_at_till": {"zh_CN": "请在收银台出示此券", "en": "Show this at the till"},
    "short_code": {"zh_CN": "券码", "en": "Code"},
    "value": {"zh_CN": "面值 {amount}", "en": "Value {amount}"},
    "expires": {"zh_CN": "有效期至 {date}", "en": "Valid until {date}"},
    "issued_offline": {"zh_CN": "离线签发", "en": "Issued offline"},
    "vouchers_title": {"zh_CN": "我的券", "en": "My vouchers"},
    "no_vouchers": {"zh_CN": "您还没有券", "en": "You have no vouchers yet"},
    "state_issued": {"zh_CN": "可使用", "en": "Ready to use"},
    "state_used": {"zh_CN": "已使用", "en": "Used"},
    "state_expired": {"zh_CN": "已过期", "en": "Expired"},
    "state_cancelled": {"zh_CN": "已作废", "en": "Cancelled"},
    "state_reversed": {"zh_CN": "可再次使用", "en": "Usable again"},
    # what HQ said happened, followed by when and in which store: "已使用 03-12 14:05 · store-1"
    "state_event_used": {"zh_CN": "已使用", "en": "Used"},
    "state_event_cancelled": {"zh_CN": "已作废", "en": "Cancelled"},
    "state_event_reversed": {"zh_CN": "已退回", "en": "Returned"},
    "tap_voucher": {"zh_CN": "点选一张券显示二维码", "en": "Tap a voucher to show its QR code"},
    "not_usable": {"zh_CN": "此券不可使用", "en": "This voucher cannot be used"},
    # why not, under "not_usable"
    "why_used": {"zh_CN": "已在收银台核销", "en": "It was already used at a till"},
    "why_cancelled": {"zh_CN": "已作废，积分已退回", "en": "It was cancelled; the points were returned"},
    "why_expired": {"zh_CN": "已于 {date} 过期", "en": "It expired on {date}"},
    # points history (积分明细): a label per HQ entry kind; a kind this kiosk does not know yet
    # (a newer HQ's) is shown as "history_other"
    "history_title": {"zh_CN": "积分明细", "en": "Points history"},
    "history_empty": {"zh_CN": "暂无积分记录", "en": "No points activity yet"},
    "history_pending": {"zh_CN": "待确认", "en": "Pending"},
    "history_earn": {"zh_CN": "消费得积分", "en": "Earned on purchase"},
    "history_refund": {"zh_CN": "退货扣回", "en": "Refunded purchase"},
    "history_redemption": {"zh_CN": "积分兑换", "en": "Redeemed"},
    "history_expire": {"zh_CN": "积分过期", "en": "Expired"},
    "history_voucher_cancel": {"zh_CN": "券作废退还", "en": "Voucher cancelled"},
    "history_other": {"zh_CN": "积分调整", "en": "Points adjusted"},
    "history_checkin": {"zh_CN": "每日签到", "en": "Daily check-in"},
    "history_wheel": {"zh_CN": "幸运大转盘", "en": "Lucky wheel"},
    # the prize wheel (幸运大转盘): the member screen's row and the wheel screen
    "member_pin_locked": {"zh_CN": "兑换已锁定，请到服务台解锁", "en": "Redeeming locked: ask at the service desk"},
    "birthday_gift_claim": {"zh_CN": "领取生日礼：{name}", "en": "Claim your birthday gift: {name}"},
    "member_day_line": {
        "zh_CN": "{name} · 今日消费积分 {times} 倍",
        "en": "{name}: {times}x points on purchases today",
    },
    "wheel_title": {"zh_CN": "幸运大转盘", "en": "Lucky wheel"},
    "wheel_row_free": {"zh_CN": "大转盘 免费 {count} 次", "en": "Wheel: {count} free"},
    "wheel_row_paid": {"zh_CN": "大转盘 {points}积分/次", "en": "Wheel: {points} pts"},
    "wheel_open": {"zh_CN": "去转盘", "en": "Play"},
    "wheel_button_free": {"zh_CN": "免费转盘", "en": "Free spin"},
    "wheel_button_paid": {"zh_CN": "转盘{points}分", "en": "Wheel {points}"},
    "wheel_spin_free": {"zh_CN": "免费转一次", "en": "Spin free"},
    "wheel_spin_paid": {"zh_CN": "{points} 积分转一次", "en": "Spin for {points} pts"},
    "wheel_spinning": {"zh_CN": "转动中…", "en": "Spinning…"},
    "wheel_free_left": {"zh_CN": "今日还可免费转 {count} 次", "en": "{count} free spin(s) left today"},
    "wheel_next_cost": {"zh_CN": "再转一次需 {points} 积分", "en": "Each further spin costs {points} points"},
    "wheel_why_points": {"zh_CN": "积分不足，无法再转", "en": "Not enough points for another spin"},
    "wheel_why_paid_limit": {"zh_CN": "今日次数已用完，明天再来", "en": "No more spins today. Come back tomorrow"},
    "wheel_why_offline_limit": {
        "zh_CN": "网络离线：今日离线次数已用完",
        "en": "Offline: today's offline spins are used",
    },
    "wheel_why_no_prizes": {"zh_CN": "奖品已发完", "en": "All prizes are gone"},
    "wheel_why_not_offered": {"zh_CN": "转盘活动已结束", "en": "The wheel is closed"},
    "wheel_won": {"zh_CN": "恭喜获得", "en": "You won"},
    "wheel_won_points": {"zh_CN": "+{points} 积分", "en": "+{points} points"},
    "wheel_won_voucher": {"zh_CN": "券已放入“我的券”", "en": "It is in My vouchers"},
    "wheel_nothing": {"zh_CN": "差一点！下次好运", "en": "So close! Next time"},
    "wheel_offline": {"zh_CN": "网络离线：结果将在恢复后同步", "en": "Offline: the result syncs when back online"},
    "wheel_out_of_stock": {"zh_CN": "已发完", "en": "Gone"},
    # daily check-in (每日签到): the member screen's row, and the confirmation after a check-in
    "checkin_button": {"zh_CN": "签到 +{points}", "en": "Check in +{points}"},
    "checkin_invite": {"zh_CN": "每日签到领积分", "en": "Daily check-in"},
    "checkin_streak": {"zh_CN": "已连续签到 {days} 天", "en": "{days}-day streak"},
    "checkin_done": {"zh_CN": "今日已签到", "en": "Checked in today"},
    "checked_in_title": {"zh_CN": "签到成功", "en": "Checked in"},
    "checked_in_points": {"zh_CN": "+{points} 积分", "en": "+{points} points"},
    "checked_in_bonus": {
        "zh_CN": "含连续签到 {days} 天奖励 {bonus} 积分",
        "en": "Including a {bonus}-point bonus for {days} days in a row",
    },
    "checked_in_offline": {"zh_CN": "网络离线：积分将在恢复后同步", "en": "Offline: the points sync when back online"},
    # the PIN keypad before a redemption (a PIN the rules ask for)
    "pin_title": {"zh_CN": "请输入会员密码", "en": "Enter your PIN"},
    "pin_hint": {"zh_CN": "4–6 位数字，按键位置每次不同", "en": "4 to 6 digits. The keys move every time"},
    "pin_wrong": {"zh_CN": "密码错误，还可尝试 {tries} 次", "en": "Wrong PIN. {tries} tries left"},
    "pin_delete": {"zh_CN": "删除", "en": "Delete"},
    "pin_locked": {"zh_CN": "兑换已锁定", "en": "Redemptions locked"},
    "pin_locked_hint": {
        "zh_CN": "密码错误次数过多。请到服务台解锁",
        "en": "Too many wrong PINs. Ask at the service desk to unlock",
    },
    "pin_not_set": {"zh_CN": "兑换需要会员密码", "en": "This needs your PIN"},
    "pin_not_set_hint": {
        "zh_CN": "您还没有设置密码，请先在服务台设置密码",
        "en": "You have no PIN yet. Please set one at the service desk first",
    },
    # a redemption waiting for the card
    "pending_title": {"zh_CN": "兑换尚未完成", "en": "Redemption pending"},
    "pending_points_held": {"zh_CN": "已预留 {points} 积分，尚未扣除", "en": "{points} points held, not yet taken"},
    "pending_hint": {
        "zh_CN": "请拿开卡片，再放回感应区并保持不动，即可完成兑换",
        "en": "Lift your card, then hold it on the reader again to finish",
    },
    # notices: title and explanation for each NoticeKind value
    "notice_not_a_member_card": {"zh_CN": "这不是会员卡", "en": "Not a membership card"},
    "notice_not_a_member_card_hint": {
        "zh_CN": "请使用本店会员卡，或到收银台办理",
        "en": "Please use our membership card, or ask at the till",
    },
    "notice_card_blocked": {"zh_CN": "此卡已挂失", "en": "This card is blocked"},
    "notice_card_blocked_hint": {
        "zh_CN": "此卡已挂失停用，请到服务台办理补卡",
        "en": "It was reported lost. Please ask at the service desk",
    },
    "notice_card_rejected": {"zh_CN": "无法识别此卡", "en": "Card not accepted"},
    "notice_card_rejected_hint": {
        "zh_CN": "卡片校验未通过，请联系店员",
        "en": "The card failed its check. Please ask a member of staff",
    },
    "notice_reader_fault": {"zh_CN": "读卡器故障", "en": "Card reader fault"},
    "notice_reader_fault_hint": {
        "zh_CN": "请稍后再试或联系店员",
        "en": "Please try again later or ask a member of staff",
    },
    "notice_offline_limit": {"zh_CN": "暂时无法离线兑换", "en": "Offline limit reached"},
    "notice_offline_limit_hint": {
        "zh_CN": "网络恢复后即可兑换，余额与积分仍可查看",
        "en": "Redeeming resumes when we are back online",
    },
    "notice_out_of_service": {"zh_CN": "暂停服务", "en": "Out of service"},
    "notice_out_of_service_hint": {"zh_CN": "本机暂停使用，请到收银台办理", "en": "Please ask at the till"},
    "notice_redemption_failed": {"zh_CN": "兑换未完成", "en": "Redemption not completed"},
    "notice_redemption_failed_hint": {
        "zh_CN": "积分未扣除，请重试或联系店员",
        "en": "No points were taken. Please try again",
    },
    "notice_card_removed_too_soon": {"zh_CN": "卡片移开过早", "en": "Card removed too soon"},
    "notice_card_removed_too_soon_hint": {
        "zh_CN": "请重新放卡并保持不动",
        "en": "Please tap again and hold the card still",
    },
    "notice_redemption_pending": {"zh_CN": "上一笔兑换尚未完成", "en": "A redemption is pending"},
    "notice_redemption_pending_hint": {
        "zh_CN": "请拿开卡片，再放回感应区完成它",
        "en": "Lift your card, then hold it on the reader again to finish it",
    },
    "notice_clock_untrusted": {"zh_CN": "时间未校准，暂停离线兑换", "en": "Clock not set: no offline redeeming"},
    "notice_clock_untrusted_hint": {
        "zh_CN": "本机联网对时后即可兑换，余额与积分仍可查看",
        "en": "Redeeming resumes once the kiosk is online or its clock is set",
    },
    "staff_code": {"zh_CN": "代码 {detail}", "en": "Code {detail}"},
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise ValueError(f"unknown UI locale {locale!r}; expected one of {', '.join(LOCALES)}")
    return locale


def tr(key: str, locale: str, **values: object) -> str:
    """The UI string `key` in `locale`, with `{placeholders}` filled in."""
    entry = STRINGS[key]
    template = entry.get(locale) or entry["en"]
    return template.format(**values) if values else template


def money(fen: int) -> str:
    """¥1,234.50 from 123450 fen; integer arithmetic only, so no rounding surprises."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def money_short(fen: int) -> str:
    """¥10 for whole yuan, else the full form: used for voucher values in big type."""
    return f"¥{fen // 100:,}" if fen % 100 == 0 and fen >= 0 else money(fen)


def points(value: int) -> str:
    return f"{int(value):,}"


def discount_rate(discount_pct: int, locale: str) -> str:
    """90 -> "9折" / "10%"; 85 -> "8.5折" / "15%"."""
    if locale == "zh_CN":
        tenths = discount_pct / 10
        return f"{tenths:g}折"
    return f"{100 - discount_pct}%"


def _local(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r} given to the UI; times must be timezone-aware")
    return moment.astimezone(tz)


def date_text(moment: dt.datetime, tz: ZoneInfo, locale: str) -> str:
    """The calendar day of `moment` in the store's timezone."""
    d = _local(moment, tz)
    if locale == "zh_CN":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def time_text(moment: dt.datetime, tz: ZoneInfo) -> str:
    d = _local(moment, tz)
    return f"{d.hour:02d}:{d.minute:02d}"


def clock_date_text(moment: dt.datetime, tz: ZoneInfo, locale: str) -> str:
    """The date line under the idle clock: weekday included."""
    d = _local(moment, tz)
    if locale == "zh_CN":
        return f"{d.month}月{d.day}日 {_WEEKDAYS_ZH[d.weekday()]}"
    return f"{_WEEKDAYS_EN[d.weekday()]} {d.day} {_MONTHS_EN[d.month - 1]}"


def short_datetime_text(moment: dt.datetime, tz: ZoneInfo) -> str:
    """ "03-12 14:05" (month-day, store time): when a voucher was used, in a list row."""
    d = _local(moment, tz)
    return f"{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}"


def datetime_text(moment: dt.datetime, tz: ZoneInfo, locale: str) -> str:
    return f"{date_text(moment, tz, locale)} {time_text(moment, tz)}"
