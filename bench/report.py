#!/usr/bin/env python3
"""Prints the outputs that bench/run_all.sh kept as Markdown in the format of docs/benchmarks.md:
per benchmark a heading, its command, the date, time and load average of each run, then its
figures as tables. With several runs of a benchmark (NAME.1.txt, NAME.2.txt, ...; MLADMIN_BENCH_RUNS)
each figure is the median of the runs, followed by the single runs in order:
`16,630 items/s (16,102, 16,630, 17,001)`. Then a table of the issue's targets (docs/benchmarks.md,
issue 13) against the medians.

Usage: python3 bench/report.py [DIR=build/release/bench-results]"""
import pathlib
import re
import statistics
import sys


class Fig:
    """One figure: a value and how to print it (a format string such as "{:,.0f} items/s")."""

    def __init__(self, value, fmt):
        self.value, self.fmt = float(value), fmt

    def show(self, value=None):
        return self.fmt.format(self.value if value is None else value)


class Table:
    """A Markdown table: a caption line (may be empty), the header, rows whose first cell is the
    row's name (a string) and whose other cells are strings or figures."""

    def __init__(self, caption, header, rows=None):
        self.caption, self.header, self.rows = caption, header, rows or []


def ms(text):
    """wrk's latency ("812.00us", "2.39ms", "1.02s") in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return None
    return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m[2]]


# ---------------------------------------------------------------------------------------------
# One parser per benchmark: the text of one run's output → a list of tables.

def sync_row(text):
    seed = re.search(r"seeded (\d+) journal entries in ([\d.]+) s", text)
    full = re.search(r"full sync of (\d+) items.*?: ([\d.]+) s wall \((\d+) items/s\)"
                     r"(?:; engine running time ([\d.]+) s \((\d+) items/s\))?", text)
    cpu = re.search(r"CPU of this process during the sync: .*\(([\d.]+) us per item\)", text)
    commit = re.search(r"the last commit [\d.]+ s after the start \((\d+) items/s to the last commit\); every "
                       r"document searchable ([\d.]+) s after it", text)
    if not full:
        return None
    row = [f"{int(full[1]):,}", Fig(seed[2], "{:.2f} s") if seed else "?", Fig(full[2], "{:.2f} s"),
           Fig(full[3], "{:,.0f} items/s")]
    row.append(Fig(full[5], "{:,.0f} items/s") if full[5] else "?")
    row.append(Fig(cpu[1], "{:.1f} µs") if cpu else "?")
    row.append(Fig(commit[2], "{:.2f} s") if commit else "?")
    row.append(Fig(commit[1], "{:,.0f} items/s") if commit else "?")
    return row


def sync(text):
    """One sync_bench output, or bench/sync_sizes.sh's: one per size ("== N items") and the ratio."""
    sections = re.split(r"^== ", text, flags=re.M)[1:] or [text]
    rows = [r for r in (sync_row(sec) for sec in sections) if r]
    ratio = re.search(r"rate at (\d+) items / at (\d+): ([\d.]+) %", text)
    if ratio:
        rows.append([f"rate at {int(ratio[1]):,} / at {int(ratio[2]):,}", "", "", Fig(ratio[3], "{:.1f} %"), "", "",
                     "", ""])
    ratio = re.search(r"rate to the last commit at (\d+) items / at (\d+).*?: ([\d.]+) %", text)
    if ratio:
        rows.append([f"rate to the last commit at {int(ratio[1]):,} / at {int(ratio[2]):,}", "", "", "", "", "",
                     "", Fig(ratio[3], "{:.1f} %")])
    return [Table("", ["items", "seeding", "full sync (wall)", "rate (wall)", "rate (engine running time)",
                       "CPU per item", "searchable after the last commit", "rate to the last commit"], rows)]


