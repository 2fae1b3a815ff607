"""Which workers are alive: each worker's main process writes a short-lived key to the broker's
Redis every ``HEARTBEAT_SECONDS``; readers (the health check, the queue estimate, /metrics)
count the keys that have not expired.

A key per worker (not per pool process) is enough: the main process restarts a pool process
that dies, and the key says how many processes it grades with.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis

#: Keys of live workers: ``autograde:worker:<hostname>``.
PREFIX = "autograde:worker:"


@dataclass(frozen=True)
class Liveness:
    """What the broker says about the workers."""

    #: Whether the broker answered.
    broker: bool
    #: Grading processes of the live workers (0: none alive; None: the broker did not answer).
    processes: int | None
    #: The live workers' names.
    workers: tuple[str, ...] = ()

    @property
    def worker_alive(self) -> bool | None:
        return None if self.processes is None else self.processes > 0


def _client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)


class Beat:
    """The heartbeat of one worker, from a daemon thread until :meth:`stop`."""

    def __init__(self, redis_url: str, hostname: str, processes: int, interval: float) -> None:
        self._client = _client(redis_url)
        self._key = PREFIX + hostname
        self._value = json.dumps({"processes": processes, "pid": os.getpid(),
                                  "host": socket.gethostname()})
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="heartbeat")
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                # Three beats missed and the worker counts as gone.
                self._client.set(self._key, self._value, ex=max(1, round(self._interval * 3)))
            except redis.RedisError:
                pass  # the broker is away; the worker reconnects by itself, so do we
            if self._stop.wait(self._interval):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._client.delete(self._key)
        except redis.RedisError:
            pass


_cache: dict[str, tuple[float, Liveness]] = {}
_cache_lock = threading.Lock()


def liveness(redis_url: str, max_age: float = 2.0) -> Liveness:
    """The live workers, as read from the broker at most every ``max_age`` seconds."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(redis_url)
        if cached is not None and now - cached[0] < max_age:
            return cached[1]
    found = _read(redis_url)
    with _cache_lock:
        _cache[redis_url] = (time.monotonic(), found)
    return found


def grading_processes(redis_url: str) -> int:
    """Grading processes of the live workers; 0 if none, or if the broker does not answer."""
    return liveness(redis_url).processes or 0


def _read(redis_url: str) -> Liveness:
    client = _client(redis_url)
    try:
        keys = sorted(client.scan_iter(match=PREFIX + "*", count=100))
        values = client.mget(keys) if keys else []
    except redis.RedisError:
        return Liveness(broker=False, processes=None)
    finally:
        client.close()
    processes, names = 0, []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            continue  # expired between the scan and the read
        names.append(_text(key)[len(PREFIX):])
        processes += int(_load(value).get("processes", 1))
    return Liveness(broker=True, processes=processes, workers=tuple(names))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _load(value: Any) -> dict[str, Any]:
    try:
        loaded = json.loads(_text(value))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
