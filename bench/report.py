#!/usr/bin/env python3
"""Prints the outputs bench/run_all.sh kept (one file per benchmark) as Markdown tables in the
format of docs/benchmarks.md: a heading per benchmark with its command, date and load average,
then its figures. Usage: python3 bench/report.py DIR"""
import pathlib
import re
import sys


def meta(text):
    get = lambda key: (re.search(rf"^## {key}: (.*)$", text, re.M) or [None, "?"])[1]
    return get("command"), get("date"), get("load before"), get("load after"), get("exit")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def sync(text):
    rows = [(m[1], f"{float(m[2]):.2f} s", f"**{int(m[3]):,} items/s**")
            for m in re.finditer(r"full sync of (\d+) items: ([\d.]+) s wall \((\d+) items/s\)", text)]
    seed = re.search(r"seeded (\d+) journal entries in ([\d.]+) s", text)
    note = f"\n\nSeeding: {seed[2]} s." if seed else ""
    return table(["items", "full sync", "rate"], rows) + note


def search(text):
    rows = []
    for line in text.splitlines():
        m = re.match(r"^(\S.{48}\S?)\s+(-?\d+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)(.*)$", line)
        if m and not line.startswith("query"):
            matches = "–" if m[2] == "-1" else f"{int(m[2]):,}"
            rows.append((m[1].strip(), matches, m[3], f"{m[4]} ms", f"{m[5]} ms", f"{m[7]} ms", m[9].strip()))
    docs = re.search(r"documents: (\d+); runs per query: (\d+)", text)
    head = f"{int(docs[1]):,} documents, {docs[2]} runs per query.\n\n" if docs else ""
    return head + table(["query", "matches", "ranked", "p50", "p99", "first (cold)", "note"], rows)


def stats(text):
    rows = [(m[1].strip(), m[2], f"{int(m[3]):,}", f"{m[4]} ms", f"{m[5]} ms", f"{m[6]} ms")
            for m in re.finditer(r"^(\S.*?)\s+(\d+) buckets,\s+(\d+) jobs,.*?p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms\s+max\s+([\d.]+) ms",
                                 text, re.M)]
    return table(["range", "buckets", "jobs in range", "p50", "p99", "max"], rows)


def events(text):
    parts = re.split(r"^== latency with (\d+) client\(s\).*$", text, flags=re.M)
    out = []
    for i in range(1, len(parts), 2):
        n, body = parts[i], parts[i + 1]
        rows = []
        for m in re.finditer(r"^  (\S.*?)\s{2,}(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", body, re.M):
            rows.append((m[1], f"{int(m[2]):,}", f"{m[3]} ms", f"{m[4]} ms", f"{m[5]} ms"))
        cpu = re.search(r"CPU per job event delivered: ([\d.]+) us", body)
        sync_rate = re.search(r"running time ([\d.]+) s, (\d+) items/s", body)
        extra = []
        if cpu:
            extra.append(f"server I/O thread CPU per job event delivered: **{cpu[1]} µs**")
        if sync_rate:
            extra.append(f"full sync {sync_rate[1]} s ({int(sync_rate[2]):,} items/s)")
        out.append(f"{n} client(s): " + "; ".join(extra) + "\n\n" + table(["(ms)", "count", "p50", "p99", "max"], rows))
    return "\n\n".join(out)


def idle(text):
    lines = [l for l in text.splitlines() if re.match(r"^(opened|server VmRSS|memory per idle|server descriptors)", l)]
    return "\n".join(f"- {l}" for l in lines)


def login(text):
    rows = [(m[1], f"{m[2]} ms", f"{m[3]} ms")
            for m in re.finditer(r"^(unknown email|wrong password):\s+mean ([\d.]+) ms, median ([\d.]+) ms", text, re.M)]
    return table(["login", "mean", "median"], rows)


def auth(text):
    rows = []
    for sec in re.split(r"^== ", text, flags=re.M)[1:]:
        title = sec.splitlines()[0]
        rps = re.search(r"Requests/sec:\s+([\d.]+)", sec)
        lat = re.search(r"^\s+99%\s+(\S+)", sec, re.M)
        p50 = re.search(r"^\s+50%\s+(\S+)", sec, re.M)
        if rps:
            rows.append((title, f"{float(rps[1]):,.0f}", p50[1] if p50 else "?", lat[1] if lat else "?"))
    return table(["endpoint", "requests/s", "p50", "p99"], rows)


def web(text):
    return "```\n" + "\n".join(l for l in text.splitlines() if not l.startswith("## ")) + "\n```"


SECTIONS = [("sync", "Full sync into the embedded store", sync),
            ("search", "Document search", search),
            ("stats", "Stats report", stats),
            ("events", "Live events: latency", events),
            ("idle", "Idle event-stream connections", idle),
            ("login", "Login timing", login),
            ("auth", "Authenticated read and health check", auth),
            ("jobs", "Job lookup and job list", auth),
            ("web", "Dashboard bundle", web)]


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/release/bench-results")
    for key, title, fmt in SECTIONS:
        f = root / f"{key}.txt"
        if not f.exists():
            continue
        text = f.read_text(errors="replace")
        command, date, load0, load1, rc = meta(text)
        print(f"## {title} ({date})\n")
        print(f"Command: `{command}`; load average {load0} before, {load1} after; exit {rc}.\n")
        try:
            print(fmt(text) + "\n")
        except Exception as e:  # a changed output format must not hide the others
            print(f"(could not read {f}: {e})\n")
    skipped = root / "skipped.txt"
    if skipped.exists() and skipped.read_text().strip():
        print("Skipped: " + "; ".join(skipped.read_text().split("\n")).strip("; "))


main()
