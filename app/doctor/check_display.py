"""Can SDL reach the screen over KMS/DRM and the touchscreen, and is there a font with Chinese?"""

from __future__ import annotations

from pathlib import Path

from app.doctor.core import CheckResult, DoctorContext, Severity
from app.doctor.probes import font_file_kind


def check_display(ctx: DoctorContext) -> list[CheckResult]:
    if ctx.config is None:
        return [CheckResult.skip("display", "needs a valid config")]
    # A simulation on a laptop draws into a desktop window, so missing DRM is only a warning there.
    severity = Severity.WARNING if ctx.config.simulation.enabled else Severity.ERROR
    results: list[CheckResult] = []
    cards = sorted((ctx.dev_root / "dri").glob("card*"))
    if not cards:
        results.append(
            CheckResult.failed(
                "display",
                f"no DRM device under {ctx.dev_root / 'dri'}",
                "enable the KMS driver: make sure `dtoverlay=vc4-kms-v3d` is in /boot/firmware/config.txt, then reboot",
                severity,
            )
        )
    elif not any(ctx.can_access(c, write=True) for c in cards):
        results.append(
            CheckResult.failed(
                "display",
                f"user {ctx.who} cannot open {', '.join(str(c) for c in cards)}",
                f"sudo usermod -aG video,render {ctx.who}",
                severity,
            )
        )
    else:
        results.append(CheckResult.passed("display", f"{', '.join(c.name for c in cards)} usable for SDL kmsdrm"))

    events = sorted((ctx.dev_root / "input").glob("event*"))
    if not events:
        results.append(
            CheckResult.warning(
                "touchscreen",
                "no input devices: touches will not reach the kiosk",
                "check the touchscreen's ribbon/USB cable; `libinput list-devices` should list it",
            )
        )
    elif not any(ctx.can_access(e) for e in events):
        results.append(
            CheckResult.failed(
                "touchscreen",
                f"user {ctx.who} cannot read {ctx.dev_root / 'input'}/event*",
                f"add {ctx.who} to group kiosk-touch (sudo usermod -aG kiosk-touch {ctx.who}) and check that udev "
                "classifies the panel as a touchscreen: udevadm info /dev/input/eventN | grep ID_INPUT_TOUCHSCREEN",
                severity,
            )
        )
    else:
        results.append(CheckResult.passed("touchscreen", f"{len(events)} input device(s) readable"))
    return results


def check_fonts(ctx: DoctorContext) -> CheckResult:
    name = "fonts"
    if ctx.config is None:
        return CheckResult.skip(name, "needs a valid config")
    configured = ctx.config.display.font
    if configured:
        path = Path(configured)
        kind = font_file_kind(path)
        if kind is None:
            return CheckResult.failed(
                name,
                f"display.font {path} is missing or not a TrueType/OpenType font",
                "sudo apt install fonts-wqy-microhei and set display.font to "
                "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc (or leave it empty)",
            )
        return CheckResult.passed(name, f"{path} ({kind})")
    for candidate in ctx.font_candidates:
        kind = font_file_kind(candidate)
        if kind is not None:
            return CheckResult.passed(name, f"CJK font {candidate} ({kind})")
    return CheckResult.failed(
        name,
        "no font with Chinese glyphs found: member names and tiers would show as boxes",
        "sudo apt install fonts-wqy-microhei",
    )
