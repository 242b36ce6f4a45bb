"""The console lockdown: a keyboard plugged into the kiosk gives no shell and no way off the kiosk screen.

tools/install-pi.sh masks getty@/autovt@ and ctrl-alt-del.target, places the files from
systemd/lockdown/ (logind, system.conf, sysctl drop-ins and a udev rule) and runs the kiosk in
kiosk-touch instead of input; tools/uninstall-pi.sh takes back exactly that. These tests run both
under `--root DIR`, ask systemctl (offline) what it makes of the masks, and run the udev rule through
a small model of udev's rule matching against the devices a kiosk meets.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from drivers.input_devices import EvdevInputs
from tests.ops.test_install_scripts import INSTALL, REPO, UNINSTALL, install, sh
from tests.ops.test_unit_file import unit_settings

LOCKDOWN = REPO / "systemd" / "lockdown"
PLACED = {
    "logind.conf": "etc/systemd/logind.conf.d/kiosk-lockdown.conf",
    "system.conf": "etc/systemd/system.conf.d/kiosk-lockdown.conf",
    "sysctl.conf": "etc/sysctl.d/90-kiosk-lockdown.conf",
    "input.rules": "etc/udev/rules.d/70-kiosk-input.rules",
}
MASKS = ("getty@.service", "autovt@.service", "ctrl-alt-del.target")
STOCK_UNITS = next((p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()), None)

needs_systemctl = pytest.mark.skipif(
    shutil.which("systemctl") is None or STOCK_UNITS is None, reason="systemctl and its stock units not installed"
)


def tree(root: Path, *, skip: tuple[str, ...] = ("opt/kiosk/src",)) -> dict[str, str]:
    """Every path under root -> what it is: file bytes + mode, link target, or directory."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = f"{stat.S_IMODE(path.stat().st_mode):o} {path.read_bytes()!r}"
    return found


def ini(path: Path) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


# --- what the installer places ---------------------------------------------------------------


def test_a_staged_install_masks_the_consoles_and_ctrl_alt_del(tmp_path):
    install(tmp_path)
    for unit in MASKS:
        link = tmp_path / "etc/systemd/system" / unit
        assert link.is_symlink() and os.readlink(link) == "/dev/null", unit
    assert (tmp_path / "opt/kiosk/masked-units").read_text().split() == list(MASKS)


def test_a_staged_install_places_the_drop_ins_and_the_udev_rule(tmp_path):
    install(tmp_path)
    for source, dest in PLACED.items():
        placed = tmp_path / dest
        assert placed.read_bytes() == (LOCKDOWN / source).read_bytes(), dest
        assert stat.S_IMODE(placed.stat().st_mode) == 0o644, dest


def test_re_running_changes_nothing(tmp_path):
    install(tmp_path)
    before = tree(tmp_path)
    second = install(tmp_path)
    assert tree(tmp_path) == before
    for unit in MASKS:
        assert f"keep mask {unit}\n" in second
    for dest in PLACED.values():
        assert f"keep unchanged /{dest}\n" in second
    assert "ln -s" not in second and "install -m" not in second and "write /opt/kiosk/masked-units" not in second


def test_an_edited_drop_in_is_put_back(tmp_path):
    install(tmp_path)
    sysctl = tmp_path / PLACED["sysctl.conf"]
    sysctl.write_text("kernel.sysrq = 1\n")
    install(tmp_path)
    assert sysctl.read_bytes() == (LOCKDOWN / "sysctl.conf").read_bytes()


def test_the_dry_run_applies_the_lockdown_to_the_running_system():
    plan = sh(INSTALL, "--dry-run").stdout
    for step in (
        "ln -s /dev/null /etc/systemd/system/getty@.service",
        "ln -s /dev/null /etc/systemd/system/autovt@.service",
        "ln -s /dev/null /etc/systemd/system/ctrl-alt-del.target",
        "/etc/udev/rules.d/70-kiosk-input.rules",
        "systemctl daemon-reload",  # masks and CtrlAltDelBurstAction= take effect
        "systemctl restart systemd-sysctl.service",  # kernel.sysrq = 0 now
        "udevadm trigger --subsystem-match=input --action=change",  # touch panel regrouped, keyboards off
    ):
        assert step in plan, step
    assert "groupadd --system kiosk-touch" in plan or "keep group kiosk-touch" in plan
    # Masking replaces the old `disable getty@tty1`; uninstall re-enables tty1 either way.
    assert "disable getty@tty1" not in plan