def syncjobs(text):
    """bench/sync_jobs.sh: one section per command, or per command and pair ("== pair K: …"), whose
    figures within the run become their median; then the ratio (the median of the pairs')."""
    found = {}  # label → [items, rates, CPU, items per transaction]
    for sec in re.split(r"^== ", text, flags=re.M)[1:]:
        label = re.sub(r" \(sync_bench .*\)$", "", re.sub(r"^pair \d+: ", "", sec.splitlines()[0]))
        full = re.search(r"full sync of (\d+) items.*?: ([\d.]+) s wall \((\d+) items/s\)", sec)
        cpu = re.search(r"CPU of this process during the sync: .*\(([\d.]+) us per item\)", sec)
        tx = re.search(r"write transactions committed the jobs' slices \(([\d.]+) items per transaction", sec)
        if full:
            f = found.setdefault(label, [full[1], [], [], []])
            f[1].append(float(full[3]))
            f[2] += [float(cpu[1])] if cpu else []
            f[3] += [float(tx[1])] if tx else []
    med = lambda values, fmt: Fig(statistics.median(values), fmt) if values else "?"
    rows = [[label, f"{int(items):,}", med(rates, "{:,.0f} items/s"), med(cpus, "{:.1f} µs"), med(txs, "{:,.0f}")]
            for label, (items, rates, cpus, txs) in found.items()]
    pairs = re.findall(r"^pair \d+: four jobs / one job: ([\d.]+) %", text, re.M)
    ratio = re.search(r"^four jobs / one job: ([\d.]+) %", text, re.M)
    if ratio:
        rows.append(["four jobs / one job" + (f" (median of {len(pairs)} pairs)" if pairs else ""), "",
                     Fig(ratio[1], "{:.1f} %"), "", ""])
    return [Table("", ["case", "items", "rate (wall)", "CPU per item", "items per write transaction"], rows)]


SEARCH_ROW = re.compile(r"^(\S.*?)\s+(-?\d+)\s+(\S+)" + r"\s+([\d.]+)" * 7 + r"(.*)$")


def search(text):
    rows = []
    for line in text.splitlines():
        m = SEARCH_ROW.match(line)
        if m and not line.startswith(("query", "documents:", "built", "rank_")):
            matches = "–" if m[2] == "-1" else f"{int(m[2]):,}"
            ranked = Fig(m[3], "{:,.0f}") if m[3].isdigit() else m[3]
            rows.append([m[1].strip(), matches, ranked, Fig(m[4], "{:.2f} ms"), Fig(m[5], "{:.2f} ms"),
                         Fig(m[7], "{:.2f} ms"), Fig(m[9], "{:.2f} ms"), m[11].strip()])
    if not rows:
        raise ValueError("no query timed")
    docs = re.search(r"documents: (\d+); runs per query: (\d+)", text)
    caption = f"{int(docs[1]):,} documents, {docs[2]} runs per query." if docs else ""
    out = [Table(caption, ["query", "matches", "ranked", "p50", "p99", "first (cold)", "CPU p50", "note"], rows)]
    built = re.search(r"built (\d+) documents in ([\d.]+) s \((\d+) docs/s\)", text)
    if built:
        out.append(Table("", ["building the store (first run only)", "time", "rate"],
                         [[f"{int(built[1]):,} documents", Fig(built[2], "{:.1f} s"),
                           Fig(built[3], "{:,.0f} documents/s")]]))
    return out


def stats(text):
    rows = [[m[1].strip(), m[2], f"{int(m[3]):,}", Fig(m[4], "{:.2f} ms"), Fig(m[5], "{:.2f} ms"),
             Fig(m[6], "{:.2f} ms")]
            for m in re.finditer(r"^(\S.*?)\s+(\d+) buckets,\s+(\d+) jobs,.*?p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms"
                                 r"\s+max\s+([\d.]+) ms", text, re.M)]
    docs = re.search(r"built (\d+) documents and source records in ([\d.]+) s", text)
    jobs = re.search(r"built (\d+) jobs with (\d+) item errors in ([\d.]+) s", text)
    caption = ""
    if docs and jobs:
        caption = f"{int(docs[1]):,} documents, {int(jobs[1]):,} jobs, {int(jobs[2]):,} item errors."
    return [Table(caption, ["range", "buckets", "jobs in range", "p50", "p99", "max"], rows)]


