"""The Debian package, built and installed on this machine as an operator would (issue 19 part 3).

Builds rtgw_<version>_<arch>.deb with CPack (`cmake --build BUILD --target package`; BUILD is
$RTGW_BUILD_DIR, default build/release), checks what it holds (control fields, the dependencies
dpkg-shlibdeps found, paths, owners, modes, conffiles, a stripped binary with its symbols in the
.ddeb, Debian's hardening flags in that binary), runs lintian on it when lintian is installed, then installs it with dpkg (root; CI's
machine is fresh) and checks the installed system: the user rtgw, owners and modes, `dpkg -s`,
the env files against the binary's --help, the man pages through man's own warnings,
`systemd-analyze verify` and `systemd-analyze security --offline` on the units. This machine has
no systemd as PID 1, so the services are started the way their units say: the unit file is read
and its User, Group, EnvironmentFile, StateDirectory, WorkingDirectory, UMask, NoNewPrivileges and
empty CapabilityBoundingSet are applied with setpriv. The installed `rtgw serve` answers
/api/health on its SQLite file in /var/lib/rtgw and passes scripts/submit-smoke.sh (a job from
submit to completed) with tokens minted from the installed env file; the agent and the relay
refuse to start, naming the setting, until configured. At the end the package is removed and
purged and the machine is as it was (the user rtgw is deleted when this test created it).

Run (root):  RTGW_BUILD_DIR=build/release /usr/bin/python3 -m pytest tests/package -q
It refuses to run on a machine where the package rtgw, /etc/rtgw or /var/lib/rtgw* already exist:
those are not its to replace or purge.
"""
from __future__ import annotations

import dataclasses
import gzip
import json
import os
import pwd
import grp
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RTGW_BUILD_DIR", ROOT / "build" / "release")).resolve()
UNIT_DIR = Path("/usr/lib/systemd/system")
UNITS = ["rtgw-serve.service", "rtgw-relay.service", "rtgw-agent.service"]
ENV_FILES = ["/etc/rtgw/serve.env", "/etc/rtgw/relay.env", "/etc/rtgw/agent.env"]
STATE_PATHS = [Path("/etc/rtgw"), Path("/var/lib/rtgw"), Path("/var/lib/rtgw-agent")]
# `systemd-analyze security --offline` exposure (0 = fully locked down, 10 = unprotected) that a
# unit must stay at or below: measured 1.5 (serve), 1.5 (relay), 1.6 (agent) in 2026-12.
MAX_EXPOSURE = {"rtgw-serve.service": 2.0, "rtgw-relay.service": 2.0, "rtgw-agent.service": 2.0}
# What systemd puts in a service's environment besides its EnvironmentFile (User= adds the rest).
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
START_TIMEOUT_S = 20.0


