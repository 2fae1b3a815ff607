"""``/metrics`` in Prometheus's text format, for the addresses in ``METRICS_ALLOW`` or a client
sending ``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets 403.

Every figure is read at scrape time from where it lives: the database (queue, durations,
retries, poison runs, LMS outbox; :mod:`grader.domain.service_stats`) and the broker (its
queue length and the workers' heartbeats), so any web process answers for the whole service.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Iterator
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from grader.domain.service_stats import Histogram, ServiceStats, service_stats
from grader.extensions import db
from grader.heartbeat import liveness

bp = Blueprint("metrics", __name__)

#: Celery's default queue: a Redis list of the messages waiting for a worker.
CELERY_QUEUE = "celery"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def allowed_networks(setting: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``METRICS_ALLOW``: addresses or networks, a space-separated string or a JSON list."""
    items = setting
    if isinstance(setting, str):
        try:
            items = json.loads(setting)
        except ValueError:
            items = setting.split()
    return [ipaddress.ip_network(str(item).strip(), strict=False) for item in items or []]


def _permitted() -> bool:
    config = current_app.config
    token = config.get("METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(
            sent[7:].encode(), str(token).encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in allowed_networks(config["METRICS_ALLOW"]))


@bp.get("/metrics")
def metrics() -> Response:
    """The service's figures (see :class:`ServiceCollector`)."""
    if not _permitted():
        return Response("metrics are served to the addresses in METRICS_ALLOW or with "
                        "METRICS_TOKEN\n", status=403, mimetype="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(current_app.config["REDIS_URL"],
                                       int(current_app.config["MAX_LOST_LEASES"])))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _histogram(name: str, doc: str, labels: list[str],
               series: dict[tuple[str, ...], Histogram]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=labels)
    for values, found in sorted(series.items()):
        buckets = [(repr(bound), count) for bound, count in found.buckets]
        family.add_metric(list(values), [*buckets, ("+Inf", found.count)], found.total)
    return family


class ServiceCollector(Collector):
    """Reads the figures when Prometheus scrapes."""

    def __init__(self, redis_url: str, max_lost_leases: int) -> None:
        self.redis_url = redis_url
        self.max_lost_leases = max_lost_leases

    def collect(self) -> Iterator[Metric]:
        stats: ServiceStats | None
        try:
            stats = service_stats(db.session, self.max_lost_leases)
        except Exception:  # a scrape must answer: the database's absence is itself a figure
            db.session.rollback()
            stats = None
        yield GaugeMetricFamily("autograde_database_up", "1 if the database answered.",
                                value=0 if stats is None else 1)
        yield from self._broker()
        if stats is not None:
            yield from self._stats(stats)

    def _broker(self) -> Iterator[Metric]:
        state = liveness(self.redis_url, max_age=1.0)
        yield GaugeMetricFamily("autograde_broker_up", "1 if the broker (Redis) answered.",
                                value=int(state.broker))
        if not state.broker:
            return
        yield GaugeMetricFamily("autograde_worker_processes",
                                "Grading processes of the workers alive (by heartbeat).",
                                value=state.processes or 0)
        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=0.5,
                                      socket_timeout=0.5)
        try:
            waiting = int(client.llen(CELERY_QUEUE))
        except redis.RedisError:
            return
        finally:
            client.close()
        yield GaugeMetricFamily("autograde_broker_queue_messages",
                                "Messages waiting in the broker's queue for a worker.",
                                value=waiting)

    def _stats(self, stats: ServiceStats) -> Iterator[Metric]:
        depth = GaugeMetricFamily("autograde_queue_depth",
                                  "Grading runs waiting (queued) or being graded (running).",
                                  labels=["state"])
        depth.add_metric(["queued"], stats.queued)
        depth.add_metric(["running"], stats.running)
        yield depth
        if stats.upload_to_graded is not None:
            yield _histogram("autograde_upload_to_graded_seconds",
                             "Seconds from upload to a final result (initial runs).", [],
                             {(): stats.upload_to_graded})
        yield _histogram("autograde_grading_seconds",
                         "Seconds from a worker's claim to the result, by final status.",
                         ["status"], {(k,): v for k, v in stats.grading.items()})
        levels = CounterMetricFamily("autograde_runs_by_sandbox_level",
                                     "Finished runs by the sandbox isolation they ran under.",
                                     labels=["level"])
        for level, count in sorted(stats.sandbox_levels.items()):
            levels.add_metric([level], count)
        yield levels
        yield CounterMetricFamily("autograde_grading_retries",
                                  "Retries after our own errors, over all runs.",
                                  value=stats.retries)
        yield CounterMetricFamily("autograde_lost_leases",
                                  "Leases that expired without a result (a worker died).",
                                  value=stats.lost_leases)
        yield CounterMetricFamily("autograde_poison_runs",
                                  "Runs given up as grader_error after MAX_LOST_LEASES.",
                                  value=stats.poison_runs)
        yield GaugeMetricFamily("autograde_lms_outbox_backlog",
                                "LMS score changes not delivered yet.",
                                value=stats.outbox_backlog)
        yield GaugeMetricFamily("autograde_lms_outbox_failing",
                                "Undelivered LMS scores whose last delivery failed.",
                                value=stats.outbox_failing)
        yield GaugeMetricFamily("autograde_lms_delivery_failures",
                                "Failed delivery attempts of the undelivered LMS scores.",
                                value=stats.outbox_failures)
