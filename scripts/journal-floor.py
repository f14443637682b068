#!/usr/bin/env python3
"""The journal floor: what a 4-step saga's journal costs one at a time with no engine at all.

Replays, with Python's sqlite3 and nothing else, the SQL that Sagas runs for one successful 4-step saga: five
immediate transactions (the saga's row with its first two events; three times the summary update with a step's
outcome and the next step's start; the final update with the last outcome and the saga's end), each committed
with WAL and synchronous=FULL. The database is a real Sagas database (made by `saga bench --db`), so the tables,
indexes and page layout are the engine's own. `saga bench --mode latency` minus this is what the engine adds.

    scripts/journal-floor.py SAGA_BINARY [--sagas 300] [--sync FULL]

Prints one JSON object: perSagaP50Ms, perStepP50Ms, perCommitP50Ms, and the sagas timed.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time

EVENT = "INSERT INTO saga_events (saga_id, seq, at, type, step, payload) VALUES (?, ?, ?, ?, ?, ?)"
STEP = ("UPDATE sagas SET current_step = COALESCE(?, current_step), last_error = COALESCE(?, last_error), "
        "updated_at = COALESCE(?, updated_at), last_seq = ?, lease_expires_at = ? "
        "WHERE id = ? AND owner = ? AND last_seq = ? AND status = ?")
NEW = ("INSERT INTO sagas (id, workflow, version, definition_digest, base_directory, input, status, created_at, "
       "updated_at, owner, lease_expires_at, current_step, last_error, cancel_reason, cancel_requested_at, last_seq) "
       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
END = ("UPDATE sagas SET status = ?, current_step = COALESCE(?, current_step), last_error = COALESCE(?, last_error), "
       "updated_at = COALESCE(?, updated_at), last_seq = ?, owner = CASE WHEN ? THEN NULL ELSE owner END, "
       "lease_expires_at = CASE WHEN ? THEN NULL ELSE ? END WHERE id = ?")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("saga")
    ap.add_argument("--sagas", type=int, default=300)
    ap.add_argument("--sync", default="FULL")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="journal-floor-")
    try:
        path = os.path.join(work, "floor.db")
        subprocess.run([a.saga, "bench", "--sagas", "2", "--db", path, "--json"], check=True,
                       stdout=subprocess.DEVNULL)
        c = sqlite3.connect(path, isolation_level=None)
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.execute("PRAGMA journal_mode=WAL")
        c.execute(f"PRAGMA synchronous={a.sync}")
        c.execute("PRAGMA foreign_keys=ON")
        digest = c.execute("SELECT definition_digest FROM sagas LIMIT 1").fetchone()[0]
        started = '{"attempt":1,"idempotencyKey":"%s/step-%d/action"}'
        done = '{"attempt":1,"durationMs":0,"output":null}'
        base = int(time.time() * 1000)
        per_saga = []
        for i in range(a.sagas + 20):
            sid, now = f"floor-{base}-{i:06d}", base + i
            t = time.perf_counter()
            c.execute("BEGIN IMMEDIATE")
            c.execute("SELECT 1 FROM sagas WHERE id = ?", (sid,)).fetchall()
            c.execute(NEW, (sid, "bench", 1, digest, None, "{}", "running", now, now, "floor", now + 30000, "step-1",
                            None, None, None, 2))
            c.execute(EVENT, (sid, 1, now, "saga.started", None, '{"data":{"input":{}}}'))
            c.execute(EVENT, (sid, 2, now, "step.started", "step-1", started % (sid, 1)))
            c.execute("COMMIT")
            seq = 2
            for step in range(1, 4):
                c.execute("BEGIN IMMEDIATE")
                c.execute(STEP, (f"step-{step + 1}", None, now, seq + 2, now + 30000, sid, "floor", seq, "running"))
                c.execute(EVENT, (sid, seq + 1, now, "step.succeeded", f"step-{step}", done))
                c.execute(EVENT, (sid, seq + 2, now, "step.started", f"step-{step + 1}", started % (sid, step + 1)))
                c.execute("COMMIT")
                seq += 2
            c.execute("BEGIN IMMEDIATE")
            c.execute(END, ("completed", None, None, now, seq + 2, 1, 1, None, sid))
            c.execute(EVENT, (sid, seq + 1, now, "step.succeeded", "step-4", done))
            c.execute(EVENT, (sid, seq + 2, now, "saga.completed", None, "{}"))
            c.execute("COMMIT")
            if i >= 20:  # the first ones warm the cache
                per_saga.append((time.perf_counter() - t) * 1000)
        c.close()
        p50 = statistics.median(per_saga)
        print(json.dumps({"sagas": len(per_saga), "synchronous": a.sync, "perSagaP50Ms": round(p50, 4),
                          "perStepP50Ms": round(p50 / 4, 4), "perCommitP50Ms": round(p50 / 5, 4)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