LATENCY_ROW = re.compile(r"^  (\s*\S.*?)\s{2,}(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", re.M)


def latency_rows(body):
    return [[m[1].strip().replace("->", "→"), Fig(m[2], "{:,.0f}"), Fig(m[3], "{:.2f} ms"),
             Fig(m[4], "{:.2f} ms"), Fig(m[5], "{:.2f} ms")] for m in LATENCY_ROW.finditer(body)]


def events(text):
    parts = re.split(r"^== latency with (\d+) client\(s\).*$", text, flags=re.M)
    out = []
    for i in range(1, len(parts), 2):
        n, body = int(parts[i]), parts[i + 1]
        rows = []
        run = re.search(r"running time ([\d.]+) s, (\d+) items/s", body)
        if run:
            rows.append(["full sync during the run", Fig(run[2], "{:,.0f} items/s")])
        cpu = re.search(r"CPU per job event delivered: ([\d.]+) us", body)
        if cpu:
            rows.append(["server I/O thread CPU per job event delivered", Fig(cpu[1], "{:.1f} µs")])
        wait = re.search(r"CPU over the measured ([\d.]+) s: server ([\d.]+) s.*?waiting for a CPU: ([\d.]+) s", body)
        if wait:
            rows.append(["server CPU in the measured time", Fig(wait[2], "{:.2f} s")])
            rows.append(["server threads waiting for a CPU", Fig(wait[3], "{:.2f} s")])
        got = re.search(r"job events received: (\d+).*status changes missing: (\d+)", body)
        if got:
            rows.append(["job events received", Fig(got[1], "{:,.0f}")])
            rows.append(["status changes missing", Fig(got[2], "{:,.0f}")])
        out.append(Table("", [f"{n:,} client(s)", "value"], rows))
        out.append(Table("", [f"{n:,} client(s) (ms)", "count", "p50", "p99", "max"], latency_rows(body)))
    return out


def idle(text):
    rows = []
    opened = re.search(r"opened (\d+) event streams in ([\d.]+) s \((\d+) per s.*?snapshot (\d+) bytes", text)
    if opened:
        rows.append([f"streams opened (snapshot of {int(opened[4]):,} bytes each)", Fig(opened[1], "{:,.0f}")])
        rows.append(["streams opened per second", Fig(opened[3], "{:,.0f}")])
    per = re.search(r"memory per idle stream: ([\d.]+) KiB", text)
    if per:
        rows.append(["memory per idle stream", Fig(per[1], "{:.2f} KiB")])
    rss = re.search(r"server VmRSS: (\d+) KiB before, (\d+) KiB holding them, (\d+) KiB after closing them", text)
    if rss:
        rows.append(["server VmRSS before opening the streams", Fig(int(rss[1]) / 1024, "{:.1f} MiB")])
        rows.append(["server VmRSS holding them", Fig(int(rss[2]) / 1024, "{:.1f} MiB")])
        rows.append(["server VmRSS 1 s after they closed", Fig(int(rss[3]) / 1024, "{:.1f} MiB")])
    fds = re.search(r"server descriptors: (\d+) before, (\d+) holding, (\d+) after closing \(back in ([\d.]+) s\)", text)
    if fds:
        rows.append(["server descriptors before / after", f"{fds[1]} / {fds[3]}"])
    out = [Table("", ["10,000 idle streams" if opened and opened[1] == "10000" else "idle streams", "value"], rows)]
    health = latency_rows(text.split("GET /healthz", 1)[1]) if "GET /healthz" in text else []
    if health:
        out.append(Table("", ["GET /healthz, sequential (ms)", "count", "p50", "p99", "max"], health))
    return out


def login(text):
    rows = [[m[1], Fig(m[2], "{:.2f} ms"), Fig(m[3], "{:.2f} ms")]
            for m in re.finditer(r"^(unknown email|wrong password):\s+mean ([\d.]+) ms, median ([\d.]+) ms", text, re.M)]
    return [Table("", ["login", "mean", "median"], rows)]


