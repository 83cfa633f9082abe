#!/usr/bin/python3
"""Writes the package's generated files from the `--help` texts of the built rtgw binary.

The help text is where every option lives (flag, environment variable, default, meaning:
config::FormatHelp), so the man pages and the env files are made from it at build time and never
drift from the binary they ship with:

  OUT/man/man1/rtgw.1.gz, rtgw-<command>.1.gz   one page per command of `rtgw --help` (and the
                                                token subcommands), gzip -9n as Debian wants
  OUT/env/serve.env, relay.env, agent.env       /etc/rtgw/*.env: EVERY environment variable of
                                                `rtgw serve|relay|agent --help`, commented out
                                                at its default, with its help text; the few the
                                                package sets come from deploy/debian/*.env.in
  OUT/changelog.gz                              /usr/share/doc/rtgw/changelog.gz

usage: gen_package_files.py --rtgw BIN --version V --maintainer M --templates DIR --out DIR
Fails (exit 1, naming it) when a template sets a variable the command does not have (renamed or
removed option) or a help text does not parse: the build stops instead of shipping a stale file.
"""
from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

# The commands that run as services: their env file, unit and state directory. The units in
# deploy/systemd/ name the same files (EnvironmentFile=, StateDirectory=); tests/package checks it.
SERVICES = {
    "serve": ("serve.env", "rtgw-serve.service", "/var/lib/rtgw"),
    "relay": ("relay.env", "rtgw-relay.service", None),
    "agent": ("agent.env", "rtgw-agent.service", "/var/lib/rtgw-agent"),
}
# Subcommands `rtgw --help` does not list that have a help text of their own.
EXTRA_PAGES = [("token", "issue"), ("token", "revoke"), ("token", "jwks")]


@dataclass
class Option:
    flag: str                # "listen"
    takes_value: bool
    help: list[str] = field(default_factory=list)
    env: str = ""
    default: str = ""


@dataclass
class Help:
    usage: list[str]
    description: list[str]   # lines as printed (blank lines separate paragraphs)
    options: list[Option]
    commands: list[tuple[str, str]]  # ("store copy", "Copy a store ...") for `rtgw --help`


def fail(message: str) -> None:
    print(f"gen_package_files: {message}", file=sys.stderr)
    sys.exit(1)


def run_help(rtgw: str, words: tuple[str, ...]) -> str | None:
    """stdout of `rtgw WORDS --help`, or None when it is not a help text (exit != 0)."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
    res = subprocess.run([rtgw, *words, "--help"], capture_output=True, text=True, env=env,
                         timeout=30)
    if res.returncode != 0 or not res.stdout.startswith("usage:"):
        return None
    return res.stdout


OPTION_HEAD = re.compile(r"^  --([A-Za-z0-9][A-Za-z0-9-]*)( VALUE)?$")
OPTION_META = re.compile(r"^\((?:env ([A-Z_][A-Z0-9_]*))?(?:; )?(?:default (.*))?\)$")
SECTION = re.compile(r"^([a-z][a-z ]*):$")
COMMAND_ROW = re.compile(r"^  (\S+(?: \S+)?)\s{2,}(\S.*)$")


def parse_help(text: str) -> Help:
    """Parses config::FormatHelp's layout (and main.cpp's command list):
    usage: U [continuation lines]  /  blank  /  description  /  "options:" entries of
    "  --flag[ VALUE]", "      help", optional "      (env X; default Y)"."""
    lines = text.rstrip("\n").split("\n")
    usage = [lines[0][len("usage:"):].strip()]
    i = 1
    while i < len(lines) and lines[i].strip():
        usage.append(lines[i].strip())
        i += 1
    description: list[str] = []
    options: list[Option] = []
    commands: list[tuple[str, str]] = []
    section = None
    for line in lines[i:]:
        m = SECTION.match(line)
        if m and m.group(1) in ("options", "commands"):
            section = m.group(1)
            continue
        if section == "options":
            head = OPTION_HEAD.match(line)
            if head:
                options.append(Option(head.group(1), head.group(2) is not None))
            elif line.startswith("      ") and options:
                options[-1].help.append(line.strip())
            elif line.strip():
                fail(f"unexpected line in the options: {line!r}")
        elif section == "commands":
            row = COMMAND_ROW.match(line)
            if row:
                commands.append((row.group(1), row.group(2)))
            elif line.startswith("    ") and commands and line.strip():
                name, desc = commands[-1]
                commands[-1] = (name, desc + " " + line.strip())
            else:
                section = None
                description.append(line)
        else:
            description.append(line)
    for opt in options:  # the last help line may be the "(env X; default Y)" line
        if opt.help:
            meta = OPTION_META.match(opt.help[-1])
            if meta and (meta.group(1) or meta.group(2) is not None):
                opt.env = meta.group(1) or ""
                opt.default = meta.group(2) or ""
                opt.help.pop()
    options = [o for o in options if o.flag != "help"]
    while description and not description[0].strip():
        description.pop(0)
    while description and not description[-1].strip():
        description.pop()
    return Help(usage, description, options, commands)


# ---------------------------------------------------------------------------------------------
# man pages
# ---------------------------------------------------------------------------------------------
def roff(text: str) -> str:
    """Text for a roff line: backslashes, minus signs, and a leading control character."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    if out.startswith((".", "'")):
        out = "\\&" + out
    return out