def _stub_path(tmp_path: Path, kiosk_groups: str) -> dict[str, str]:
    """PATH with `id` and `getent` answering as if user kiosk existed with these groups."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "id").write_text(
        '#!/bin/sh\ncase "$*" in\n'
        '  "-u kiosk") echo 999 ;;\n'
        f'  "-nG kiosk") echo "{kiosk_groups}" ;;\n'
        f'  *) exec {shutil.which("id")} "$@" ;;\nesac\n'
    )
    (bin_dir / "getent").write_text("#!/bin/sh\nexit 0\n")  # every group exists
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _plan(env: dict[str, str], script: Path = INSTALL, *args: str) -> str:
    proc = subprocess.run(["bash", str(script), "--dry-run", *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_an_upgrade_takes_the_kiosk_user_out_of_the_input_group(tmp_path):
    """systemd gives a User= service the user's /etc/group memberships, whatever SupplementaryGroups= says."""
    plan = _plan(_stub_path(tmp_path, "kiosk spi gpio video render input dialout"))
    assert "gpasswd -d kiosk input" in plan
    assert "usermod -aG kiosk-touch kiosk" in plan
    assert "usermod -aG input" not in plan


def test_a_kiosk_user_without_input_is_left_alone(tmp_path):
    plan = _plan(_stub_path(tmp_path, "kiosk spi gpio video render kiosk-touch dialout"))
    assert "gpasswd" not in plan and "usermod" not in plan
    assert "keep group kiosk-touch" in plan


def test_purging_removes_the_touch_group_with_the_user(tmp_path):
    plan = _plan(_stub_path(tmp_path, "kiosk"), UNINSTALL, "--purge")
    assert plan.index("userdel kiosk") < plan.index("groupdel kiosk-touch")
    assert "groupdel" not in _plan(_stub_path(tmp_path / "keep", "kiosk"), UNINSTALL)


def test_the_installer_asks_for_the_groups_the_unit_runs_with():
    script = INSTALL.read_text()
    groups = re.search(r"^SERVICE_GROUPS=\((.*)\)$", script, re.M).group(1)
    groups = groups.replace('"$TOUCH_GROUP"', re.search(r"^TOUCH_GROUP=(\S+)$", script, re.M).group(1))
    unit = unit_settings()
    assert set(groups.split()) == set(" ".join(unit["Service"]["SupplementaryGroups"]).split())


# --- what the masks mean to systemd ------------------------------------------------------------


