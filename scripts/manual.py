#!/usr/bin/env python3
"""Writes the man page tensorfs(1) to stdout: scripts/manual/tensorfs.1.in, with the commands and
their options as the binary describes them (--experimental-dump-help), so that the page lists
exactly the options the binary has, each mount option with its -o spelling.

Usage: scripts/manual.py BINARY"""
import datetime
import json
import os
import pathlib
import re
import subprocess
import sys

TEMPLATE = pathlib.Path(__file__).with_name("manual") / "tensorfs.1.in"


def roff(text):
    """Text safe in a roff line: backslashes and hyphens escaped, no line starting with a dot."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return text if not text.startswith((".", "'")) else "\\&" + text


def synopsis(argument):
    """`-f, --foreground` or `--layout LAYOUT` for an option; `SOURCE...` for a positional."""
    value = value_name(argument)
    if argument["kind"] == "positional":
        return f"\\fI{roff(value)}\\fR"
    names = ", ".join(("-" if name["kind"] == "short" else "--") + name["name"] for name in argument["names"])
    shown = f"\\fB{roff(names)}\\fR"
    if argument["kind"] == "option":
        shown += f" \\fI{roff(value)}\\fR"
    return shown


def value_name(argument):
    """The option's value as shown: a name derived from the option's own (`layout`) in capitals."""
    value = argument.get("valueName", "")
    return value.upper() if re.fullmatch(r"[a-z][a-z-]*", value) and argument["kind"] != "positional" else value


def spelling(argument):
    """The -o spelling of a mount option: its first long name, `_` for `-`; None without one."""
    long_names = [name["name"] for name in argument.get("names", []) if name["kind"] == "long"]
    if not long_names:
        return None
    key = long_names[0].replace("-", "_")
    return f"-o {key}=" + value_name(argument) if argument["kind"] == "option" else f"-o {key}"


def names(argument):
    return [name["name"] for name in argument.get("names", [])]


def options(command, with_spellings):
    lines = []
    section = None
    for argument in command.get("arguments", []):
        if not argument["shouldDisplay"] or "help" in names(argument):
            continue
        title = argument.get("sectionTitle")
        if title and title != section:
            section = title
            lines += [".PP", f"\\fI{roff(title)}\\fR"]
        about = argument.get("abstract", "")
        if argument.get("defaultValue"):
            about += f" Default: {argument['defaultValue']}."
        lines += [".TP", synopsis(argument)]
        if with_spellings and (spelled := spelling(argument)):
            lines.append(f"(\\fB{roff(spelled)}\\fR) " + roff(about))
        else:
            lines.append(roff(about))
    return lines


def commands(description):
    lines = []
    for command in description["command"]["subcommands"]:
        if command["commandName"] == "help":
            continue
        lines += [".SS " + roff("tensorfs " + command["commandName"]), roff(command.get("abstract", ""))]
        if command.get("discussion"):
            lines += [".PP", roff(command["discussion"])]
        lines += options(command, with_spellings=command["commandName"] == "mount")
    return "\n".join(lines)


def main():
    binary = sys.argv[1]
    description = json.loads(subprocess.run([binary, "--experimental-dump-help"], capture_output=True, check=True, text=True).stdout)
    version = subprocess.run([binary, "--version"], capture_output=True, check=True, text=True).stdout.strip()
    page = TEMPLATE.read_text()
    # SOURCE_DATE_EPOCH, when set, dates the page for reproducible builds.
    date = datetime.datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", datetime.datetime.now().timestamp())), datetime.timezone.utc)
    page = page.replace("@DATE@", date.date().isoformat()).replace("@VERSION@", version)
    sys.stdout.write(page.replace("@COMMANDS@", commands(description)))


if __name__ == "__main__":
    main()
