"""The Debian package: built by tools/build-deb.sh, installed from a local apt repository into a
Debian Bookworm root, upgraded and rolled back with config, keys and ledger intact.

The roots come from packaging/root.sh (debootstrap, then proot; arm64 under qemu-aarch64-static,
so no binfmt_misc is needed) and are cached outside the repository for a week.

- In CI (`./test.sh`): amd64 only, one build; the "newer" version is the same package with its
  version raised (dpkg-deb repack), which exercises dpkg's and the maintainer scripts' side of an
  upgrade and a rollback. Install, postinst re-run, headless scenario, doctor, upgrade, rollback.
- `KIOSK_FULL_PACKAGE_TESTS=1` (on demand, tens of minutes): amd64 and arm64, two real builds,
  then the same plus doctor and scenario after the upgrade, remove (ledger, config and keys kept)
  and purge (all gone). Results and timings: docs/operations.md, "The Debian package".

Needs root, debootstrap, proot, apt-ftparchive (apt-utils), dpkg-deb, network to PyPI and
deb.debian.org, and qemu-user-static for arm64.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tools" / "build-deb.sh"
ROOT_SH = REPO / "packaging" / "root.sh"
SCRIPTS = [BUILD, ROOT_SH, *sorted((REPO / "packaging" / "debian").glob("p*"))]
FULL = os.environ.get("KIOSK_FULL_PACKAGE_TESTS") == "1"
PACKAGE = "membership-kiosk"
V1, V2 = "0.1.0-1", "0.1.0-2"
APT = "apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold --no-install-recommends"
# Checks that need the Pi's hardware, which an emulated root does not have (no SPI, GPIO or DRM
# device nodes): they may fail there. Everything else in the doctor's report must not.
HARDWARE_CHECKS = {"reader bus", "gpio", "reader", "display", "touchscreen"}
MUST_PASS = {
    "config",
    "config permissions",
    "fonts",
    "data dir",
    "disk",
    "clock",
    "broker",
    "key hq_public_key",
    "key card_master_key",
    "key voucher_signing_key",
}


def run(argv: list[str | Path], timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert proc.returncode == 0, f"{argv}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def missing_tools(arch: str) -> list[str]:
    wanted = ["debootstrap", "proot", "apt-ftparchive", "dpkg-deb", "git"]
    if arch == "arm64":
        wanted.append("qemu-aarch64-static")
    return [tool for tool in wanted if shutil.which(tool) is None]


class Timings:
    """Seconds per step, printed at the end (pytest -s shows them; docs/operations.md records a full run)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.steps: list[tuple[str, float]] = []
        self._t = time.monotonic()

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.steps.append((step, round(now - self._t, 1)))
        self._t = now

    def report(self) -> str:
        total = sum(s for _, s in self.steps)
        return f"{self.label}: " + ", ".join(f"{n} {s}s" for n, s in self.steps) + f"; total {total:.0f}s"


