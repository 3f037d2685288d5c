"""Prometheus metrics, served at GET /metrics.

Counters are module-level because prometheus-client's registry is
process-wide anyway; labels stay low-cardinality (no ids, no user names).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SLACK_REQUESTS = Counter(
    "tactful_slack_requests_total", "Requests received from Slack", ["kind", "status"]
)
ACK_SECONDS = Histogram(
    "tactful_slack_ack_seconds",
    "Time from receiving a Slack request to answering it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0),
)
MESSAGES_SEEN = Counter(
    "tactful_messages_total", "Messages in watched channels, by what happened", ["outcome"]
)
DRAFTS = Counter("tactful_drafts_total", "Drafting jobs, by outcome", ["outcome"])
DECISIONS = Counter("tactful_decisions_total", "Agent decisions on cards", ["action"])
LLM_SECONDS = Histogram(
    "tactful_llm_request_seconds",
    "Latency of one LLM HTTP call",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
LLM_CALLS = Counter("tactful_llm_calls_total", "LLM HTTP calls", ["ok"])
LLM_ERRORS = Counter("tactful_llm_errors_total", "LLM failures surfaced to agents", ["kind"])
LLM_TOKENS = Counter("tactful_llm_tokens_total", "Tokens used", ["type"])
JOBS_QUEUED = Gauge("tactful_jobs_queued", "Jobs waiting in the store, all instances")
JOBS_RUNNING = Gauge("tactful_jobs_running", "Drafting jobs running in this process")
SLACK_SEND_FAILURES = Counter(
    "tactful_slack_send_failures_total", "Replies Slack refused after retries", ["error"]
)