def run(cmd: list[str], *, check: bool = True, timeout: float = 120.0, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise AssertionError(f"{shlex.join(cmd)} exited {res.returncode}\n"
                             f"stdout:\n{res.stdout[-4000:]}\nstderr:\n{res.stderr[-4000:]}")
    return res


def control_fields(text: str) -> dict[str, str]:
    """RFC 822 style fields of `dpkg-deb -f` / `dpkg -s` (continuation lines joined)."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def depends_packages(depends: str) -> list[list[str]]:
    """Depends: 'a (>= 1), b | c' -> [['a'], ['b', 'c']] (names only)."""
    return [[alt.split("(")[0].strip() for alt in group.split("|")]
            for group in depends.split(",") if group.strip()]


def library_package(path: str) -> str:
    """The installed package that ships a library file. dpkg records the path it unpacked, and with
    merged /usr that may be /lib/... for a file found as /usr/lib/... (or the other way round)."""
    real = os.path.realpath(path)
    for candidate in dict.fromkeys([path, real, real.removeprefix("/usr"), "/usr" + real]):
        res = run(["dpkg", "-S", candidate], check=False)
        if res.returncode == 0:
            return res.stdout.split(":")[0]
    raise AssertionError(f"no installed package ships {path}")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> values (a key may repeat; an empty value is kept)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def read_env_file(path: str) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile= reads the files this package writes."""
    out = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def env_keys_listed(path: str) -> tuple[set[str], set[str]]:
    """(every KEY of a `KEY=` or `#KEY=` line, the keys set without #)."""
    listed, active = set(), set()
    for line in Path(path).read_text().splitlines():
        m = re.match(r"^(#?)([A-Z_][A-Z0-9_]*)=", line)
        if m:
            listed.add(m.group(2))
            if not m.group(1):
                active.add(m.group(2))
    return listed, active


def help_env_names(words: list[str]) -> set[str]:
    text = run(["/usr/bin/rtgw", *words, "--help"]).stdout
    return set(re.findall(r"\(env ([A-Z_][A-Z0-9_]*)", text))


def help_flags(words: list[str]) -> list[str]:
    text = run(["/usr/bin/rtgw", *words, "--help"]).stdout
    return re.findall(r"^  --([a-z0-9-]+)", text, re.M)


def command_words(unit: dict) -> list[str]:
    """`rtgw relay run` -> ['relay'] (whose --help lists the options of `relay run`)."""
    argv = shlex.split(unit["Service"]["ExecStart"][0])
    assert argv[0] == "/usr/bin/rtgw", argv
    return argv[1:2]


# --------------------------------------------------------------------------------------------
# the package file
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Deb:
    path: Path
    ddeb: Path
    version: str
    arch: str
    build_seconds: float
    fields: dict[str, str]


@pytest.fixture(scope="module")
def deb() -> Deb:
    cache = (BUILD / "CMakeCache.txt").read_text()
    version = re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(.+)$", cache, re.M).group(1)
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    path = BUILD / f"rtgw_{version}_{arch}.deb"
    ddeb = BUILD / f"rtgw-dbgsym_{version}_{arch}.ddeb"
    for p in (path, ddeb):
        p.unlink(missing_ok=True)
    t0 = time.monotonic()
    run(["cmake", "--build", str(BUILD), "--target", "package"], timeout=3600)
    seconds = time.monotonic() - t0
    print(f"cmake --build {BUILD} --target package: {seconds:.1f} s")
    assert path.is_file(), f"{path} was not written"
    fields = control_fields(run(["dpkg-deb", "-f", str(path)]).stdout)
    return Deb(path, ddeb, version, arch, seconds, fields)


def test_control_fields_and_library_dependencies(deb):
    f = deb.fields
    assert f["Package"] == "rtgw"
    assert f["Version"] == deb.version, "the package version is the project's (CMakeLists.txt)"
    assert f["Architecture"] == deb.arch
    assert f["Maintainer"] and f["Description"].startswith("runtime gateway")
    groups = depends_packages(f["Depends"])
    assert ["adduser"] in groups, f["Depends"]
    # Every shared library the binary needs is provided by a package in Depends (dpkg-shlibdeps).
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                        run(["readelf", "-d", str(BUILD / "src/app/rtgw")]).stdout)
    assert "libsqlite3.so.0" in needed and "libpq.so.5" in needed, needed
    ldconfig = run(["ldconfig", "-p"]).stdout
    depended = {name for group in groups for name in group}
    for soname in needed:
        m = re.search(rf"^\s+{re.escape(soname)} \(libc6,x86-64[^)]*\) => (\S+)$", ldconfig, re.M)
        assert m, f"{soname} not in ldconfig's cache"
        owner = library_package(m.group(1))
        assert owner in depended, f"{soname} comes from {owner}, which Depends does not name: " \
                                  f"{f['Depends']}"
    assert re.search(r"libc6 \(>= [0-9.]+\)", f["Depends"]), "shlibdeps gives versioned deps"


