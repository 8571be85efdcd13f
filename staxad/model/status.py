"""What a service's status is, from what the store and the host say about it.

pending: nothing was deployed yet. deploying: a deployment is queued or under way.
running: the live container runs. stopped: the live container exists but does not run
(it exited, or was stopped by hand; the reconciler starts it again). failed: nothing is
live and the newest deployment failed. A running old version stays `running` while a
new deployment of it is under way only until that deployment starts: then `deploying`.
"""

from __future__ import annotations


def service_status(*, deploying: bool, live: bool, running: bool, last_failed: bool) -> str:
    if deploying:
        return "deploying"
    if live:
        return "running" if running else "stopped"
    return "failed" if last_failed else "pending"