class Root:
    """A Bookworm root with a local apt repository (apt-ftparchive) bound at /srv/kiosk-repo."""

    def __init__(self, arch: str, path: Path, repo: Path) -> None:
        self.arch, self.path, self.repo = arch, path, repo
        repo.mkdir()
        run([ROOT_SH, "copy", arch, path], timeout=3600)
        (path / "etc/apt/sources.list.d/kiosk.list").write_text("deb [trusted=yes] file:/srv/kiosk-repo ./\n")

    def sh(self, script: str, timeout: float = 1800) -> str:
        argv: list[str | Path] = [
            ROOT_SH,
            "run",
            self.path,
            "-b",
            f"{self.repo}:/srv/kiosk-repo",
            "--",
            "sh",
            "-ec",
            script,
        ]
        return run(argv, timeout=timeout).stdout

    def publish(self, *debs: Path) -> None:
        for deb in debs:
            shutil.copy(deb, self.repo)
        packages = run(["apt-ftparchive", "packages", "."], timeout=120, cwd=self.repo).stdout
        (self.repo / "Packages").write_text(packages)
        (self.repo / "Release").write_text(run(["apt-ftparchive", "release", "."], timeout=60, cwd=self.repo).stdout)

    def install(self, version: str, *options: str) -> str:
        return self.sh(f"apt-get update -q && {APT} {' '.join(options)} install {PACKAGE}={version}")

    def dpkg_status(self) -> str:
        """`Version Status` of the package as the root's dpkg records it."""
        fmt = "${Version} ${Status}"
        proc = subprocess.run(
            ["dpkg-query", f"--admindir={self.path}/var/lib/dpkg", "-W", "-f", fmt, PACKAGE],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return proc.stdout.strip() if proc.returncode == 0 else "not known"

    def fingerprint(self) -> dict[str, str]:
        """sha256 of config, secrets, keys and every ledger file: what upgrades must never touch."""
        files: dict[str, str] = {}
        for top in ("etc/kiosk", "var/lib/kiosk"):
            for file in sorted((self.path / top).rglob("*")):
                if file.is_file():
                    files["/" + str(file.relative_to(self.path))] = hashlib.sha256(file.read_bytes()).hexdigest()
        return files

    def accounts(self) -> str:
        return "".join(
            line
            for name in ("passwd", "group")
            for line in (self.path / "etc" / name).read_text().splitlines(keepends=True)
            if re.match(r"kiosk[:-]", line)
        )


def build(version: str, arch: str, out: Path) -> Path:
    # gzip: the test's packages are thrown away, xz would only cost CPU time.
    argv: list[str | Path] = [
        BUILD,
        "--arch",
        arch,
        "--version",
        version,
        "--ref",
        "WORKTREE",
        "--out",
        out,
        "--compress",
        "gzip",
    ]
    deb = Path(run(argv, timeout=3600).stdout.strip().splitlines()[-1])
    assert deb.name == f"{PACKAGE}_{version}_{arch}.deb"
    return deb


def rebuild_with_version(deb: Path, version: str, out: Path) -> Path:
    """The same package under a newer version: what an upgrade changes for dpkg, in seconds."""
    tree = out / "repack"
    run(["dpkg-deb", "-R", deb, tree], timeout=600)
    control = tree / "DEBIAN" / "control"
    control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", control.read_text()))
    newer = out / f"{PACKAGE}_{version}_{deb.name.rsplit('_', 1)[1]}"
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", tree, newer], timeout=600)
    shutil.rmtree(tree)
    return newer


SIMULATION_SETUP = """
cd /root/sim
K=/opt/kiosk/venv/bin
# Like run.sh: the simulation's keys (HQ's test pair and a card master key, into /etc/kiosk/keys,
# where HQ's files go on a real kiosk), then HQ's signed demo documents.
$K/kiosk keys init --config sim.yaml >/dev/null
$K/kiosk-hq --config hq.yaml --log-level WARNING demo --out /root/sim/demo \\
    --kiosk kiosk-sim-01:store-0001:/etc/kiosk/keys/voucher_signing.pub.pem >/dev/null
"""
# The headless scenario; CONFIG's ledger.data_dir must be an empty or missing directory.
SCENARIO = """
export SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy PYGAME_HIDE_SUPPORT_PROMPT=1
cd /root/sim
rm -rf /root/sim/out
/opt/kiosk/venv/bin/kiosk run --headless --config {config} --out /root/sim/out
"""
# What docs/operations.md tells whoever copied HQ's key files in: the package's postinst gives
# /etc/kiosk back to root:kiosk, 0750/0640; and the ledger is the kiosk user's.
AFTER_SETUP = "chown -R kiosk:kiosk /var/lib/kiosk && dpkg-reconfigure membership-kiosk >/dev/null"


def write_simulation(root: Root) -> None:
    """The repository's simulation config, pointed at the package's directories."""
    sim = root.path / "root" / "sim"
    sim.mkdir(parents=True)
    config = (REPO / "config.yaml").read_text()
    config = config.replace("data_dir: var/data", "data_dir: /var/lib/kiosk").replace("var/keys/", "/etc/kiosk/keys/")
    config = config.replace("hq_documents: var/demo", "hq_documents: /root/sim/demo")
    (sim / "sim.yaml").write_text(config)
    # For a second run of the scenario (its demo members have spent their points in the first).
    (sim / "sim-again.yaml").write_text(config.replace("data_dir: /var/lib/kiosk", "data_dir: /root/sim/again"))
    hq = (REPO / "hq.yaml").read_text().replace("var/keys/hq_private.pem", "/etc/kiosk/keys/hq_private.pem")
    (sim / "hq.yaml").write_text(hq)


def doctor(root: Root) -> dict[str, dict[str, str]]:
    """`kiosk doctor` on the package's own config (as on a shop's Pi); {check name: check}."""
    root.sh("/opt/kiosk/venv/bin/kiosk doctor --config /etc/kiosk/config.yaml --json >/tmp/doctor.json || true")
    report = json.loads((root.path / "tmp" / "doctor.json").read_text())
    return {check["name"]: check for check in report["checks"]}


def assert_doctor_passes(root: Root) -> None:
    checks = doctor(root)
    statuses = {name: check["status"] for name, check in checks.items()}
    failed = {name: checks[name]["detail"] for name, status in statuses.items() if status == "fail"}
    assert failed.keys() <= HARDWARE_CHECKS, f"doctor failed beyond the missing hardware: {failed}"
    assert {name for name in MUST_PASS if statuses.get(name) != "pass"} == set(), statuses


def scenario(root: Root, config: str = "sim.yaml") -> None:
    # run_scenario exits non-zero when a step does not reach its screen, which `sh -e` reports.
    out = root.sh(SCENARIO.format(config=config))
    written = re.search(r"^(\d+) screens written to /root/sim/out$", out, re.MULTILINE)
    assert written, out
    assert int(written[1]) >= 10
    assert len(list((root.path / "root/sim/out").glob("*.png"))) == int(written[1])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Roots are a few hundred MB each: a passing test deletes its own, a failing one leaves it to look at.
    return tmp_path_factory.mktemp("deb")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse(script: Path) -> None:
    shell = "sh" if script.parent.name == "debian" else "bash"
    run([shell, "-n", script], timeout=30)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (apt install shellcheck)")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_pass_shellcheck(script: Path) -> None:
    run(["shellcheck", script], timeout=60)


def test_build_script_rejects_bad_arguments() -> None:
    for argv in (["--arch", "i386", "--version", "1"], ["--arch", "arm64", "--version", "not a version"], []):
        proc = subprocess.run(["bash", str(BUILD), *argv], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2, (argv, proc.stderr)


ARCHES = [
    pytest.param("amd64", id="amd64"),
    pytest.param(
        "arm64",
        id="arm64",
        marks=pytest.mark.skipif(not FULL, reason="arm64 under emulation: KIOSK_FULL_PACKAGE_TESTS=1"),
    ),
]


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("arch", ARCHES)
def test_install_upgrade_rollback(arch: str, workdir: Path) -> None:
    if missing := missing_tools(arch):
        pytest.skip(f"missing {' '.join(missing)} (apt-get install debootstrap proot apt-utils qemu-user-static)")
    if os.geteuid() != 0:
        pytest.skip("debootstrap needs root")
    timings = Timings(f"{arch} {'full' if FULL else 'reduced'}")
    # The roots run as real root under proot, which passes mounts through to the kernel: nothing
    # done in them may unmount the host's devpts (it once did, and every later pty test failed).
    pts_mounted = os.path.ismount("/dev/pts")
    out = workdir / arch
    out.mkdir()
    old = build(V1, arch, out)
    new = build(V2, arch, out) if FULL else rebuild_with_version(old, V2, out)
    timings.lap("build")
    root = Root(arch, out / "root", out / "repo")
    root.publish(old)
    timings.lap("root")

    # Install: the venv's requirements hold on the target (pip evaluated markers on the build
    # machine), the user exists, this device's voucher key was made, nothing else in /etc/kiosk/keys.
    root.install(V1)
    assert root.dpkg_status() == f"{V1} install ok installed"
    root.sh("/opt/kiosk/venv/bin/python -m pip check && kiosk --version")
    assert "kiosk:x:" in root.accounts() and "kiosk-touch:x:" in root.accounts()
    assert sorted(p.name for p in (root.path / "etc/kiosk/keys").iterdir()) == [
        "voucher_signing.pem",
        "voucher_signing.pub.pem",
    ]
    timings.lap("install")

    # postinst is idempotent: configuring again changes nothing.
    before = (root.fingerprint(), root.accounts(), (root.path / "var/lib/membership-kiosk/masked-units").read_text())
    root.sh(f"/var/lib/dpkg/info/{PACKAGE}.postinst configure {V1} >/dev/null")
    after = (root.fingerprint(), root.accounts(), (root.path / "var/lib/membership-kiosk/masked-units").read_text())
    assert after == before

    # A configured device: its own id and HQ password, HQ's keys, a ledger the scenario filled.
    write_simulation(root)
    root.sh(SIMULATION_SETUP)
    scenario(root)
    root.sh(AFTER_SETUP)
    timings.lap("scenario")
    config = root.path / "etc/kiosk/config.yaml"
    config.write_text(config.read_text().replace("id: kiosk-CHANGE-ME", "id: kiosk-test-01"))
    with (root.path / "etc/kiosk/kiosk.env").open("a") as env:
        env.write("KIOSK_HQ_PASSWORD=test-only\n")
    assert_doctor_passes(root)
    timings.lap("doctor")
    kept = root.fingerprint()
    assert {"/etc/kiosk/keys/card_master.key", "/var/lib/kiosk/ledger.db"} <= kept.keys()

    # Upgrade, then roll back: the modified conffiles, the keys and the ledger stay byte for byte.
    root.publish(new)
    root.install(V2)
    assert root.dpkg_status() == f"{V2} install ok installed"
    assert root.fingerprint() == kept
    timings.lap("upgrade")
    if FULL:
        assert_doctor_passes(root)
    root.install(V1, "--allow-downgrades")
    assert root.dpkg_status() == f"{V1} install ok installed"
    assert root.fingerprint() == kept
    assert "id: kiosk-test-01" in config.read_text()
    timings.lap("rollback")

    if FULL:
        assert_doctor_passes(root)
        scenario(root, "sim-again.yaml")  # the rolled-back code, on a ledger of its own
        assert root.fingerprint() == kept
        # remove: code and masks go; config, keys, ledger and the user stay.
        root.sh(f"{APT} remove {PACKAGE}")
        assert root.dpkg_status().endswith("deinstall ok config-files")
        assert not (root.path / "opt/kiosk").exists()
        assert not (root.path / "etc/systemd/system/getty@.service").is_symlink()
        assert root.fingerprint() == kept
        assert "kiosk:x:" in root.accounts()
        # purge: config, keys and ledger go too.
        root.sh(f"{APT} purge {PACKAGE}")
        assert not (root.path / "etc/kiosk").exists()
        assert not (root.path / "var/lib/kiosk").exists()
        timings.lap("remove+purge")
    shutil.rmtree(out)
    print(timings.report())
    assert os.path.ismount("/dev/pts") == pts_mounted, "the package's root unmounted the host's /dev/pts"