def test_contents_paths_modes_and_control_files(deb, tmp_path):
    listing = {}
    with tarfile.open(fileobj=subprocess.Popen(
            ["dpkg-deb", "--fsys-tarfile", str(deb.path)], stdout=subprocess.PIPE).stdout,
            mode="r|") as tar:
        for member in tar:
            name = member.name.removeprefix(".").rstrip("/") or "/"
            listing[name] = member
            if name == "/usr/bin/rtgw":
                (tmp_path / "rtgw").write_bytes(tar.extractfile(member).read())
    expected = ["/usr/bin/rtgw", "/usr/lib/sysusers.d/rtgw.conf",
                "/usr/share/doc/rtgw/copyright", "/usr/share/doc/rtgw/changelog.gz",
                "/usr/share/doc/rtgw/README.md", "/usr/share/doc/rtgw/agent.md",
                "/usr/share/doc/rtgw/operations.md", "/usr/share/doc/rtgw/openapi.json",
                "/usr/share/doc/rtgw/contracts/http-api.md",
                "/usr/share/doc/rtgw/contracts/agent-protocol.md",
                "/usr/share/man/man1/rtgw.1.gz", "/usr/share/man/man1/rtgw-serve.1.gz",
                "/usr/share/man/man1/rtgw-relay.1.gz", "/usr/share/man/man1/rtgw-agent.1.gz",
                *ENV_FILES, *(str(UNIT_DIR / u) for u in UNITS)]
    missing = [p for p in expected if p not in listing]
    assert not missing, f"missing from the package: {missing}"
    for name, m in listing.items():
        assert name.startswith(("/usr/bin/", "/usr/lib/", "/usr/share/", "/etc/rtgw")) or \
            name in ("/", "/usr", "/etc", "/usr/bin", "/usr/lib", "/usr/share"), name
        assert (m.uname, m.gname, m.uid, m.gid) == ("root", "root", 0, 0), name
        if m.isdir():
            assert m.mode == 0o755, f"{name}: {oct(m.mode)}"
        elif name in ENV_FILES:
            assert m.mode == 0o640, f"{name}: {oct(m.mode)} (may hold secrets)"
        elif name == "/usr/bin/rtgw":
            assert m.mode == 0o755
        else:
            assert m.mode == 0o644, f"{name}: {oct(m.mode)}"
    # Stripped, with a debuglink to the symbols that the .ddeb carries under its build id.
    sections = run(["readelf", "-S", "-W", str(tmp_path / "rtgw")]).stdout
    assert ".debug_info" not in sections and ".gnu_debuglink" in sections
    build_id = re.search(r"Build ID: ([0-9a-f]+)",
                         run(["readelf", "-n", str(tmp_path / "rtgw")]).stdout).group(1)
    assert deb.ddeb.is_file(), f"{deb.ddeb} was not written"
    ddeb_files = run(["dpkg-deb", "-c", str(deb.ddeb)]).stdout
    assert f"/usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug" in ddeb_files
    # Control files: the env files are conffiles; the maintainer scripts are executable.
    control = tmp_path / "control"
    run(["dpkg-deb", "-e", str(deb.path), str(control)])
    assert (control / "conffiles").read_text().split() == ENV_FILES
    for script in ("postinst", "prerm", "postrm"):
        assert (control / script).stat().st_mode & 0o777 == 0o755, script
        run(["sh", "-n", str(control / script)])


def test_binary_is_built_with_debians_hardening_flags(deb, tmp_path):
    """The packaged binary has what dpkg-buildflags' hardening=+all gives Debian's own packages
    (cmake/ProjectOptions.cmake RTGW_HARDENING): PIE, full RELRO with immediate binding, a
    non-executable stack, stack protector canaries and _FORTIFY_SOURCE's checked calls."""
    run(["dpkg-deb", "-x", str(deb.path), str(tmp_path)])
    binary = str(tmp_path / "usr/bin/rtgw")
    header = run(["readelf", "-h", "-W", binary]).stdout
    assert re.search(r"Type:\s+DYN", header), "a position-independent executable"
    segments = run(["readelf", "-l", "-W", binary]).stdout
    assert "GNU_RELRO" in segments, "RELRO"
    stack = re.search(r"GNU_STACK(?:\s+\S+){5}\s+(\S+)", segments)
    assert stack and "E" not in stack.group(1), f"non-executable stack: {stack and stack.group(0)}"
    dynamic = run(["readelf", "-d", "-W", binary]).stdout
    assert re.search(r"\(FLAGS\).*BIND_NOW", dynamic) or re.search(r"\(FLAGS_1\).*\bNOW\b", dynamic), \
        "immediate binding (-z now), so all of the GOT is read-only after start"
    symbols = run(["readelf", "--dyn-syms", "-W", binary]).stdout
    assert "__stack_chk_fail" in symbols, "-fstack-protector-strong"
    checked = sorted(set(re.findall(r"\b(__\w+_chk)\b", symbols)) - {"__stack_chk_fail"})
    assert checked, "_FORTIFY_SOURCE=2: no checked libc call (__*_chk) is imported"
    print(f"fortified libc calls: {', '.join(checked)}")


