"""Turns benchmark rows (JSON lines, see common.py) into the markdown table of
docs/PERFORMANCE.md, headed by a line naming the machine. Usage: table.py ROWS.jsonl"""
import json
import operator
import os
import platform
import re
import subprocess
import sys
import time

COMPARISONS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def meets(value, goal):
    """Whether `value` meets a goal written as "OP NUMBER" (">= 0.8"); None for rows without one."""
    match = re.fullmatch(r"\s*(>=|<=|>|<)\s*([0-9.]+)\s*", goal)
    if not match:
        return None
    return COMPARISONS[match.group(1)](value, float(match.group(2)))


def first_line(path, pattern):
    try:
        with open(path) as text:
            for line in text:
                if re.match(pattern, line):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def machine():
    """One line: CPU, cores, memory, kernel, libfuse, the filesystem of the work directory, date."""
    memory = int(first_line("/proc/meminfo", r"MemTotal").split()[0]) / (1 << 20)
    try:
        libfuse = subprocess.run(["pkg-config", "--modversion", "fuse3"], capture_output=True, text=True).stdout.strip()
    except OSError:
        libfuse = "?"
    load = os.getloadavg()[0]
    return (f"{first_line('/proc/cpuinfo', r'model name')}, {os.cpu_count()} cores, {memory:.0f} GiB, "
            f"Linux {platform.release()}, libfuse {libfuse}; load average {load:.1f} at the end; "
            f"{time.strftime('%Y-%m-%d')}")


def cell(text):
    return str(text).replace("|", "\\|")


def table(rows):
    lines = [
        f"Machine: {machine()}",
        "",
        "| # | measured | baseline | goal | result | spread | tensorfs | baseline figure | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in sorted(rows, key=lambda row: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", row["id"])]):
        unit = row.get("unit", "")
        value = f"{row['value']:g} {unit}".strip() if unit else f"{row['value']:.2f}"
        spread = row.get("spread")
        samples = f"n={row['samples']}" if "samples" in row else ""
        spread_text = f"{spread[0]:.2f}-{spread[1]:.2f} ({samples})" if spread else samples
        met = meets(row["value"], row["goal"])
        lines.append("| " + " | ".join(cell(part) for part in [
            row["id"], row["row"], row.get("baseline", ""), row["goal"], value, spread_text,
            row.get("tensorfs", ""), row.get("reference", ""), {True: "yes", False: "**no**", None: "-"}[met],
        ]) + " |")
    return "\n".join(lines)


def main():
    rows = []
    with open(sys.argv[1]) as source:
        for line in source:
            if line.startswith("{"):
                rows.append(json.loads(line))
    print(table(rows))


if __name__ == "__main__":
    main()
