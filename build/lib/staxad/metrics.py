"""staxad's own Prometheus metrics, one registry per daemon (tests run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DEPLOY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "staxad_http_requests", "API requests by route and status", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "staxad_http_request_seconds",
            "API latency by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rate_limited = Counter("staxad_rate_limit_rejections", "Requests refused with 429", ["bucket"], registry=r)
        self.deployments = Counter("staxad_deployments", "Finished deployments by outcome", ["outcome"], registry=r)
        self.deploy_seconds = Histogram(
            "staxad_deployment_seconds",
            "Deployment duration by outcome",
            ["outcome"],
            buckets=DEPLOY_BUCKETS,
            registry=r,
        )
        self.reconcile_errors = Counter("staxad_reconcile_errors", "Reconcile passes that failed", registry=r)
        self.reconcile_lag = Histogram(
            "staxad_reconcile_lag_seconds", "From a change to the start of its reconcile pass", registry=r
        )
        self.streams = Gauge("staxad_open_streams", "SSE streams being served", ["kind"], registry=r)
        self.tenants = Gauge("staxad_tenants", "Tenants by status", ["status"], registry=r)

    def set_tenants(self, counts: dict[str, int]) -> None:
        """Tenants by status, read from the store when metrics are scraped."""
        self.tenants.clear()
        for status, count in counts.items():
            self.tenants.labels(status).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