def test_lintian(deb):
    """lintian (Debian's package checker): no errors. Its warnings are printed, for the report."""
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (scripts/install-deps.sh --package installs it)")
    res = run(["lintian", "--no-tag-display-limit", "--display-info", str(deb.path)],
              check=False, timeout=600)
    tags = [line for line in res.stdout.splitlines() if re.match(r"^[EWIP]: ", line)]
    print("lintian:\n" + "\n".join(tags))
    errors = [t for t in tags if t.startswith("E: ")]
    assert not errors, "lintian errors:\n" + "\n".join(errors) + "\n" + res.stderr[-2000:]


# --------------------------------------------------------------------------------------------
# installed on this machine
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Installed:
    deb: Deb
    user_existed: bool
    group_existed: bool
    purged: bool = False
    procs: list = dataclasses.field(default_factory=list)


def package_state() -> str:
    res = run(["dpkg-query", "-W", "-f=${Status}", "rtgw"], check=False)
    return res.stdout.strip() if res.returncode == 0 else "not-installed"


def user_exists(name: str) -> bool:
    return run(["getent", "passwd", name], check=False).returncode == 0


def group_exists(name: str) -> bool:
    return run(["getent", "group", name], check=False).returncode == 0


@pytest.fixture(scope="module")
def installed(deb):
    if os.geteuid() != 0:
        pytest.skip("installing a .deb needs root (CI runs as root)")
    state = package_state()
    if state not in ("not-installed", "unknown ok not-installed"):
        pytest.fail(f"the package rtgw is already on this machine ({state}): this test installs "
                    "and purges it, so it leaves an existing installation alone")
    existing = [str(p) for p in STATE_PATHS if p.exists()]
    if existing:
        pytest.fail(f"{existing} already exist: this test's purge would delete them")
    inst = Installed(deb, user_existed=user_exists("rtgw"), group_existed=group_exists("rtgw"))
    try:
        t0 = time.monotonic()
        res = run(["dpkg", "-i", str(deb.path)], timeout=300)
        print(f"dpkg -i: {time.monotonic() - t0:.1f} s\n{res.stdout}{res.stderr}")
        yield inst
    finally:
        for proc in inst.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if package_state() not in ("not-installed", "unknown ok not-installed"):
            run(["dpkg", "--purge", "rtgw"], check=False, timeout=300)
        for p in STATE_PATHS:  # a purge that failed must not leave them for the next run
            shutil.rmtree(p, ignore_errors=True)
        if not inst.user_existed and user_exists("rtgw"):
            run(["userdel", "rtgw"], check=False)
        if not inst.group_existed and group_exists("rtgw"):
            run(["groupdel", "rtgw"], check=False)


def test_postinst_created_the_system_user(installed):
    pw = pwd.getpwnam("rtgw")
    gr = grp.getgrnam("rtgw")
    login_defs = Path("/etc/login.defs").read_text() if Path("/etc/login.defs").exists() else ""
    m = re.search(r"^SYS_UID_MAX\s+(\d+)", login_defs, re.M)
    assert pw.pw_uid <= int(m.group(1) if m else 999), f"not a system uid: {pw.pw_uid}"
    assert pw.pw_gid == gr.gr_gid
    assert pw.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin"), pw.pw_shell
    assert pw.pw_dir == "/var/lib/rtgw"