def wrk(text):
    rows, notes = [], []
    for sec in re.split(r"^== ", text, flags=re.M)[1:]:
        title = re.sub(r", \d+ connections, \d+s$", "", sec.splitlines()[0])
        rps = re.search(r"Requests/sec:\s+([\d.]+)", sec)
        p50 = re.search(r"^\s+50%\s+(\S+)", sec, re.M)
        p99 = re.search(r"^\s+99%\s+(\S+)", sec, re.M)
        cpu = re.search(r"server CPU: \d+ ms, ([\d.]+) us per request", sec)
        rss = re.search(r"VmRSS:\s+(\d+) kB", sec)
        if rps:
            lat = [Fig(ms(p[1]), "{:.2f} ms") if p and ms(p[1]) is not None else "?" for p in (p50, p99)]
            rows.append([f"`{title}`", Fig(rps[1], "{:,.0f}"), *lat,
                         Fig(cpu[1], "{:.1f} µs") if cpu else "?"])
        elif rss:
            notes.append(["server VmRSS after the runs", Fig(int(rss[1]) / 1024, "{:.1f} MiB")])
    listed = re.search(r"jobs listed in one page: (\d+)", text)
    if listed:
        notes.insert(0, ["jobs in the listed page", Fig(listed[1], "{:.0f}")])
    out = [Table("", ["endpoint", "requests/s", "p50", "p99", "server CPU/request"], rows)]
    if notes:
        out.append(Table("", ["", "value"], notes))
    return out


def mlsink(text):
    rows = []
    for sec in re.split(r"^== ", text, flags=re.M)[1:]:
        label = re.sub(r" at http://\S+?,", ",", sec.splitlines()[0])
        full = re.search(r"full sync of (\d+) items.*?: ([\d.]+) s wall \((\d+) items/s\)", sec)
        cpu = re.search(r"CPU time: sync_bench ([\d.]+) s during its sync(?:, receiver ([\d.]+) s)?", sec)
        if full:
            rows.append([label, f"{int(full[1]):,}", Fig(full[3], "{:,.0f} items/s"), Fig(full[2], "{:.2f} s"),
                         Fig(cpu[1], "{:.2f} s") if cpu else "?",
                         Fig(cpu[2], "{:.2f} s") if cpu and cpu[2] else "—"])
    return [Table("", ["case", "records", "rate (wall)", "sync wall", "CPU of sync_bench during the sync",
                       "CPU of the receiver"], rows)]


def web(text):
    return "```\n" + "\n".join(l for l in text.splitlines() if not l.startswith("## ")) + "\n```"


SECTIONS = [("sync", "Full sync into the embedded store", sync),
            ("syncjobs", "Several jobs at once", syncjobs),
            ("jobs", "Job lookup and job list", wrk),
            ("auth", "Authenticated read and health check", wrk),
            ("events", "Live events: latency", events),
            ("idle", "Idle event-stream connections", idle),
            ("search", "Document search", search),
            ("stats", "Stats report", stats),
            ("mlsink", "Full sync through the ML service sink", mlsink),
            ("login", "Login timing", login),
            ("web", "Dashboard bundle", web)]


# ---------------------------------------------------------------------------------------------
# Several runs → one table of medians with the single runs.

