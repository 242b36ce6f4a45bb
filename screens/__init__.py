"""pygame touchscreen UI: screens draw kiosk state and turn touches into intents, nothing more.

The app (app/bootstrap.py) needs only this much:

    from screens.display import open_display               # fullscreen/KMSDRM or a window
    from screens.fonts import find_cjk_font, FontNotFound  # CJK font from config or the system
    from screens.ui import KioskUI
    from screens.loop import UiLoop, READER_EVENT, post_reader_event

    surface = open_display(fullscreen=True, driver="kmsdrm")          # or (size=(800, 480), fullscreen=False)
    font = find_cjk_font(config_font_or_None)                          # raises FontNotFound (clear message)
    ui = KioskUI(surface, locale="zh_CN", tz=ZoneInfo("Asia/Shanghai"), font_path=font,
                 clock=wall_clock,           # () -> aware datetime
                 rotation=0,                 # 0/90/180/270: picture turned clockwise on the panel
                 px_per_mm=None, dpi=None)   # panel density; default = official 7" Pi panel
    ui.show(state)                           # any kiosk.ui_state.UiState; same state again = no-op
    intent = ui.handle_event(event)          # touch/mouse -> Intent | None, debounced
    ui.update(now_monotonic); rects = ui.draw()   # [] when nothing changed
    ui.render_png(path); ui.locale; ui.set_locale("en"); ui.last_touch_at

    loop = UiLoop(ui, on_intent=session.on_intent,         # each returns the next UiState or None
                  on_tick=session.on_tick,                 # (monotonic now), every tick_interval_s
                  on_reader_event=session.on_reader_event) # payload of a READER_EVENT
    post_reader_event(event)                 # from the reader thread
    loop.run()                               # until the window closes or loop.stop()

ToggleLocale is handled inside the UI and also returned (so the session may remember it). Drags on
lists return `Scroll` intents, which count as activity. Done is returned by the "done" button;
the inactivity timeout belongs to the session (driven by on_tick).

Modules: theme, fonts, layout, text (strings in both locales, money, dates), widgets, touch,
one module per screen group (idle, member, rewards, voucher, notice), ui, loop, display,
samples (example view objects), shots (`python -m screens.shots OUTDIR`).
"""
