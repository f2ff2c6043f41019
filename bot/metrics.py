"""The bot's metrics in Prometheus's text format, served at ``/metrics``.

Fed by hooks, never sprinkled through the code: :class:`Metrics` is the
services' :class:`~bot.observe.Observer` (every send, answered event and
successful ``getUpdates``), and what the database holds (reminders by state,
the outbox's lag, the audit trail's length) is read from it at each scrape by
:class:`StoreCollector`. The health monitor (:mod:`bot.health`) sets the
gauges of its own checks. Every name starts with ``trial_bot_``:

=====================================================  ==========================================
``trial_bot_sends_total{channel,outcome}``             messages handed to a channel (reminders,
                                                       alerts, digests) by what became of them:
                                                       ``sent``, ``rate_limited`` (429),
                                                       ``not_delivered``, ``maybe_delivered``,
                                                       ``blocked``, ``rejected``,
                                                       ``undeliverable``, ``error``
``trial_bot_rate_limited_total{channel}``              429 answers (flood limits)
``trial_bot_uncertain_deliveries_total{channel}``      sends that may or may not have arrived
``trial_bot_handler_seconds{channel}``                 histogram: time to answer one inbound event
``trial_bot_last_get_updates_success_timestamp_seconds``  last ``getUpdates`` Telegram answered
``trial_bot_engine_last_tick_timestamp_seconds``       last refill of the reminder engine
``trial_bot_database_writable``                        1 while the heartbeat's write goes through
``trial_bot_healthy``                                  1 while ``/healthz`` answers 200
``trial_bot_reminders{state}``                         reminders in each state
``trial_bot_outbox_lag_seconds``                       how late the oldest due pending reminder is
                                                       (trial time; 0 when none is waiting)
``trial_bot_audit_records_total``                      records in the audit trail
``trial_bot_database_up``                              1 when the scrape could read the database
=====================================================  ==========================================

Timestamps are real time (Unix seconds); the outbox lag is measured on the
trial clock, the one reminders are due by.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.observe import MAYBE_DELIVERED, RATE_LIMITED
from core.store.db import read_session
from core.store.models import AuditHead, Channel, ReminderStatus
from scheduler import outbox
from scheduler.clock import Clock

__all__ = ["CONTENT_TYPE", "Metrics", "StoreCollector"]

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From a button press answered at once to a report with a photo (seconds).
HANDLER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Every metric of one running bot, in a registry of its own (several bots in one test
    process never share counters). It is the services' observer."""

    def __init__(self, real_time: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry()
        self._real_time = real_time
        self.last_poll: float | None = None
        r = self.registry
        self.sends = Counter(
            "trial_bot_sends",
            "Messages handed to a channel, by channel and what became of them",
            ["channel", "outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "trial_bot_rate_limited", "Sends a channel answered with 429", ["channel"], registry=r
        )
        self.uncertain = Counter(
            "trial_bot_uncertain_deliveries",
            "Sends that may or may not have arrived (no answer came back)",
            ["channel"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "trial_bot_handler_seconds",
            "Seconds to answer one inbound event (command, text, button), by channel",
            ["channel"],
            buckets=HANDLER_BUCKETS,
            registry=r,
        )
        self.last_poll_gauge = Gauge(
            "trial_bot_last_get_updates_success_timestamp_seconds",
            "When Telegram last answered getUpdates (Unix time; 0 before the first)",
            registry=r,
        )
        self.engine_tick = Gauge(
            "trial_bot_engine_last_tick_timestamp_seconds",
            "When the reminder engine last refilled (Unix time; 0 before the first)",
            registry=r,
        )
        self.database_writable = Gauge(
            "trial_bot_database_writable",
            "1 while the database takes the heartbeat's write, 0 once it refused it",
            registry=r,
        )
        self.healthy = Gauge(
            "trial_bot_healthy", "1 while /healthz answers 200, 0 otherwise", registry=r
        )
        self.database_writable.set(1)
        self.healthy.set(1)
        for channel in Channel:  # every channel's series exists from the start, at 0
            self.rate_limited.labels(channel.value)
            self.uncertain.labels(channel.value)

    # --- the observer's hooks ------------------------------------------------------------

    def delivered(self, channel: Channel, outcome: str) -> None:
        self.sends.labels(channel.value, outcome).inc()
        if outcome == RATE_LIMITED:
            self.rate_limited.labels(channel.value).inc()
        elif outcome == MAYBE_DELIVERED:
            self.uncertain.labels(channel.value).inc()

    def handled(self, channel: Channel, seconds: float) -> None:
        self.handler_seconds.labels(channel.value).observe(seconds)

    def polled(self) -> None:
        self.last_poll = self._real_time()
        self.last_poll_gauge.set(self.last_poll)

    # --- what the database holds --------------------------------------------------------

    def watch_store(self, db: Engine, clock: Clock) -> None:
        """Read the reminders, the outbox's lag and the audit trail's length at each scrape."""
        self.registry.register(StoreCollector(db, clock))

    def render(self) -> bytes:
        """Every metric in Prometheus's text exposition format."""
        return generate_latest(self.registry)


class StoreCollector(Collector):
    """Metrics read from the database when scraped; a database that does not answer gives
    ``trial_bot_database_up 0`` and nothing else from it, never a failed scrape."""

    def __init__(self, db: Engine, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "trial_bot_database_up", "1 when this scrape could read the database"
        )
        try:
            found = self._read()
        except SQLAlchemyError as error:
            log.warning("metrics: the database did not answer: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from found

    def _read(self) -> list[Metric]:
        now = self.clock.now()
        with read_session(self.db) as session:
            counts = outbox.count_by_status(session)
            oldest = outbox.oldest_waiting(session, now)
            head = session.get(AuditHead, 1)
        states = GaugeMetricFamily(
            "trial_bot_reminders", "Reminders in each state", labels=["state"]
        )
        for state in ReminderStatus:
            states.add_metric([state.value], counts.get(state, 0))
        lag = GaugeMetricFamily(
            "trial_bot_outbox_lag_seconds",
            "Trial seconds the oldest due pending reminder has waited (0 when none waits)",
        )
        lag.add_metric([], 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()))
        audit = CounterMetricFamily(
            "trial_bot_audit_records", "Records in the audit trail (its last sequence number)"
        )
        audit.add_metric([], 0 if head is None else head.last_seq)
        return [states, lag, audit]