def merge(runs):
    """runs: one list of tables per run. Tables are matched by header, rows by name;
    each figure becomes its median, followed by the single runs in order (— where a run lacks it)."""
    base = max(runs, key=lambda tables: sum(len(t.rows) for t in tables))
    out = []
    for t in base:
        peers = [next((p for p in r if p.header == t.header), None) for r in runs]
        rows = []
        for row in t.rows:
            merged = [row[0]]
            for ci in range(1, len(row)):
                cell = row[ci]
                if not isinstance(cell, Fig):
                    merged.append(cell)
                    continue
                values = []
                for p in peers:
                    match = next((r for r in p.rows if r[0] == row[0]), None) if p else None
                    v = match[ci] if match and ci < len(match) else None
                    values.append(v.value if isinstance(v, Fig) else None)
                present = [v for v in values if v is not None]
                if len(runs) == 1 or (len(present) == len(values) and len(set(present)) == 1):
                    merged.append(cell.show())  # one run, or the same in every run (a count)
                else:
                    single = ", ".join(cell.show(v).split(" ")[0] if v is not None else "—" for v in values)
                    merged.append(f"{cell.show(statistics.median(present))} ({single})")
            rows.append(merged)
        out.append(Table(t.caption, t.header, rows))
    return out


def median_of(tables, header0, row, col):
    """The median (a float) of a figure in merged tables: the table whose first header cell starts
    with header0, the row whose name starts with row, column col; None if absent."""
    for t in tables:
        if t.header[0].startswith(header0):
            for r in t.rows:
                if str(r[0]).startswith(row) and col < len(r):
                    m = re.match(r"([\d,.]+)", str(r[col]))
                    return float(m[1].replace(",", "")) if m else None
    return None


# (benchmark, what, target text, header, row, column, unit, met(value))
TARGETS = [
    ("sync", "full sync of 1,000,000 journal entries into the embedded store", "≥ 100,000 items/s",
     "items", "1,000,000", 3, "items/s", lambda v: v >= 100000),
    ("sync", "… every document searchable after the job's last commit", "≤ 5 s",
     "items", "1,000,000", 6, "s", lambda v: v <= 5),
    ("sync", "the rate at 1,000,000 documents against 100,000", "≥ 90 %",
     "items", "rate at 1,000,000 / at 100,000", 3, "%", lambda v: v >= 90),
    ("syncjobs", "four jobs at once against one, in aggregate", "≥ 90 %",
     "case", "four jobs / one job", 2, "%", lambda v: v >= 90),
    ("jobs", "`GET /api/ml/sync/job/:id`, 32 connections", "≥ 50,000 requests/s",
     "endpoint", "`GET /api/ml/sync/job/", 1, "requests/s", lambda v: v >= 50000),
    ("jobs", "… its p99", "≤ 2 ms", "endpoint", "`GET /api/ml/sync/job/", 3, "ms", lambda v: v <= 2),
    ("jobs", "`GET /api/ml/sync/jobs` (50 jobs), 32 connections", "≥ 15,000 requests/s",
     "endpoint", "`GET /api/ml/sync/jobs", 1, "requests/s", lambda v: v >= 15000),
    ("events", "status change → event, 1,000 clients, p99", "≤ 50 ms",
     "1,000 client(s) (ms)", "(any status change", 3, "ms", lambda v: v <= 50),
    ("events", "… of the long run alone (while the sync runs at full speed)", "≤ 50 ms",
     "1,000 client(s) (ms)", "(the long run's", 3, "ms", lambda v: v <= 50),
    ("events", "progress → event, 1,000 clients, p99", "≤ 75 ms",
     "1,000 client(s) (ms)", "progress events", 3, "ms", lambda v: v <= 75),
    ("events", "server CPU per job event delivered, 1,000 clients", "≤ 3 µs",
     "1,000 client(s)", "server I/O thread CPU", 1, "µs", lambda v: v <= 3),
    ("search", "search, one word, common (rank 10), p99", "≤ 50 ms",
     "query", "one word, common, relevance", 4, "ms", lambda v: v <= 50),
    ("search", "search, one word, commonest (rank 0), p99", "≤ 50 ms",
     "query", "one word, commonest (rank 0), relevance", 4, "ms", lambda v: v <= 50),
    ("search", "search, phrase of two common words, p99", "≤ 50 ms",
     "query", "phrase of two common words", 4, "ms", lambda v: v <= 50),
    ("search", "search, mid word + type + user + 30 days, p99", "≤ 50 ms",
     "query", "mid word + type + user + 30 days, relevance", 4, "ms", lambda v: v <= 50),
    ("search", "search, commonest word + type + user + 30 days, p99", "≤ 50 ms",
     "query", "commonest word + type + user + 30 days, relevance", 4, "ms", lambda v: v <= 50),
    ("idle", "server after 10,000 streams have come and gone", "≤ 40 MiB",
     "10,000 idle streams", "server VmRSS 1 s after", 1, "MiB", lambda v: v <= 40),
]


