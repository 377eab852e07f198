#!/usr/bin/env python3
"""Which b-trees one sync-like commit writes into the WAL, by frames.

Usage: bench/wal_pages.py DATABASE [DOCUMENTS=12000] [OWNERS=1000]

Run it on a copy of a store that `MLADMIN_BENCH_KEEP=1 build/release/bench/sync_bench N 1` kept
(it writes into the file). It checkpoints the WAL away, inserts DOCUMENTS documents of ~450 bytes
for OWNERS owners (round robin, as the bench's seeded entries are) in one transaction, as a sync's
commit group does (and their rows of owner_recent where the store has that table, migration 0015),
then reads the page number of every frame of the WAL and names the b-tree that page belongs to
(SQLite's dbstat table, read before the insert; "new or free" is a page the file did not use
before). Frame counts do not depend on the machine's speed: one run says it
(docs/benchmarks.md, "The WAL of a commit, by b-tree").
"""
import collections
import sqlite3
import struct
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 12000
    owners = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("PRAGMA cache_size=-262144")  # the commit's pages stay in memory until it commits
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = dict((pageno, name) for name, pageno in c.execute("SELECT name, pageno FROM dbstat"))
    documents = c.execute("SELECT count(*) FROM documents").fetchone()[0]
    last = c.execute("SELECT max(rowid) FROM documents").fetchone()[0] or 0
    now = int(time.time() * 1000)
    # From migration 0015 the store writes a user's documents into owner_recent itself (no index
    # of SQLite's does it); a merge into owner_documents is not part of this commit.
    owner_recent = c.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'owner_recent'").fetchone()[0] > 0
    c.execute("BEGIN IMMEDIATE")
    for i in range(n):
        key = "zz" + str(last + i).zfill(12)  # after every id the bench made (UUIDv7, time-ordered)
        c.execute(
            "INSERT INTO documents (id, user_id, source_type, source_id, title, text, metadata, "
            "content_hash, synced_at, version, job_id, source_created_at) "
            "VALUES (?, ?, 'journal_entries', ?, ?, ?, '{}', ?, ?, 1, 'job', ?)",
            (key, "user-%d" % (i % owners), key, "morning walk coffee rain", "walk " * 90, "h" * 16,
             now, now))
        if owner_recent:  # the owner index's recent level, which the store writes with each document
            c.execute("INSERT INTO owner_recent (doc, user_id, synced_at) VALUES (last_insert_rowid(), ?, ?)",
                      ("user-%d" % (i % owners), now))
    c.execute("COMMIT")
    with open(path + "-wal", "rb") as f:
        wal = f.read()
    page_size = struct.unpack(">I", wal[8:12])[0]
    frame = page_size + 24
    frames = (len(wal) - 32) // frame
    by_tree = collections.Counter()
    for i in range(frames):
        pageno = struct.unpack(">I", wal[32 + i * frame:36 + i * frame])[0]
        by_tree[pages.get(pageno, "new or free")] += 1
    print("store of %d documents, %d-byte pages; one commit of %d documents for %d owners: %d frames, "
          "%.2f KiB per document" % (documents, page_size, n, owners, frames, frames * frame / 1024 / n))
    for name, count in by_tree.most_common():
        print("  %-30s %6d frames  %.3f KiB per document  %4.1f %%" %
              (name, count, count * frame / 1024 / n, 100.0 * count / frames))


if __name__ == "__main__":
    main()