def test_installed_files_owners_modes_and_dpkg_status(installed):
    rtgw_gid = grp.getgrnam("rtgw").gr_gid

    def owner_mode(path):
        st = os.stat(path)
        return st.st_uid, st.st_gid, st.st_mode & 0o7777

    assert owner_mode("/usr/bin/rtgw") == (0, 0, 0o755)
    for env in ENV_FILES:
        assert owner_mode(env) == (0, rtgw_gid, 0o640), f"{env}: root:rtgw 0640 expected"
    for unit in UNITS:
        assert owner_mode(UNIT_DIR / unit) == (0, 0, 0o644), unit
    assert owner_mode("/usr/lib/sysusers.d/rtgw.conf") == (0, 0, 0o644)
    version = run(["/usr/bin/rtgw", "version"]).stdout.strip()
    assert version == f"rtgw {installed.deb.version}"
    status = control_fields(run(["dpkg", "-s", "rtgw"]).stdout)
    assert status["Status"] == "install ok installed"
    assert status["Version"] == installed.deb.version
    assert status["Depends"] == installed.deb.fields["Depends"]
    conffiles = [line.split()[0] for line in status["Conffiles"].splitlines() if line.strip()]
    assert sorted(conffiles) == sorted(ENV_FILES), status["Conffiles"]
    # Every dependency group is satisfied on this machine: an installed package, or one that
    # provides the name (systemd provides systemd-sysusers).
    present = set()
    rows = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Package}|${Provides}\n"]).stdout
    for row in rows.splitlines():
        abbrev, name, provides = row.split("|")
        if abbrev.startswith("ii"):
            present.add(name)
            present.update(p.split("(")[0].strip() for p in provides.split(",") if p.strip())
    for group in depends_packages(status["Depends"]):
        assert present & set(group), f"no package of {group} is installed"


def test_env_files_list_every_setting_and_write_only_the_state_directory(installed):
    for unit_name in UNITS:
        unit = parse_unit(UNIT_DIR / unit_name)
        service = unit["Service"]
        (env_path,) = service["EnvironmentFile"]
        listed, active = env_keys_listed(env_path)
        expected = help_env_names(command_words(unit))
        assert expected - listed == set(), f"{env_path} lacks {sorted(expected - listed)}"
        assert listed - expected == set(), f"{env_path} has unknown {sorted(listed - expected)}"
        # A path the package sets for the service must be writable under ProtectSystem=strict:
        # inside the unit's StateDirectory (or /etc/rtgw, read only, for a token file).
        state_dirs = [f"/var/lib/{d}" for d in service.get("StateDirectory", [])]
        values = read_env_file(env_path)
        for key in active:
            value = values[key].removeprefix("sqlite://")
            if value.startswith("/") and not value.startswith("/etc/rtgw/"):
                assert any(value == d or value.startswith(d + "/") for d in state_dirs), \
                    f"{env_path}: {key}={values[key]} is outside {unit_name}'s StateDirectory"


def test_man_pages_render_without_warnings_and_list_every_option(installed):
    if shutil.which("man") is None:
        pytest.skip("man-db is not installed")
    pages = sorted(Path("/usr/share/man/man1").glob("rtgw*.1.gz"))
    assert len(pages) >= 4, pages
    for page in pages:
        # As lintian checks pages: groff's warnings on stderr.
        res = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(page)],
                  env={**os.environ, "MANWIDTH": "80", "LC_ALL": "C.UTF-8"})
        assert res.stderr.strip() == "", f"{page.name}: {res.stderr}"
    for words in (["serve"], ["relay"], ["agent"]):
        text = gzip.decompress(Path(f"/usr/share/man/man1/rtgw-{words[0]}.1.gz").read_bytes())
        text = text.decode()
        missing = [f for f in help_flags(words) if f"\\-\\-{f.replace('-', chr(92) + '-')}"
                   not in text]
        assert not missing, f"rtgw-{words[0]}.1 lacks {missing}"
    # man finds them by name through its usual path.
    res = run(["man", "-w", "rtgw-serve"], env={**os.environ, "MANPATH": "/usr/share/man"})
    assert res.stdout.strip() == "/usr/share/man/man1/rtgw-serve.1.gz"


