#!/usr/bin/python3
"""Python sqlite3 peer of PairStore.AddMinedBatch (tests/LlavaMod.Benchmarks/Pairs/PairStoreBench.cs).

Reads the same JSON lines file (made by `pairs-generate`), starts from an empty migrated index made by
`pairs-schema` (so the schema, indexes, triggers and FTS tables are PairStore's own), opens it with
PairStore's pragmas (WAL, synchronous=FULL, foreign keys) and runs PairStore's statements, one
IMMEDIATE transaction per batch. Parsing the file is outside the timed part, as in the C# harness.

usage: sqlite_pairs.py ROWS.jsonl SCHEMA.db OUT.db [BATCH]
"""
import array
import hashlib
import json
import shutil
import sqlite3
import sys
import time

INSERT_PROMPT = """INSERT INTO prompts (run_id, prompt_key, text, token_ids, image_key, image_path, meta_json)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, prompt_key) DO NOTHING RETURNING id"""
SELECT_PROMPT = "SELECT id FROM prompts WHERE run_id = ? AND prompt_key = ?"
INSERT_RESPONSE = """INSERT INTO responses (prompt_id, text_sha256, text, token_ids, token_count, score, claims_json, sampler_logp)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (prompt_id, text_sha256) DO NOTHING RETURNING id"""
SELECT_RESPONSE = "SELECT id FROM responses WHERE prompt_id = ? AND text_sha256 = ?"
INSERT_PAIR = """INSERT INTO pairs (run_id, prompt_id, chosen_id, rejected_id, chosen_score, rejected_score, gap, severity,
                   ref_chosen_logp, ref_chosen_tokens, ref_rejected_logp, ref_rejected_tokens, length, split, source)
SELECT p.run_id, c.prompt_id, c.id, r.id, c.score, r.score, c.score - r.score, ?3, ?4, ?5, ?6, ?7,
       max(c.token_count, r.token_count), ?8, ?9
FROM responses c JOIN prompts p ON p.id = c.prompt_id JOIN responses r ON r.id = ?2
WHERE c.id = ?1
ON CONFLICT (chosen_id, rejected_id) DO NOTHING"""
SELECT_PAIR = "SELECT id FROM pairs WHERE chosen_id = ? AND rejected_id = ?"
RUN = ("bench", "teacher", "t1", "sampler", "s1", "reference", "r1", "{}")


def blob(ids):
    a = array.array("i", ids)  # int32, little-endian on the x86-64 and arm64 machines this runs on
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def one_id(cursor):
    row = cursor.fetchone()
    return None if row is None else row[0]


def add_mined_batch(db, run_id, batch):
    pairs = 0
    db.execute("BEGIN IMMEDIATE")
    try:
        for m in batch:
            prompt_id = one_id(db.execute(INSERT_PROMPT, (run_id, m["prompt_key"], m["text"], blob(m["token_ids"]), m["image_key"], m["image_path"], None)))
            if prompt_id is None:
                prompt_id = one_id(db.execute(SELECT_PROMPT, (run_id, m["prompt_key"])))
            ids = []
            for r in m["responses"]:
                sha = hashlib.sha256(r["text"].encode("utf-8")).hexdigest()
                rid = one_id(db.execute(INSERT_RESPONSE, (prompt_id, sha, r["text"], blob(r["token_ids"]), len(r["token_ids"]), r["score"], r["claims_json"], r["sampler_logp"])))
                if rid is None:
                    rid = one_id(db.execute(SELECT_RESPONSE, (prompt_id, sha)))
                ids.append(rid)
            for p in m["pairs"]:
                if not (p["severity"] >= 0):
                    raise ValueError("severity")
                chosen, rejected = ids[p["chosen"]], ids[p["rejected"]]
                n = db.execute(INSERT_PAIR, (chosen, rejected, p["severity"], p["ref_chosen_logp"], p["ref_chosen_tokens"],
                                             p["ref_rejected_logp"], p["ref_rejected_tokens"], p["split"], "mined")).rowcount
                if n == 0 and one_id(db.execute(SELECT_PAIR, (chosen, rejected))) is None:
                    raise ValueError(f"pair ({chosen}, {rejected}): no response with that id")
                pairs += n
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return pairs


def batches(path, size):
    batch = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            batch.append(json.loads(line))
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def main():
    rows, schema, out = sys.argv[1:4]
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    shutil.copyfile(schema, out)
    db = sqlite3.connect(out, isolation_level=None)  # explicit BEGIN/COMMIT, as PairStore
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 60000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("""INSERT INTO runs (name, teacher, teacher_version, sampler, sampler_version, scorer, scorer_version, settings_json, created_utc)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00Z') ON CONFLICT (name) DO NOTHING""", RUN)
    run_id = db.execute("SELECT id FROM runs WHERE name = ?", (RUN[0],)).fetchone()[0]
    wall = cpu = parse = 0.0
    pairs = 0
    it = batches(rows, size)
    while True:
        t = time.perf_counter()
        batch = next(it, None)
        parse += time.perf_counter() - t
        if batch is None:
            break
        w, c = time.perf_counter(), time.process_time()
        pairs += add_mined_batch(db, run_id, batch)
        wall += time.perf_counter() - w
        cpu += time.process_time() - c
    db.close()
    print(f"python sqlite3 {sqlite3.sqlite_version}: {pairs} pairs, batch {size}: insert {wall:.2f} s wall ({pairs / wall:.0f} pairs/s), "
          f"{cpu:.2f} s CPU ({pairs / max(cpu, 1e-9):.0f} pairs/s); parsing the file (untimed) {parse:.1f} s")


if __name__ == "__main__":
    main()
