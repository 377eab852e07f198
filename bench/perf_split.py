#!/usr/bin/env python3
"""Splits one thread's samples of a `perf record -g` profile into user space, the kernel's
receiving side of loopback TCP, and the rest of the kernel (docs/benchmarks.md, "Event fan-out").

    perf script -i PERF_DATA -F comm,tid,ip,sym | bench/perf_split.py --tid TID [--only-sendmsg]

On loopback, a sender's sendmsg runs the receiving socket's TCP input in the softirq it raises
(__dev_queue_xmit -> do_softirq -> net_rx_action -> ... -> tcp_v4_rcv): CPU that a server talking
to clients on other machines would not spend. A sample counts as "receiver" when its kernel
call chain passes through net_rx_action (the softirq that runs the receive path).
--only-sendmsg keeps the samples whose chain passes through a sendmsg syscall.
"""
import argparse
import sys

RECEIVE_MARKERS = {"net_rx_action", "process_backlog", "__netif_receive_skb_one_core"}


def samples(stream):
    head = None
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if head is not None:
                yield head, frames
            head, frames = None, []
            continue
        if not line.startswith(("\t", " ")) and head is None:
            head = line.split()
            continue
        parts = line.split(None, 1)
        if len(parts) == 2:
            frames.append((parts[0], parts[1].strip()))
        elif parts:
            frames.append((parts[0], "[unknown]"))
    if head is not None:
        yield head, frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tid", type=int, required=True)
    ap.add_argument("--only-sendmsg", action="store_true")
    args = ap.parse_args()
    counts = {"user": 0, "kernel, receiving side (softirq net_rx_action)": 0, "kernel, other": 0}
    total = 0
    in_sendmsg = 0
    for head, frames in samples(sys.stdin):
        if len(head) < 2 or not head[-1].isdigit() or int(head[-1]) != args.tid:
            continue
        symbols = [sym for _, sym in frames]
        sendmsg = any("sendmsg" in s for s in symbols)
        if args.only_sendmsg and not sendmsg:
            continue
        total += 1
        in_sendmsg += sendmsg
        leaf = frames[0][0] if frames else "0"
        if not leaf.startswith("ffffffff"):
            counts["user"] += 1
        elif RECEIVE_MARKERS & set(symbols):
            counts["kernel, receiving side (softirq net_rx_action)"] += 1
        else:
            counts["kernel, other"] += 1
    if total == 0:
        print(f"no samples of thread {args.tid}")
        return 1
    print(f"thread {args.tid}: {total} samples, {100 * in_sendmsg / total:.1f} % under a sendmsg syscall")
    for name, n in counts.items():
        print(f"  {name}: {n} ({100 * n / total:.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
