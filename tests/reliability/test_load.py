"""Load: many concurrent clients against a real `hoidap serve`; every reply must be a valid answer.

Throughput and latency are printed (a line starting with "LOAD:") and, when
HOIDAP_LOAD_REPORT names a file, written to it as JSON; they are not asserted.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from conftest import CORPUS

from eval.qa import DEFAULT_QA, load_qa

CLIENTS = 50
SECONDS = 20.0


def varied_questions() -> list[str]:
    """The first question of each kind of the shipped Q&A set (facts, lists, no diacritics, English…)."""
    by_kind: dict[str, str] = {}
    for item in load_qa(DEFAULT_QA, CORPUS):
        by_kind.setdefault(item.kind, item.question)
    return list(by_kind.values())


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def test_concurrent_clients_get_only_valid_answers(served: Any, check_answer: Any, capsys: Any) -> None:
    questions = varied_questions()
    replies: list[tuple[int, Any]] = []
    answered = [0] * CLIENTS
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def client(number: int) -> None:
        conn = served.connection()
        i = number
        try:
            while time.monotonic() < stop_at:
                question = questions[i % len(questions)]
                i += 1
                t0 = time.perf_counter()
                try:
                    status, data = served.ask({"question": question}, conn)
                except (OSError, ValueError) as exc:  # http.client errors are OSError or HTTPException(ValueError)
                    with lock:
                        failures.append(f"client {number}: {type(exc).__name__}: {exc}")
                    conn.close()
                    conn = served.connection()
                    continue
                elapsed = time.perf_counter() - t0
                with lock:
                    replies.append((status, data))
                    latencies.append(elapsed)
                    answered[number] += 1
        finally:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 120)
    wall = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "a client is still waiting for an answer"

    bad_status = [(status, data) for status, data in replies if status != 200]
    latencies.sort()
    report = {
        "clients": CLIENTS,
        "seconds": round(wall, 1),
        "requests": len(replies),
        "requests_per_s": round(len(replies) / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1) if latencies else None,
        "errors": len(failures) + len(bad_status),
    }
    with capsys.disabled():
        print(
            f"\nLOAD: {report['clients']} clients, {report['seconds']} s, {report['requests']} requests, "
            f"{report['requests_per_s']} requests/s, p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms, "
            f"errors {report['errors']}"
        )
    if os.environ.get("HOIDAP_LOAD_REPORT"):
        Path(os.environ["HOIDAP_LOAD_REPORT"]).write_text(json.dumps(report, indent=2), "utf-8")

    assert not failures, (failures[:5], [(s, d) for s, d in replies if s != 200][:3])
    assert not bad_status, bad_status[:3]
    assert min(answered) >= 1  # all the clients ran side by side
    for _status, data in replies:
        check_answer(data)
    asked = {data["question"] for _status, data in replies}
    assert len(asked) == len(questions)

