"""Facts about this host that staxad shows users."""

from __future__ import annotations

import json
import subprocess


def detect_server_ip() -> str | None:
    """The IPv4 address of the interface the default route uses (no packet is sent)."""
    try:
        routes = json.loads(_ip("-4", "route", "show", "default") or "[]")
        device = next((r["dev"] for r in routes if r.get("dev")), None)
        if device is None:
            return None
        for link in json.loads(_ip("-4", "addr", "show", "dev", device) or "[]"):
            for address in link.get("addr_info", []):
                if address.get("scope") == "global" and address.get("local"):
                    return str(address["local"])
    except (ValueError, KeyError, TypeError):
        return None
    return None


def _ip(*args: str) -> str:
    try:
        done = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""
