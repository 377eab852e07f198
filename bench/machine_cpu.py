#!/usr/bin/env python3
"""What the whole machine did with its CPUs while a benchmark ran: a run that is slower than its
neighbours is explained (or not) by the other processes, the kernel's threads or the hypervisor's
steal time, instead of guessed at. Standard library only; reads /proc.

Usage:
  bench/machine_cpu.py snap FILE     saves the counters of /proc/stat and of every process
  bench/machine_cpu.py since FILE    prints one line: the machine's CPU time since the snapshot
                                     by kind (busy, steal, iowait, idle) and the five processes
                                     (kernel threads included) that used the most of it
"""

import json
import os
import sys

TCK = os.sysconf("SC_CLK_TCK")


def machine():
    # cpu  user nice system idle iowait irq softirq steal guest guest_nice
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    fields += [0] * (8 - len(fields))
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return {"busy": user + nice + system + irq + softirq, "idle": idle, "iowait": iowait, "steal": steal}


def processes():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        # utime and stime are fields 14 and 15 of stat(5), starttime 22: 12, 13 and 20 after the
        # name and state. A kernel worker's name changes with its work; its start time does not.
        out[pid] = [name, int(rest[11]) + int(rest[12]), int(rest[19])]
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("snap", "since"):
        sys.exit(__doc__)
    path = sys.argv[2]
    if sys.argv[1] == "snap":
        with open(path, "w") as f:
            json.dump({"machine": machine(), "processes": processes()}, f)
        return
    with open(path) as f:
        before = json.load(f)
    now_m, now_p = machine(), processes()
    d = {k: (now_m[k] - before["machine"][k]) / TCK for k in now_m}
    total = sum(d.values()) or 1
    used = []
    for pid, (name, ticks, started) in now_p.items():
        # A process started during the run counts from 0.
        prev = before["processes"].get(pid)
        start = prev[1] if prev and prev[2] == started else 0
        if ticks > start:
            used.append(((ticks - start) / TCK, f"{name} ({pid})"))
    used.sort(reverse=True)
    top = ", ".join(f"{who} {s:.2f} s" for s, who in used[:5])
    print(
        f"machine during the run: busy {d['busy']:.2f} s ({100 * d['busy'] / total:.0f} %), "
        f"steal {d['steal']:.2f} s ({100 * d['steal'] / total:.0f} %), iowait {d['iowait']:.2f} s, "
        f"idle {d['idle']:.2f} s; most CPU: {top}"
    )


if __name__ == "__main__":
    main()