def test_units_pass_systemd_analyze_verify(installed):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    res = run(["systemd-analyze", "verify", *(str(UNIT_DIR / u) for u in UNITS)], check=False)
    print(res.stdout + res.stderr)
    assert res.returncode == 0, res.stdout + res.stderr
    ours = [line for line in res.stderr.splitlines() if "rtgw" in line]
    assert not ours, "systemd-analyze verify complains about our units:\n" + "\n".join(ours)


def test_units_are_hardened(installed):
    for unit_name in UNITS:
        svc = parse_unit(UNIT_DIR / unit_name)["Service"]
        for key, value in {"User": "rtgw", "Group": "rtgw", "NoNewPrivileges": "yes",
                           "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                           "PrivateDevices": "yes", "CapabilityBoundingSet": "",
                           "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
                           "RestrictSUIDSGID": "yes", "SystemCallArchitectures": "native"
                           }.items():
            assert svc.get(key) == [value], f"{unit_name}: {key}={svc.get(key)}, want {value!r}"
        assert Path(svc["EnvironmentFile"][0]).is_file()
        assert "ExecStart" in svc and shlex.split(svc["ExecStart"][0])[0] == "/usr/bin/rtgw"
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for unit_name in UNITS:
        res = run(["systemd-analyze", "security", "--offline=yes", str(UNIT_DIR / unit_name)],
                  check=False)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", res.stdout)
        assert m, res.stdout + res.stderr
        print(f"{unit_name}: exposure {m.group(1)}")
        assert float(m.group(1)) <= MAX_EXPOSURE[unit_name], res.stdout


# ---- starting the installed binary the way its unit would -----------------------------------
def start_as_unit(installed: Installed, unit_name: str, log: Path) -> subprocess.Popen:
    """Starts the unit's ExecStart as systemd would without PID 1 to ask: the unit's User and
    Group, its EnvironmentFile, its StateDirectory created as systemd creates it (owned by the
    user, StateDirectoryMode), its WorkingDirectory and UMask, no new privileges and an empty
    capability bounding set (setpriv)."""
    svc = parse_unit(UNIT_DIR / unit_name)["Service"]
    pw = pwd.getpwnam(svc["User"][0])
    gid = grp.getgrnam(svc["Group"][0]).gr_gid
    for name in svc.get("StateDirectory", []):
        path = Path("/var/lib") / name
        if not path.exists():
            path.mkdir(mode=int(svc.get("StateDirectoryMode", ["0755"])[0], 8))
            os.chown(path, pw.pw_uid, gid)
    env = {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8", "HOME": pw.pw_dir, "USER": pw.pw_name,
           "LOGNAME": pw.pw_name, "SHELL": pw.pw_shell}
    for env_file in svc.get("EnvironmentFile", []):
        env.update(read_env_file(env_file.removeprefix("-")))
    assert svc["NoNewPrivileges"] == ["yes"] and svc["CapabilityBoundingSet"] == [""]
    cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={gid}", "--init-groups",
           "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--",
           *shlex.split(svc["ExecStart"][0])]
    umask = int(svc.get("UMask", ["0022"])[0], 8)
    cwd = svc.get("WorkingDirectory", ["/"])[0]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: os.umask(umask))
    installed.procs.append(proc)
    return proc


def operator_sets(env_file: str, settings: dict[str, str]) -> None:
    """What an operator does before enabling a unit: adds settings to its env file."""
    with open(env_file, "a") as f:
        f.write("\n# set by tests/package/test_deb.py, as an operator would\n")
        for key, value in settings.items():
            f.write(f"{key}={value}\n")