def targets(merged):
    rows = []
    for key, what, target, header0, row, col, unit, met in TARGETS:
        tables = merged.get(key)
        if not tables:
            continue
        v = median_of(tables, header0, row, col)
        if v is not None:
            shown = {"ms": "{:.2f}", "s": "{:.2f}", "µs": "{:.1f}", "MiB": "{:.1f}", "%": "{:.1f}"}.get(unit, "{:,.0f}").format(v)
            rows.append([what, target, f"{shown} {unit}", "met" if met(v) else "**missed**"])
    return rows


def markdown(t):
    lines = [t.caption, ""] if t.caption else []
    lines.append("| " + " | ".join(t.header) + " |")
    lines.append("|" + " --- |" * len(t.header))
    lines += ["| " + " | ".join(c.show() if isinstance(c, Fig) else str(c) for c in r) + " |" for r in t.rows]
    return "\n".join(lines)


def meta(text):
    get = lambda key: (re.search(rf"^## {key}: (.*)$", text, re.M) or [None, "?"])[1]
    return {k: get(k) for k in ("command", "date", "load before", "load after", "exit", "wall")}


def run_files(root, key):
    numbered = sorted(root.glob(f"{key}.*.txt"), key=lambda p: int(p.name.split(".")[1]) if p.name.split(".")[1].isdigit() else 0)
    numbered = [p for p in numbered if p.name.split(".")[1].isdigit()]
    return numbered or ([root / f"{key}.txt"] if (root / f"{key}.txt").exists() else [])


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/release/bench-results")
    summary = root / "run_all.txt"
    if summary.exists():
        print("\n".join(l for l in summary.read_text().splitlines() if l.strip()) + "\n")
    merged = {}
    for key, title, parse in SECTIONS:
        files = run_files(root, key)
        if not files:
            continue
        texts = [f.read_text(errors="replace") for f in files]
        metas = [meta(t) for t in texts]
        n = len(texts)
        print(f"## {title} ({metas[0]['date']})\n")
        print(f"Command: `{metas[0]['command']}`" + (f", {n} runs" if n > 1 else "") + ".\n")
        if n == 1:
            m = metas[0]
            print(f"Load average {m['load before']} before, {m['load after']} after; exit {m['exit']}; "
                  f"wall {m['wall']}.\n")
        else:
            print("| run | date | load average before | load average after | exit | wall |")
            print("| --- | --- | --- | --- | --- | --- |")
            for i, m in enumerate(metas, 1):
                print(f"| {i} | {m['date']} | {m['load before']} | {m['load after']} | {m['exit']} | {m['wall']} |")
            print("\nEach figure: the median of the runs, then the single runs in order.\n")
        try:
            if key == "web":
                print(web(texts[0]) + "\n")
                continue
            parsed = [parse(t) for t in texts]
            if not any(t.rows for tables in parsed for t in tables):
                raise ValueError("no figures found")
            merged[key] = merge(parsed)
            print("\n\n".join(markdown(t) for t in merged[key] if t.rows) + "\n")
        except Exception as e:  # a changed output format must not hide the others
            print(f"(could not read the figures of {', '.join(f.name for f in files)}: {e})\n")
    rows = targets(merged)
    if rows:
        print("## Against the targets (issue 13), medians of this run\n")
        print(markdown(Table("", ["target", "wanted", "measured", ""], rows)) + "\n")
    skipped = root / "skipped.txt"
    if skipped.exists() and skipped.read_text().strip():
        print("Skipped: " + "; ".join(l for l in skipped.read_text().splitlines() if l.strip()) + "\n")


if __name__ == "__main__":
    main()