def _systemctl_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(STOCK_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    return root


def is_enabled(root: Path, unit: str) -> str:
    proc = subprocess.run(
        ["systemctl", f"--root={root}", "is-enabled", unit], capture_output=True, text=True, timeout=60
    )
    return proc.stdout.strip()


CONSOLES = [f"{t}@tty{n}.service" for t in ("getty", "autovt") for n in range(1, 7)]


@needs_systemctl
def test_systemd_sees_every_console_login_and_ctrl_alt_del_masked(tmp_path):
    root = _systemctl_root(tmp_path)
    assert is_enabled(root, "getty@tty2.service") != "masked"  # the check can fail
    install(root)
    for unit in [*CONSOLES, "getty@tty12.service", "ctrl-alt-del.target"]:
        assert is_enabled(root, unit) == "masked", unit
    # The kiosk itself, and a serial console (not reachable from a keyboard), are not touched.
    assert is_enabled(root, "kiosk.service") != "masked"
    assert is_enabled(root, "serial-getty@ttyAMA0.service") != "masked"


@needs_systemctl
def test_after_uninstall_systemd_sees_the_consoles_as_before(tmp_path):
    root = _systemctl_root(tmp_path)
    before = {unit: is_enabled(root, unit) for unit in [*CONSOLES, "ctrl-alt-del.target"]}
    install(root)
    sh(UNINSTALL, "--root", root)
    assert {unit: is_enabled(root, unit) for unit in before} == before


@pytest.mark.skipif(shutil.which("systemd-analyze") is None or STOCK_UNITS is None, reason="systemd-analyze")
def test_systemd_analyze_verify_is_clean_on_the_locked_down_install(tmp_path):
    root = _systemctl_root(tmp_path)
    install(root)
    entry = root / "opt/kiosk/venv/bin/kiosk"
    entry.parent.mkdir(parents=True)
    entry.write_text("#!/bin/sh\n")
    entry.chmod(0o755)
    proc = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "/etc/systemd/system/kiosk.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stdout + proc.stderr


# --- uninstall takes back exactly what install added -------------------------------------------


def _pi_like_root(root: Path) -> None:
    """What a Raspberry Pi OS image already has where the lockdown goes, including a mask of its own."""
    for d in ("etc/systemd/system/getty.target.wants", "etc/udev/rules.d", "etc/sysctl.d", "opt"):
        (root / d).mkdir(parents=True)
    (root / "etc/systemd/system/bluetooth.service").symlink_to("/dev/null")
    (root / "etc/systemd/system/getty.target.wants/getty@tty1.service").symlink_to("/lib/systemd/system/getty@.service")
    (root / "etc/sysctl.d/99-sysctl.conf").symlink_to("../sysctl.conf")
    (root / "etc/udev/rules.d/99-local.rules").write_text('SUBSYSTEM=="spidev", GROUP="spi"\n')


def test_uninstall_removes_exactly_what_install_added(tmp_path):
    _pi_like_root(tmp_path)
    before = tree(tmp_path)
    install(tmp_path)
    assert tree(tmp_path) != before
    out = sh(UNINSTALL, "--root", tmp_path).stdout
    for step in (  # what it would do to the running system
        "systemctl daemon-reload",
        "systemctl enable getty@tty1.service",
        "systemctl restart systemd-sysctl.service",
        "udevadm trigger --subsystem-match=input --action=change",
    ):
        assert f"skip (--root): {step}" in out, step
    kept = ("etc/kiosk", "var")  # config and ledger stay without --purge
    assert tree(tmp_path, skip=kept) == before
    sh(UNINSTALL, "--root", tmp_path)  # again: nothing left to do, still fine
    assert tree(tmp_path, skip=kept) == before


def test_a_mask_someone_else_made_survives_install_and_uninstall(tmp_path):
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    (units / "ctrl-alt-del.target").symlink_to("/dev/null")
    out = install(tmp_path)
    assert "keep mask ctrl-alt-del.target (made by someone else" in out
    assert (tmp_path / "opt/kiosk/masked-units").read_text().split() == ["getty@.service", "autovt@.service"]
    sh(UNINSTALL, "--root", tmp_path)
    assert os.readlink(units / "ctrl-alt-del.target") == "/dev/null"
    assert not (units / "getty@.service").is_symlink()


def test_uninstall_leaves_a_unit_file_that_replaced_its_mask(tmp_path):
    install(tmp_path)
    getty = tmp_path / "etc/systemd/system/getty@.service"
    getty.unlink()
    getty.write_text("[Service]\nExecStart=/sbin/agetty %I\n")  # a technician's own getty, later
    sh(UNINSTALL, "--root", tmp_path)
    assert getty.read_text().startswith("[Service]")
    assert not (tmp_path / "etc/systemd/system/autovt@.service").is_symlink()


def test_a_real_unit_file_in_the_way_is_not_overwritten(tmp_path):
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    (units / "getty@.service").write_text("[Service]\nExecStart=/sbin/agetty %I\n")
    out = install(tmp_path)
    assert "WARNING: not masking getty@.service" in out
    assert (units / "getty@.service").read_text().startswith("[Service]")
    sh(UNINSTALL, "--root", tmp_path)
    assert (units / "getty@.service").read_text().startswith("[Service]")


# --- the drop-ins say what they must -----------------------------------------------------------


def test_logind_spawns_no_login_prompts_on_other_consoles():
    assert ini(LOCKDOWN / "logind.conf") == {"Login": {"NAutoVTs": "0", "ReserveVT": "0"}}


def test_ctrl_alt_del_pressed_in_a_burst_does_not_reboot_either():
    """A masked ctrl-alt-del.target is not enough: 8 presses in 2 s trigger CtrlAltDelBurstAction=."""
    assert ini(LOCKDOWN / "system.conf") == {"Manager": {"CtrlAltDelBurstAction": "none"}}


def test_sysrq_is_off():
    lines = [ln for ln in (LOCKDOWN / "sysctl.conf").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines == ["kernel.sysrq = 0"]


@pytest.mark.parametrize(
    ("drop_in", "stock"), [("logind.conf", "/etc/systemd/logind.conf"), ("system.conf", "/etc/systemd/system.conf")]
)
def test_drop_in_keys_are_ones_this_systemd_knows(drop_in, stock):
    """Debian's stock files list every setting, commented out with its default; a typo is not among them."""
    if not Path(stock).is_file():
        pytest.skip(f"{stock} not installed")
    known = set(re.findall(r"^#?(\w+)=", Path(stock).read_text(), re.M))
    for section in ini(LOCKDOWN / drop_in).values():
        assert set(section) <= known, set(section) - known


# --- the udev rule, through a model of udev's matching ------------------------------------------

TOKEN = re.compile(r'\s*([A-Z_]+)(?:\{([^}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(,|$)')
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "ENV", "ATTR"}
ASSIGN_KEYS = {"GROUP", "MODE", "ENV", "ATTR", "GOTO", "LABEL"}
FINAL_KEYS = {"GROUP", "MODE"}

# Rules that also touch input devices on Raspberry Pi OS Bookworm, in the order udev reads them:
# systemd's 50-udev-default.rules and raspberrypi-sys-mods' 99-com.rules.
SYSTEMD_DEFAULT = 'SUBSYSTEM=="input", GROUP="input"\n'
PI_OS_99_COM = 'SUBSYSTEM=="input", GROUP="input", MODE="0660"\n'


def parse_rules(text: str) -> list[list[tuple[str, str | None, str, str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens, pos = [], 0
        while pos < len(line):
            m = TOKEN.match(line, pos)
            assert m, f"udev cannot parse {line[pos:]!r}"
            key, attr, op, value, _ = m.groups()
            allowed = MATCH_KEYS if op in ("==", "!=") else ASSIGN_KEYS
            assert key in allowed, f"{key}{op} is not modelled: {line}"
            assert (attr is not None) == (key in ("ENV", "ATTR")), line
            tokens.append((key, attr, op, value))
            pos = m.end()
        rules.append(tokens)
    labels = {v for rule in rules for k, _, _, v in rule if k == "LABEL"}
    gotos = {v for rule in rules for k, _, _, v in rule if k == "GOTO"}
    assert gotos <= labels, f"GOTO without LABEL: {gotos - labels}"
    return rules


def _matches(actual: str, pattern: str) -> bool:
    return any(fnmatch.fnmatchcase(actual, alt) for alt in pattern.split("|"))


def apply_rules(files: list[str], device: dict) -> dict:
    """Run rule files in order on a device; returns its group, mode, properties and attributes written."""
    env = dict(device.get("env", {}))
    attrs = dict(device.get("attrs", {}))
    out: dict = {"GROUP": "root", "MODE": "0600", "written": {}}
    final: set[str] = set()
    for text in files:
        rules, goto = parse_rules(text), None
        for rule in rules:
            if goto is not None:
                if ("LABEL", None, "=", goto) in rule:
                    goto = None
                continue
            values = {"ACTION": device.get("action", "add"), "SUBSYSTEM": "input", "KERNEL": device["kernel"]}
            ok = True
            for key, attr, op, value in rule:
                if op not in ("==", "!="):
                    continue
                actual = env.get(attr, "") if key == "ENV" else attrs.get(attr, "") if key == "ATTR" else values[key]
                ok = ok and (_matches(actual, value) == (op == "=="))
            if not ok:
                continue
            for key, attr, op, value in rule:
                if op in ("==", "!=") or key == "LABEL":
                    continue
                if key == "GOTO":
                    goto = value
                elif key == "ENV":
                    env[attr] = value
                elif key == "ATTR":
                    attrs[attr] = out["written"][attr] = value
                elif key not in final:
                    out[key] = value
                    if op == ":=":
                        final.add(key)
    return {**out, "env": env}


def with_kiosk_rule(device: dict, rule: str | None = None) -> dict:
    ours = rule if rule is not None else (LOCKDOWN / "input.rules").read_text()
    return apply_rules([SYSTEMD_DEFAULT, ours, PI_OS_99_COM], device)


TOUCH_EVENT = {"kernel": "event3", "env": {"ID_INPUT": "1", "ID_INPUT_TOUCHSCREEN": "1"}}
KEYBOARD_EVENT = {"kernel": "event5", "env": {"ID_INPUT": "1", "ID_INPUT_KEY": "1", "ID_INPUT_KEYBOARD": "1"}}


def input_device(bustype: str, **props: str) -> dict:
    return {"kernel": "input7", "env": {"ID_INPUT": "1", **props}, "attrs": {"id/bustype": bustype}}


def test_the_rule_file_parses():
    assert len(parse_rules((LOCKDOWN / "input.rules").read_text())) == 5


def test_the_touch_panel_is_readable_by_kiosk_touch_only():
    result = with_kiosk_rule(TOUCH_EVENT)
    assert (result["GROUP"], result["MODE"]) == ("kiosk-touch", "0640")


def test_the_touch_group_is_the_one_the_unit_runs_with():
    groups = " ".join(unit_settings()["Service"]["SupplementaryGroups"]).split()
    assert with_kiosk_rule(TOUCH_EVENT)["GROUP"] in groups
    assert "input" not in groups


def test_without_final_assignments_pi_os_would_give_the_panel_back_to_input():
    """The check above can fail: with plain `=`, 99-com.rules (read later) wins."""
    weak = (LOCKDOWN / "input.rules").read_text().replace(":=", "=")
    assert with_kiosk_rule(TOUCH_EVENT, weak)["GROUP"] == "input"


def test_a_keyboards_event_node_stays_in_input_which_the_kiosk_is_not_in():
    assert with_kiosk_rule(KEYBOARD_EVENT)["GROUP"] == "input"


@pytest.mark.parametrize(
    "device",
    [
        input_device("0003", ID_INPUT_KEY="1", ID_INPUT_KEYBOARD="1"),  # USB keyboard
        input_device("0003", ID_INPUT_KEY="1"),  # its "System Control" part: power and sleep keys
        input_device("0005", ID_INPUT_KEY="1", ID_INPUT_KEYBOARD="1"),  # Bluetooth keyboard
        input_device("0003", ID_INPUT_KEY="1", ID_INPUT_MOUSE="1"),  # a mouse with macro keys
    ],
    ids=["usb-keyboard", "usb-system-control", "bluetooth-keyboard", "usb-mouse-with-keys"],
)
def test_keys_on_usb_or_bluetooth_are_switched_off(device):
    result = with_kiosk_rule(device)
    assert result["written"] == {"inhibited": "1"}
    assert result["env"]["KIOSK_KEYS_OFF"] == "1"  # what uninstall-pi.sh switches back on


@pytest.mark.parametrize(
    "device",
    [
        input_device("0003", ID_INPUT_TOUCHSCREEN="1", ID_INPUT_KEY="1"),  # USB touch panel that has keys
        input_device("0003", ID_INPUT_TOUCHSCREEN="1"),  # USB touch panel
        input_device("0018", ID_INPUT_TOUCHSCREEN="1"),  # DSI panel on I2C
        input_device("0019", ID_INPUT_KEY="1"),  # Pi 5 power button (gpio-keys)
        input_device("0003", ID_INPUT_MOUSE="1"),  # plain USB mouse: no keys
        {**input_device("0003", ID_INPUT_KEY="1", ID_INPUT_KEYBOARD="1"), "action": "remove"},
        {**KEYBOARD_EVENT, "attrs": {"id/bustype": "0003"}},  # the event node has no `inhibited`
    ],
    ids=["usb-panel-with-keys", "usb-panel", "dsi-panel", "pi5-power-button", "usb-mouse", "remove", "event-node"],
)
def test_the_panel_and_built_in_devices_keep_working(device):
    result = with_kiosk_rule(device)
    assert result["written"] == {}
    assert "KIOSK_KEYS_OFF" not in result["env"]


# --- the kiosk's input wait with these permissions ---------------------------------------------

TOUCH_GID, INPUT_GID, NOBODY = 4242, 4343, 65534


def _watch(directory: Path, *, as_nobody: bool) -> dict:
    """EvdevInputs' first scan, as the kiosk user would run it: watched descriptors and log lines."""

    def scan() -> dict:
        records: list[str] = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record.getMessage())

        handler = Collect()
        logger = logging.getLogger("drivers.input_devices")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            inputs = EvdevInputs(directory)
            count = len(inputs.fds())
            inputs.close()
        finally:
            logger.removeHandler(handler)
        return {"fds": count, "log": records}

    if not as_nobody:
        return scan()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops to nobody with only the touch group, like kiosk.service
        status = 1
        try:
            os.close(read_end)
            os.setgroups([TOUCH_GID])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write_end, json.dumps(scan()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and data, "the unprivileged scan failed"
    return json.loads(data)


def test_the_input_wait_watches_the_panel_and_skips_a_keyboard_it_cannot_read():
    as_root = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="kiosk-input-", dir="/tmp"))
    try:
        directory.chmod(0o755)
        panel, keyboard = directory / "event0", directory / "event1"
        panel.write_bytes(b"")
        keyboard.write_bytes(b"")
        panel.chmod(0o640)  # root:kiosk-touch 0640, as the udev rule leaves it
        keyboard.chmod(0o660)  # root:input 0660
        if as_root:
            os.chown(panel, 0, TOUCH_GID)
            os.chown(keyboard, 0, INPUT_GID)
        else:
            keyboard.chmod(0)  # without root the test cannot be in one group and not another
        seen = _watch(directory, as_nobody=as_root)
    finally:
        shutil.rmtree(directory)
    assert seen["fds"] == 1
    assert f"waiting for input on {panel}" in seen["log"]
    assert f"cannot watch {keyboard} for input: Permission denied" in seen["log"]