def page_name(words: tuple[str, ...]) -> str:
    return "-".join(("rtgw",) + words)


def render_description(lines: list[str]) -> list[str]:
    """Plain lines fill into paragraphs; indented lines (examples, lists) keep their layout."""
    out: list[str] = []
    verbatim = False
    for line in lines:
        if not line.strip():
            if verbatim:
                out.append(".fi")
                verbatim = False
            out.append(".PP")
            continue
        indented = line.startswith(" ")
        if indented and not verbatim:
            out.append(".nf")
            verbatim = True
        elif not indented and verbatim:
            out.append(".fi")
            verbatim = False
        out.append(roff(line))
    if verbatim:
        out.append(".fi")
    return out


def man_page(words: tuple[str, ...], summary: str, h: Help, version: str, date: str,
             all_pages: list[str]) -> str:
    name = page_name(words)
    out = [
        f'.TH {roff(name.upper())} 1 "{date}" "rtgw {roff(version)}" "rtgw manual"',
        ".SH NAME",
        f"{roff(name)} \\- {roff(summary)}",
        ".SH SYNOPSIS",
        ".nf",
        *[roff(u) for u in h.usage],
        ".fi",
    ]
    if h.description:
        out += [".SH DESCRIPTION", *render_description(h.description)]
    if h.commands:
        out.append(".SH COMMANDS")
        for cmd, desc in h.commands:
            out += [".TP", f".B rtgw {roff(cmd)}", roff(desc)]
            if page_name(tuple(cmd.split())) in all_pages:
                out.append(f"See \\fB{roff(page_name(tuple(cmd.split())))}\\fR(1).")
    if h.options:
        out.append(".SH OPTIONS")
        for o in h.options:
            head = f"\\fB\\-\\-{roff(o.flag)}\\fR" + (" \\fIVALUE\\fR" if o.takes_value else "")
            out += [".TP", head, *[roff(x) for x in o.help]]
            meta = []
            if o.env:
                meta.append(f"environment \\fB{roff(o.env)}\\fR")
            if o.default:
                meta.append(f"default \\fB{roff(o.default)}\\fR")
            if meta:
                out += [".br", "(" + "; ".join(meta) + ")"]
        out += [".TP", "\\fB\\-\\-help\\fR", "Print the help text and exit."]
    envs = [o for o in h.options if o.env]
    if envs:
        out += [".SH ENVIRONMENT",
                "Every variable below sets the option named; an option given on the command "
                "line wins over its variable."]
        for o in envs:
            out += [".TP", f".B {roff(o.env)}", f"\\fB\\-\\-{roff(o.flag)}\\fR"]
    if len(words) == 1 and words[0] in SERVICES:
        env_file, unit, state = SERVICES[words[0]]
        out += [".SH FILES", ".TP", f".I /etc/rtgw/{env_file}",
                f"The settings of \\fB{unit}\\fR: every variable above, commented out at its "
                "default (root:rtgw, mode 0640; it may hold secrets).",
                ".TP", f".I /usr/lib/systemd/system/{unit}",
                "The systemd unit, run as the system user \\fBrtgw\\fR in a sandbox; change it "
                f"with \\fBsystemctl edit {roff(unit)}\\fR."]
        if state:
            out += [".TP", f".I {roff(state)}", "Its state directory (StateDirectory=)."]
    # rtgw(1) lists every page; a command's page lists rtgw(1) and its siblings (rtgw-token-*).
    see = [p for p in all_pages if p != name and (
        not words or p == "rtgw" or p.startswith(page_name(words[:1]) + "-")
        or p == page_name(words[:1]))]
    out += [".SH SEE ALSO", "".join(f"\\fB{roff(p)}\\fR(1), " for p in see)
            + "/usr/share/doc/rtgw/ (README.md, docs, contracts)"]
    return "\n".join(out) + "\n"