def test_installed_serve_starts_like_its_unit_and_serves_a_job(installed, tmp_path):
    svc = parse_unit(UNIT_DIR / "rtgw-serve.service")["Service"]
    env_file = svc["EnvironmentFile"][0]
    state = Path("/var/lib") / svc["StateDirectory"][0]
    operator_sets(env_file, {
        "RTGW_JWT_HS256_SECRET": secrets.token_hex(32),
        # port 0 and a port file in the state directory: no clash with anything on this machine
        "RTGW_LISTEN": "127.0.0.1:0",
        "RTGW_PORT_FILE": str(state / "port"),
    })
    log = tmp_path / "serve.log"
    proc = start_as_unit(installed, "rtgw-serve.service", log)
    port_file = state / "port"
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (port_file.exists() and port_file.read_text().strip().isdigit()):
        assert proc.poll() is None, f"rtgw serve exited {proc.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no port file after {START_TIMEOUT_S}s:\n" \
                                            f"{log.read_text()}"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{int(port_file.read_text())}"

    # It runs as rtgw with no new privileges and no capabilities, as the unit says.
    status = Path(f"/proc/{proc.pid}/status").read_text()
    uid = pwd.getpwnam("rtgw").pw_uid
    assert re.search(rf"^Uid:\s+{uid}\s+{uid}\s+{uid}\s+{uid}$", status, re.M), status
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M)
    assert re.search(r"^CapBnd:\s+0+$", status, re.M)

    with urllib.request.urlopen(f"{base}/api/health?deep=1", timeout=10) as r:
        assert r.status == 200
        health = json.loads(r.read())
    assert health["status"] == "ok", health
    assert health["version"] == installed.deb.version
    assert health["checks"]["store"]["backend"] == "sqlite"
    db = Path(read_env_file(env_file)["RTGW_DATABASE_URL"].removeprefix("sqlite://"))
    assert db.parent == state and db.is_file(), db
    st = db.stat()
    assert (st.st_uid, st.st_mode & 0o777) == (uid, 0o640), "owned by rtgw, UMask=0027"

    # A job from submit to completed, tokens minted by the installed binary from the env file.
    smoke = run([str(ROOT / "scripts/submit-smoke.sh"), "--secrets", env_file, "--base-url", base,
                 "--rtgw", "/usr/bin/rtgw"], check=False, timeout=120)
    assert smoke.returncode == 0 and "SMOKE PASS" in smoke.stdout, smoke.stdout + smoke.stderr

    proc.send_signal(signal.SIGTERM)  # KillSignal=SIGTERM
    assert proc.wait(timeout=float(svc["TimeoutStopSec"][0])) == 0, log.read_text()


@pytest.mark.parametrize("unit_name,setting", [("rtgw-agent.service", "--gateway-url: required"),
                                               ("rtgw-relay.service", "RTGW_PROJECTION_URL")])
def test_unconfigured_service_refuses_naming_the_setting(installed, tmp_path, unit_name, setting):
    log = tmp_path / "out.log"
    proc = start_as_unit(installed, unit_name, log)
    assert proc.wait(timeout=30) == 2, log.read_text()
    assert setting in log.read_text(), log.read_text()


def test_reinstall_keeps_the_operators_env_file(installed):
    marker = f"# operator's note {secrets.token_hex(4)}"
    with open("/etc/rtgw/agent.env", "a") as f:
        f.write(marker + "\n")
    uid = pwd.getpwnam("rtgw").pw_uid
    run(["dpkg", "-i", str(installed.deb.path)], timeout=300)
    assert marker in Path("/etc/rtgw/agent.env").read_text()
    st = os.stat("/etc/rtgw/agent.env")
    assert (st.st_gid, st.st_mode & 0o777) == (grp.getgrnam("rtgw").gr_gid, 0o640)
    assert pwd.getpwnam("rtgw").pw_uid == uid, "the user is kept"


def test_remove_then_purge_leaves_the_machine_as_found(installed):
    run(["dpkg", "--remove", "rtgw"], timeout=300)
    assert not Path("/usr/bin/rtgw").exists()
    assert not (UNIT_DIR / "rtgw-serve.service").exists()
    assert all(Path(p).exists() for p in ENV_FILES), "remove keeps the conffiles"
    assert package_state() == "deinstall ok config-files"
    run(["dpkg", "--purge", "rtgw"], timeout=300)
    assert package_state() in ("not-installed", "unknown ok not-installed")
    left = [str(p) for p in STATE_PATHS if p.exists()]
    assert not left, f"purge left {left}"
    installed.purged = True
