/* The cashier's screen (收银核销页): look a voucher up at HQ, write it off once, reverse the last one.
 *
 * The till API is docs/vouchers.md's: POST /v1/vouchers/lookup, /v1/vouchers/consume and
 * /v1/vouchers/{id}/reverse with the till's own bearer token (kept in localStorage; HQ never puts a
 * token or key in this page). A write-off or reverse carries a request id made once per attempt:
 * after a network failure "Retry" sends the very same body, so HQ answers the first result again
 * (`replayed`) instead of writing off twice.
 *
 * Everything shown is built with textContent, never innerHTML: HQ's texts and scanned input are
 * data. Plain modern JavaScript, no build step, no library.
 */
"use strict";

(() => {
  const SETTINGS_KEY = "till.settings.v1";
  const LOCALE_KEY = "till.locale.v1";
  const LAST_KEY = "till.last.v1";
  const TIMEOUT_MS = 10000;
  const MAX_CODE = 1024; // HQ's limit for `code` (hq/api/voucher_models.py)
  const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
  const ORDER_PATTERN = /^[A-Za-z0-9_.\-/]{1,64}$/;
  // Some scanners end a code with CR LF, two Enters: the second must not confirm the VALID voucher
  // the first one looked up. Enter acts on a screen only once it has been shown this long.
  const ENTER_GUARD_MS = 300;

  const TEXT = {
    en: {
      title: "Voucher write-off",
      changeTill: "Change till",
      tillLabel: "Till {till}",
      otherLocale: "中文",
      settingsTitle: "Set up this till",
      hqUrl: "HQ address",
      tillId: "Till id",
      tillToken: "Till token",
      tokenHint: "This till's own token, printed once by “kiosk-hq till add”. Never enter the operator token here.",
      save: "Save",
      cancel: "Cancel",
      badUrl: "The HQ address must be an http:// or https:// address.",
      badTillId: "A till id is 1-64 letters, digits, “_”, “.” or “-”.",
      notTillToken: "That is not a till token (a till token starts with “till_”).",
      tokenRefused: "HQ refused this token: {message}",
      settingsUnreachable: "HQ did not answer at this address. Check it and try again.",
      checking: "Checking with HQ…",
      scanLabel: "Scan the QR code or type the short code, then Enter",
      orderLabel: "Order no.",
      ready: "READY",
      readyHint: "Scan the member's voucher QR code, or type its short code (e.g. K7QM-3XPA).",
      verdicts: {
        valid: "VALID",
        used: "USED",
        expired: "EXPIRED",
        cancelled: "CANCELLED",
        unknown: "UNKNOWN",
        invalid: "INVALID",
        other_store: "OTHER STORE",
      },
      writtenOff: "WRITTEN OFF ✓",
      alreadyUsed: "ALREADY USED",
      refused: "REFUSED",
      reversed: "REVERSED",
      cannotReverse: "CANNOT REVERSE",
      reverseAsk: "REVERSE?",
      unreachable: "HQ UNREACHABLE",
      unreachableHint: "HQ did not answer. Retry sends the same request: the voucher cannot be written off twice.",
      unreachableLookup: "HQ did not answer. Check the network, then Retry.",
      hqBusy: "HQ BUSY",
      hqBusyHint: "HQ could not answer now ({message}). Retry sends the same request.",
      rateLimited: "TOO MANY SHORT CODES",
      rateLimitedHint: "Too many short-code lookups, scan the QR code.",
      tokenRejected: "TILL TOKEN REFUSED",
      tokenRejectedHint: "HQ refused this till's token. Use “Change till” to enter it again.",
      wrongTill: "This token belongs to another till: check the till id under “Change till”.",
      reward: "Reward",
      value: "Value",
      validUntil: "Valid until",
      voucher: "Voucher",
      shortCode: "Short code",
      used: "Used",
      usedLine: "at till {till}, {time}, order {order}",
      usedLineOffline: "at till {till}, {time}, order {order} (accepted offline)",
      order: "Order",
      time: "Time",
      store: "Issued in store",
      hq: "HQ: {reason}",
      notRegistered: "HQ has not heard of it yet (its kiosk was offline): it is checked by its signature.",
      confirm: "Confirm write-off",
      confirmHint: "Enter also confirms. Order: {order}",
      needOrder: "Type the order number first, then Enter.",
      badOrder: "An order number is 1-64 letters, digits and . _ - / only.",
      writing: "Writing off…",
      reversing: "Reversing…",
      replayed: "HQ had already recorded this write-off; this is its first answer.",
      retry: "Retry",
      clear: "Clear (Esc)",
      reverseLast: "Reverse last write-off",
      reverseConfirm: "Confirm reverse",
      reverseReason: "Reason",
      defaultReason: "sale voided",
      reversedHint: "Voucher {voucher} can be used again.",
      lastLine: "Last write-off: {voucher}, {value}, order {order}, {time}",
      tooLong: "Too long for a voucher code ({length} characters).",
    },
    zh_CN: {
      title: "收银核销",
      changeTill: "更换收银台",
      tillLabel: "收银台 {till}",
      otherLocale: "English",
      settingsTitle: "设置本收银台",
      hqUrl: "总部服务地址",
      tillId: "收银台编号",
      tillToken: "收银台令牌",
      tokenHint: "本收银台专用令牌，由“kiosk-hq till add”生成，只显示一次。切勿在此输入管理员令牌。",
      save: "保存",
      cancel: "取消",
      badUrl: "总部地址须以 http:// 或 https:// 开头。",
      badTillId: "收银台编号为 1-64 个字母、数字、“_”、“.”或“-”。",
      notTillToken: "这不是收银台令牌（收银台令牌以“till_”开头）。",
      tokenRefused: "总部拒绝了此令牌：{message}",
      settingsUnreachable: "此地址的总部没有响应，请检查后重试。",
      checking: "正在向总部核对…",
      scanLabel: "扫描二维码，或输入短码后按回车",
      orderLabel: "订单号",
      ready: "请扫码",
      readyHint: "扫描会员的券二维码，或输入券上的短码（如 K7QM-3XPA）。",
      verdicts: {
        valid: "有效",
        used: "已使用",
        expired: "已过期",
        cancelled: "已作废",
        unknown: "未登记",
        invalid: "无效券码",
        other_store: "非本店券",
      },
      writtenOff: "核销成功 ✓",
      alreadyUsed: "已被使用",
      refused: "被拒绝",
      reversed: "已撤销",
      cannotReverse: "无法撤销",
      reverseAsk: "撤销核销？",
      unreachable: "无法连接总部",
      unreachableHint: "总部没有响应。“重试”会发送同一请求，券不会被核销两次。",
      unreachableLookup: "总部没有响应。请检查网络后重试。",
      hqBusy: "总部繁忙",
      hqBusyHint: "总部暂时无法处理（{message}）。“重试”会发送同一请求。",
      rateLimited: "短码查询过多",
      rateLimitedHint: "短码查询过于频繁，请扫描二维码。",
      tokenRejected: "收银台令牌无效",
      tokenRejectedHint: "总部拒绝了本收银台的令牌，请点“更换收银台”重新输入。",
      wrongTill: "此令牌属于其他收银台：请在“更换收银台”中检查收银台编号。",
      reward: "奖品",
      value: "面值",
      validUntil: "有效期至",
      voucher: "券号",
      shortCode: "短码",
      used: "使用",
      usedLine: "收银台 {till}，{time}，订单 {order}",
      usedLineOffline: "收银台 {till}，{time}，订单 {order}（离线核销）",
      order: "订单号",
      time: "时间",
      store: "发券门店",
      hq: "总部：{reason}",
      notRegistered: "总部尚未收到此券（发券机离线时发出），已按签名验证。",
      confirm: "确认核销",
      confirmHint: "按回车也可确认。订单号：{order}",
      needOrder: "请先输入订单号，再按回车。",
      badOrder: "订单号为 1-64 个字母、数字及 . _ - /。",
      writing: "正在核销…",
      reversing: "正在撤销…",
      replayed: "总部已记录过这笔核销，以下为首次结果。",
      retry: "重试",
      clear: "清除 (Esc)",
      reverseLast: "撤销上一笔核销",
      reverseConfirm: "确认撤销",
      reverseReason: "原因",
      defaultReason: "销售已作废",
      reversedHint: "券 {voucher} 可再次使用。",
      lastLine: "上一笔核销：{voucher}，{value}，订单 {order}，{time}",
      tooLong: "券码过长（{length} 个字符）。",
    },
  };

  // -- small helpers ------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function readJson(key) {
    try {
      const raw = localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  }

  function writeJson(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* private mode or full storage: the page still works for this session */
    }
  }

  function defaultLocale() {
    const stored = readJson(LOCALE_KEY);
    if (stored === "en" || stored === "zh_CN") return stored;
    const languages = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    return String(languages[0] || "en").toLowerCase().startsWith("zh") ? "zh_CN" : "en";
  }

  let locale = defaultLocale();

  // The catalogue's name in the screen's language when HQ knows it, else the reward's id.
  function rewardText(item) {
    const name = item.reward_name || {};
    return name[locale] || name.en || item.reward_id;
  }

  /** The current locale's text for `key`, with {name} placeholders filled in. */
  function t(key, values) {
    const text = TEXT[locale][key] ?? TEXT.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (values && values[name] != null ? String(values[name]) : "–"));
  }

  /** HQ's own words (English), with its times in the till's time zone. */
  function fromHq(reason) {
    return t("hq", { reason: localTimesIn(reason || "") });
  }

  function verdictWord(verdict) {
    return TEXT[locale].verdicts[verdict] || String(verdict || "?").toUpperCase();
  }

  /** "¥50.00" from integer fen, without floating point. */
  function yuan(fen) {
    if (typeof fen !== "number" || !Number.isInteger(fen)) return "–";
    const sign = fen < 0 ? "-" : "";
    const abs = Math.abs(fen);
    const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return `${sign}¥${whole}.${String(abs % 100).padStart(2, "0")}`;
  }

  /** An RFC 3339 time as "2026-12-03 10:00" in this browser's time zone. */
  function localTime(iso) {
    if (!iso) return "–";
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return String(iso);
    const two = (n) => String(n).padStart(2, "0");
    return (
      `${when.getFullYear()}-${two(when.getMonth() + 1)}-${two(when.getDate())} ` +
      `${two(when.getHours())}:${two(when.getMinutes())}`
    );
  }

  /** A request id for one attempt (HQ: 1-64 of A-Za-z0-9_.-). */
  function newRequestId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    // randomUUID needs a secure context (https or localhost); a till on plain http to HQ's LAN
    // address still has getRandomValues.
    const bytes = new Uint8Array(16);
    if (window.crypto && typeof window.crypto.getRandomValues === "function") {
      window.crypto.getRandomValues(bytes);
    } else {
      for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** What the cashier typed or scanned, as the lookup/consume body's `code` or `short_code`. */
  function voucherInput(text) {
    const trimmed = text.trim();
    const compact = trimmed.replace(/[\s-]+/g, "");
    if (/^[0-9A-Za-z]{8}$/.test(compact)) return { short_code: trimmed.replace(/\s+/g, " ") };
    return { code: trimmed };
  }

  // -- talking to HQ ------------------------------------------------------------------------------

  let settings = readJson(SETTINGS_KEY);

  function baseUrl(url) {
    return String(url).replace(/\/+$/, "");
  }

  /** One HQ call: {status, data} for any HTTP answer, {network: true} when none came. */
  async function call(method, path, body, using) {
    const config = using || settings;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const response = await fetch(baseUrl(config.url) + path, {
        method,
        headers: {
          Authorization: `Bearer ${config.token}`,
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit",
      });
      let data = null;
      try {
        data = await response.json();
      } catch {
        data = null;
      }
      return { status: response.status, data: data || {} };
    } catch (error) {
      return { network: true, error: String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** HQ's texts name times in RFC 3339 (UTC); the cashier reads them in the till's time zone. */
  function localTimesIn(text) {
    return String(text).replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g, localTime);
  }

  /** HQ's refusal text: {"error", "message"}, or FastAPI's 422 {"detail": [...]}. */
  function hqMessage(data) {
    if (!data) return "";
    if (typeof data.message === "string") return data.message;
    if (Array.isArray(data.detail) && data.detail.length) {
      const first = data.detail[0];
      const where = Array.isArray(first.loc) ? first.loc[first.loc.length - 1] : "";
      return `${where}: ${first.msg}`;
    }
    return typeof data.detail === "string" ? data.detail : "";
  }

  // -- what the screen shows ----------------------------------------------------------------------
  //
  // `screen` is a function returning the panel to paint; repainting after a locale change calls it
  // again, so every text is in the current language.

  let screen = null;
  let onEnter = null; // what Enter in an empty scan field does now (confirm, retry, reverse)
  let busy = false;
  let candidate = null; // the VALID voucher on screen: {input, status}
  let attempt = null; // a write-off or reverse sent but not answered: {kind, path, body, ...}
  let lastOff = null; // this till's last write-off: {voucher_id, value_fen, order_no, used_at}
  let sequence = 0; // answers to superseded lookups are dropped
  let shownAt = 0;

  function show(next, enter) {
    screen = next;
    onEnter = enter || null;
    shownAt = performance.now();
    paint();
  }

  /** Enter on a screen with an action (confirm, retry, reverse): run it, unless it came too soon. */
  function enterAction() {
    if (onEnter && !busy && performance.now() - shownAt >= ENTER_GUARD_MS) onEnter();
  }

  function paint() {
    applyStaticTexts();
    paintLast();
    if (!screen) return;
    const panel = screen();
    const result = $("result");
    result.className = `result tone-${panel.tone || "idle"}`;
    $("verdict").textContent = panel.verdict || "";
    $("amount").textContent = panel.amount || "";
    $("amount").hidden = !panel.amount;
    const details = $("details");
    details.replaceChildren();
    for (const [label, value] of panel.details || []) {
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = value == null || value === "" ? "–" : String(value);
      details.append(dt, dd);
    }
    $("reason").textContent = panel.reason || "";
    $("reason").classList.toggle("attention", Boolean(panel.attention));
    $("hint").textContent = panel.hint || "";
    $("reverse-reason").hidden = !panel.reverseReason;
    const main = $("act-main");
    main.hidden = !panel.action;
    main.textContent = panel.action ? panel.action.label : "";
    main.className = `big ${panel.action && panel.action.kind ? panel.action.kind : "primary"}`;
    main.disabled = busy;
    $("act-clear").hidden = !panel.clear;
    result.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function paintLast() {
    const footer = $("last");
    footer.hidden = !lastOff;
    if (!lastOff) return;
    $("last-text").textContent = t("lastLine", {
      voucher: lastOff.voucher_id,
      value: yuan(lastOff.value_fen),
      order: lastOff.order_no,
      time: localTime(lastOff.used_at),
    });
    $("reverse-last").disabled = busy;
  }

  function applyStaticTexts() {
    document.documentElement.lang = locale === "zh_CN" ? "zh-CN" : "en";
    document.title = `${t("title")} · ${settings ? settings.till : ""}`;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    const toggle = $("locale-toggle");
    toggle.textContent = t("otherLocale");
    toggle.lang = locale === "zh_CN" ? "en" : "zh-CN";
    $("till-label").textContent = settings ? t("tillLabel", { till: settings.till }) : "";
    const reason = $("reverse-reason-input");
    if (!reason.value || reason.value === TEXT.en.defaultReason || reason.value === TEXT.zh_CN.defaultReason) {
      reason.value = t("defaultReason");
    }
  }

  function idle() {
    candidate = null;
    show(() => ({ tone: "idle", verdict: t("ready"), reason: t("readyHint") }));
  }

  function voucherDetails(status) {
    const rows = [];
    if (status.reward_id) rows.push([t("reward"), rewardText(status)]);
    if (status.expires_at) rows.push([t("validUntil"), localTime(status.expires_at)]);
    if (status.voucher_id) rows.push([t("voucher"), status.voucher_id]);
    if (status.short_code) rows.push([t("shortCode"), status.short_code]);
    return rows;
  }

  function usedRow(used) {
    const line = used.offline ? "usedLineOffline" : "usedLine";
    return [t("used"), t(line, { till: used.till_id, time: localTime(used.at), order: used.order_no })];
  }

  const TONES = { valid: "ok", used: "bad", expired: "bad", invalid: "bad", other_store: "bad" };

  // -- lookup -------------------------------------------------------------------------------------

  async function lookup(text) {
    const input = voucherInput(text);
    attempt = null;
    candidate = null;
    if (input.code !== undefined && input.code.length > MAX_CODE) {
      show(() => ({ tone: "bad", verdict: verdictWord("invalid"), reason: t("tooLong", { length: text.length }) }));
      return;
    }
    const mine = ++sequence;
    busy = true;
    show(() => ({ tone: "busy", verdict: t("checking") }));
    const answer = await call("POST", "/v1/vouchers/lookup", input);
    if (mine !== sequence) return;
    busy = false;
    if (answer.network) {
      show(
        () => ({ tone: "warn", verdict: t("unreachable"), reason: t("unreachableLookup"), action: { label: t("retry") }, clear: true }),
        () => lookup(text),
      );
      return;
    }
    if (answer.status === 429) {
      show(() => ({ tone: "warn", verdict: t("rateLimited"), reason: t("rateLimitedHint"), clear: true }));
      return;
    }
    if (handledCommonRefusal(answer, () => lookup(text))) return;
    if (answer.status !== 200) {
      show(() => ({ tone: "bad", verdict: verdictWord("invalid"), reason: fromHq(hqMessage(answer.data)), clear: true }));
      return;
    }
    showStatus(answer.data, input);
  }

  /** The VALID panel; `note` names a text shown in the reason's place (e.g. "needOrder"). */
  function validPanel(status, note) {
    return () => ({
      tone: "ok",
      verdict: verdictWord("valid"),
      amount: yuan(status.value_fen),
      details: voucherDetails(status),
      reason: note ? t(note) : status.registered ? "" : t("notRegistered"),
      attention: Boolean(note),
      action: { label: t("confirm") },
      hint: t("confirmHint", { order: $("order").value.trim() || "–" }),
      clear: true,
    });
  }

  function showStatus(status, input) {
    const verdict = status.verdict;
    if (verdict === "valid") {
      candidate = { input, status };
      show(validPanel(status), confirm);
      if (!$("order").value.trim()) focusOrder();
      return;
    }
    // An invalid code's value, reward and dates are whatever its forger wrote: show none of them.
    const trusted = verdict !== "invalid" && verdict !== "unknown";
    const rows = status.used ? [usedRow(status.used)] : [];
    show(() => ({
      tone: TONES[verdict] || "grey",
      verdict: verdictWord(verdict),
      amount: trusted && status.value_fen != null ? yuan(status.value_fen) : "",
      details: trusted ? rows.concat(voucherDetails(status)) : [],
      reason: fromHq(status.reason),
      clear: true,
    }));
  }

  /** 401, 403 of another till, 5xx: the same for every call. True when shown. */
  function handledCommonRefusal(answer, retry) {
    if (answer.status === 401) {
      show(() => ({ tone: "bad", verdict: t("tokenRejected"), reason: t("tokenRejectedHint"), clear: true }));
      return true;
    }
    if (answer.status === 403 && answer.data.error === "forbidden") {
      show(() => ({ tone: "bad", verdict: t("refused"), reason: `${t("wrongTill")} ${fromHq(hqMessage(answer.data))}`, clear: true }));
      return true;
    }
    if (answer.status >= 500) {
      show(
        () => ({ tone: "warn", verdict: t("hqBusy"), reason: t("hqBusyHint", { message: hqMessage(answer.data) || answer.status }), action: { label: t("retry") }, clear: true }),
        retry,
      );
      return true;
    }
    return false;
  }

  // -- write-off ----------------------------------------------------------------------------------

  function confirm() {
    if (busy) return;
    if (attempt && attempt.kind === "consume") {
      send(attempt);
      return;
    }
    if (!candidate) return;
    const order = $("order").value.trim();
    if (!ORDER_PATTERN.test(order)) {
      show(validPanel(candidate.status, order ? "badOrder" : "needOrder"), confirm);
      focusOrder();
      return;
    }
    attempt = {
      kind: "consume",
      path: "/v1/vouchers/consume",
      status: candidate.status,
      body: { request_id: newRequestId(), till_id: settings.till, order_no: order, ...candidate.input },
    };
    send(attempt);
  }

  async function send(sent) {
    busy = true;
    const consuming = sent.kind === "consume";
    show(() => ({ tone: "busy", verdict: t(consuming ? "writing" : "reversing"), amount: consuming ? yuan(sent.status.value_fen) : "" }));
    const answer = await call("POST", sent.path, sent.body);
    busy = false;
    if (attempt !== sent) return; // the cashier moved on (scanned another code)
    const retry = () => send(sent);
    if (answer.network) {
      show(
        () => ({
          tone: "warn",
          verdict: t("unreachable"),
          amount: consuming ? yuan(sent.status.value_fen) : "",
          details: consuming ? [[t("order"), sent.body.order_no]] : [[t("voucher"), sent.voucherId]],
          reason: t("unreachableHint"),
          action: { label: t("retry") },
          clear: true,
        }),
        retry,
      );
      return;
    }
    if (answer.status < 500) attempt = null; // a 5xx keeps it: Retry is the same request
    if (handledCommonRefusal(answer, retry)) return;
    if (consuming) consumeAnswered(sent, answer);
    else reverseAnswered(sent, answer);
  }

  function consumeAnswered(sent, answer) {
    const data = answer.data;
    if (answer.status === 200 || answer.status === 201) {
      candidate = null;
      lastOff = { voucher_id: data.voucher_id, value_fen: data.value_fen, order_no: data.order_no, used_at: data.used_at };
      writeJson(LAST_KEY, { till: settings.till, ...lastOff });
      show(() => ({
        tone: "done",
        verdict: t("writtenOff"),
        amount: yuan(data.value_fen),
        details: [
          [t("order"), data.order_no],
          [t("time"), localTime(data.used_at)],
          [t("reward"), rewardText(data)],
          [t("voucher"), data.voucher_id],
        ],
        reason: data.replayed ? t("replayed") : "",
      }));
      return;
    }
    candidate = null;
    if (answer.status === 409 && data.error === "already_used") {
      show(() => ({
        tone: "bad",
        verdict: t("alreadyUsed"),
        amount: yuan(sent.status.value_fen),
        details: data.used ? [usedRow(data.used)] : [],
        reason: fromHq(hqMessage(data)),
        clear: true,
      }));
      return;
    }
    const word = {
      cancelled: verdictWord("cancelled"),
      expired: verdictWord("expired"),
      invalid: verdictWord("invalid"),
      other_store: verdictWord("other_store"),
      not_found: verdictWord("unknown"),
    }[data.error];
    show(() => ({
      tone: "bad",
      verdict: word || t("refused"),
      amount: data.error === "invalid" ? "" : yuan(sent.status.value_fen),
      details: data.error === "invalid" ? [] : [[t("voucher"), sent.status.voucher_id], [t("order"), sent.body.order_no]],
      reason: fromHq(hqMessage(data)),
      clear: true,
    }));
  }

  // -- reverse the last write-off -----------------------------------------------------------------

  function askReverse() {
    if (busy || !lastOff) return;
    attempt = null;
    candidate = null;
    const last = lastOff;
    show(
      () => ({
        tone: "warn",
        verdict: t("reverseAsk"),
        amount: yuan(last.value_fen),
        details: [
          [t("voucher"), last.voucher_id],
          [t("order"), last.order_no],
          [t("time"), localTime(last.used_at)],
        ],
        reverseReason: true,
        action: { label: t("reverseConfirm"), kind: "danger" },
        clear: true,
      }),
      () => reverse(last),
    );
  }

  function reverse(last) {
    if (busy) return;
    if (attempt && attempt.kind === "reverse" && attempt.voucherId === last.voucher_id) {
      send(attempt);
      return;
    }
    const reason = $("reverse-reason-input").value.trim() || t("defaultReason");
    attempt = {
      kind: "reverse",
      voucherId: last.voucher_id,
      path: `/v1/vouchers/${encodeURIComponent(last.voucher_id)}/reverse`,
      body: { request_id: newRequestId(), till_id: settings.till, reason },
    };
    send(attempt);
  }

  function reverseAnswered(sent, answer) {
    const data = answer.data;
    if (answer.status === 200) {
      lastOff = null;
      writeJson(LAST_KEY, null);
      show(() => ({
        tone: "info",
        verdict: t("reversed"),
        amount: yuan(data.value_fen),
        details: voucherDetails(data),
        reason: t("reversedHint", { voucher: data.voucher_id }),
      }));
      return;
    }
    if (data.error === "not_used" || answer.status === 404) {
      lastOff = null;
      writeJson(LAST_KEY, null);
    }
    show(() => ({
      tone: "bad",
      verdict: t("cannotReverse"),
      details: [[t("voucher"), sent.voucherId]],
      reason: fromHq(hqMessage(data)),
      clear: true,
    }));
  }

  // -- keyboard and focus -------------------------------------------------------------------------
  //
  // A USB scanner is a keyboard: it types the QR text and Enter into whatever has focus, so the
  // scan field keeps focus except while the cashier types an order number, a reason or settings.

  const EDITABLE = new Set(["order", "reverse-reason-input", "set-url", "set-till", "set-token"]);

  function focusScan() {
    const scan = $("scan");
    if (!$("till").hidden && document.activeElement !== scan) scan.focus({ preventScroll: true });
  }

  function focusOrder() {
    $("order").focus({ preventScroll: true });
    $("order").select();
  }

  function keepFocus() {
    const active = document.activeElement;
    if ($("till").hidden) return;
    if (active && EDITABLE.has(active.id)) return;
    focusScan();
  }

  // A scanner fired while the order field had focus appends the QR text to the order number. It
  // types far faster than a person (or in one go): text that arrived within BURST_MS of the
  // previous input is one burst, and a burst of SCAN_MIN characters or more is a scan, not typing.
  const BURST_MS = 60;
  const SCAN_MIN = 20;
  const orderTyping = { at: 0, value: "", base: "" };

  function onOrderInput() {
    const now = performance.now();
    const value = $("order").value;
    if (now - orderTyping.at > BURST_MS) orderTyping.base = orderTyping.value;
    orderTyping.at = now;
    orderTyping.value = value;
    if (candidate) paint();
  }

  /** The scanned text at the end of the order field (and the order number before it), or null. */
  function scanInOrderField() {
    const value = $("order").value;
    const base = orderTyping.base;
    if (value.startsWith(base) && value.length - base.length >= SCAN_MIN) {
      return { order: base, scanned: value.slice(base.length) };
    }
    return null;
  }

  function onScanKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      clearScreen();
      return;
    }
    if (event.key !== "Enter") return;
    event.preventDefault();
    const scan = $("scan");
    const text = scan.value;
    // While a write-off or reverse is on its way the next scan waits in the field (Enter again).
    if (busy && attempt) return;
    if (text.trim()) {
      scan.value = "";
      lookup(text);
    } else {
      enterAction();
    }
  }

  function onOrderKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      focusScan();
      return;
    }
    if (event.key !== "Enter") return;
    event.preventDefault();
    const order = $("order");
    const scanned = scanInOrderField();
    if (scanned) {
      order.value = scanned.order;
      orderTyping.value = scanned.order;
      focusScan();
      lookup(scanned.scanned);
      return;
    }
    focusScan();
    if (candidate && onEnter === confirm) confirm();
  }

  function clearScreen() {
    if (busy) return;
    attempt = null;
    $("scan").value = "";
    idle();
    focusScan();
  }

  // -- settings -----------------------------------------------------------------------------------

  function openSettings() {
    $("till").hidden = true;
    $("settings").hidden = false;
    $("change-till").hidden = true;
    $("settings-cancel").hidden = !settings;
    $("set-url").value = settings ? settings.url : window.location.origin;
    $("set-till").value = settings ? settings.till : "";
    $("set-token").value = "";
    $("settings-error").textContent = "";
    applyStaticTexts();
    (settings ? $("set-token") : $("set-till")).focus();
  }

  function openTill() {
    $("settings").hidden = true;
    $("till").hidden = false;
    $("change-till").hidden = false;
    const stored = readJson(LAST_KEY);
    lastOff = stored && stored.till === settings.till ? stored : null;
    idle();
    focusScan();
  }

  async function saveSettings(event) {
    event.preventDefault();
    const error = $("settings-error");
    const url = $("set-url").value.trim();
    const till = $("set-till").value.trim();
    const token = $("set-token").value.trim();
    let parsed = null;
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol)) {
      error.textContent = t("badUrl");
      return;
    }
    if (!ID_PATTERN.test(till)) {
      error.textContent = t("badTillId");
      return;
    }
    if (!token.startsWith("till_")) {
      error.textContent = t("notTillToken");
      return;
    }
    const candidateSettings = { url: baseUrl(parsed.href), till, token };
    error.textContent = t("checking");
    $("settings-save").disabled = true;
    // Any till route checks the token; the key directory is the one that changes nothing.
    const answer = await call("GET", "/v1/voucher-keys", undefined, candidateSettings);
    $("settings-save").disabled = false;
    if (answer.network) {
      error.textContent = t("settingsUnreachable");
      return;
    }
    if (answer.status === 401 || answer.status === 403) {
      error.textContent = t("tokenRefused", { message: hqMessage(answer.data) });
      return;
    }
    if (settings && settings.till !== till) writeJson(LAST_KEY, null);
    settings = candidateSettings;
    writeJson(SETTINGS_KEY, settings);
    error.textContent = "";
    openTill();
  }

  // -- start --------------------------------------------------------------------------------------

  function start() {
    $("scan").addEventListener("keydown", onScanKey);
    $("order").addEventListener("keydown", onOrderKey);
    $("order").addEventListener("input", onOrderInput);
    $("reverse-reason-input").addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        focusScan();
        enterAction();
      } else if (event.key === "Escape") {
        event.preventDefault();
        clearScreen();
      }
    });
    $("act-main").addEventListener("click", () => {
      if (onEnter && !busy) onEnter();
      focusScan();
    });
    $("act-clear").addEventListener("click", clearScreen);
    $("reverse-last").addEventListener("click", () => {
      askReverse();
      focusScan();
    });
    $("locale-toggle").addEventListener("click", () => {
      locale = locale === "zh_CN" ? "en" : "zh_CN";
      writeJson(LOCALE_KEY, locale);
      paint();
      keepFocus();
    });
    $("change-till").addEventListener("click", openSettings);
    $("settings-form").addEventListener("submit", saveSettings);
    $("settings-cancel").addEventListener("click", openTill);
    // Buttons do not take focus from the scan field (a touch or click on them leaves it there).
    for (const button of document.querySelectorAll("#till button, .bar button")) {
      button.addEventListener("mousedown", (event) => event.preventDefault());
    }
    document.addEventListener("focusout", () => setTimeout(keepFocus, 0));
    document.addEventListener("click", (event) => {
      if (!(event.target instanceof HTMLInputElement)) keepFocus();
    });
    window.addEventListener("focus", keepFocus);
    setInterval(keepFocus, 1000);
    applyStaticTexts();
    if (settings && settings.url && settings.till && settings.token) openTill();
    else {
      settings = null;
      openSettings();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