def write_gz(path: Path, text: str) -> None:
    """gzip -9n: no name, no time stamp (reproducible; lintian checks both)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz:
            gz.write(text.encode())


# ---------------------------------------------------------------------------------------------
# env files
# ---------------------------------------------------------------------------------------------
TEMPLATE_VALUE = re.compile(r"^(#?)([A-Z_][A-Z0-9_]*)=(.*)$")


def read_template(path: Path) -> tuple[list[str], dict[str, tuple[bool, str]]]:
    """Header lines, and KEY -> (set, value): `KEY=V` is set by the package, `#KEY=V` is shown
    commented with V as its example instead of the default."""
    header: list[str] = []
    values: dict[str, tuple[bool, str]] = {}
    for line in path.read_text().splitlines():
        m = TEMPLATE_VALUE.match(line)
        if m:
            values[m.group(2)] = (m.group(1) == "", m.group(3))
        else:
            header.append(line)
    return header, values


def env_file(command: str, h: Help, template: Path) -> str:
    header, values = read_template(template)
    known = {o.env for o in h.options if o.env}
    unknown = sorted(set(values) - known)
    if unknown:
        fail(f"{template}: `rtgw {command}` has no variable {', '.join(unknown)} "
             "(renamed or removed option?)")
    out = [*header]
    if out and out[-1].strip():
        out.append("")
    for o in h.options:
        if not o.env:
            continue
        flag_line = f"--{o.flag}: " + " ".join(o.help)
        out += textwrap.wrap(flag_line, width=98, initial_indent="# ",
                             subsequent_indent="#   ", break_on_hyphens=False)
        is_set, value = values.get(o.env, (False, o.default))
        if is_set:
            if o.default:
                out.append(f"#   (built-in default {o.default}; set here for the service)")
            out.append(f"{o.env}={value}")
        else:
            out.append(f"#{o.env}={value}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtgw", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--maintainer", required=True)
    ap.add_argument("--templates", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()

    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    date = time.strftime("%Y-%m-%d", time.gmtime(epoch))
    out = args.out
    shutil.rmtree(out, ignore_errors=True)

    top_text = run_help(args.rtgw, ())
    if top_text is None:
        fail(f"`{args.rtgw} --help` gave no help text")
    top = parse_help(top_text)
    if not top.commands:
        fail("`rtgw --help` lists no commands")
    pages: dict[tuple[str, ...], tuple[str, Help]] = {}
    for cmd, desc in top.commands:
        words = tuple(cmd.split())
        text = run_help(args.rtgw, words)
        if text is not None:  # `rtgw version --help` prints the version, no page for it
            pages[words] = (desc.split(". ")[0].rstrip("."), parse_help(text))
    for words in EXTRA_PAGES:
        text = run_help(args.rtgw, words)
        if text is None:
            fail(f"`rtgw {' '.join(words)} --help` gave no help text")
        h = parse_help(text)
        summary = " ".join(h.description[0].split()) if h.description else ""
        pages[words] = (summary.split(". ")[0].rstrip(".") or f"rtgw {' '.join(words)}", h)
    for command in SERVICES:
        if (command,) not in pages:
            fail(f"`rtgw --help` does not list `{command}`, which the package runs as a service")

    names = ["rtgw"] + [page_name(w) for w in pages]
    write_gz(out / "man" / "man1" / "rtgw.1.gz",
             man_page((), "runtime gateway for bring-your-own HPC compute", top, args.version,
                      date, names))
    for words, (summary, h) in pages.items():
        write_gz(out / "man" / "man1" / f"{page_name(words)}.1.gz",
                 man_page(words, summary, h, args.version, date, names))

    (out / "env").mkdir(parents=True)
    for command, (env_name, _, _) in SERVICES.items():
        text = env_file(command, pages[(command,)][1], args.templates / f"{env_name}.in")
        (out / "env" / env_name).write_text(text)

    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(epoch))
    write_gz(out / "changelog.gz",
             f"rtgw ({args.version}) unstable; urgency=medium\n\n"
             f"  * Release {args.version}, built from the rtgw source tree with CPack.\n\n"
             f" -- {args.maintainer}  {stamp}\n")


if __name__ == "__main__":
    main()
