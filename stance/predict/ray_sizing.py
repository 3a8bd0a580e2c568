"""Sizing `engine=ray` to the machine: a local Ray's CPUs, starting or joining Ray, the scoring actors that fit."""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

from stance.errors import StanceError

log = logging.getLogger(__name__)

PARSE_CPUS = 0.25  # reading and sentence splitting a shard is light next to scoring it


def local_cpus(cores: int, options: Any) -> int:
    """Logical CPUs of a local Ray: one per core for the scoring actors, plus room for the light stages.

    Parsing and pair finding use little CPU beside scoring; counting them against
    the cores would leave a 2-core machine one scoring actor instead of two.
    """
    light = int(options.pair_concurrency) * float(options.pair_num_cpus) + PARSE_CPUS
    return cores + math.ceil(light)


def start_ray(options: Any) -> float | None:
    """Join a Ray cluster (`ray.address`, else `$RAY_ADDRESS`) or start a local one; seconds taken, None if up already.

    A local Ray is started without the dashboard and without usage statistics:
    nothing listens beyond this machine or calls home.
    """
    import ray

    if ray.is_initialized():
        return None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = options.get("address") or os.environ.get("RAY_ADDRESS")
    began = time.perf_counter()
    if address:
        try:
            ray.init(address=str(address), log_to_driver=True)
        except Exception as exc:  # Ray raises several types here (ConnectionError, AuthenticationError, RuntimeError)
            raise StanceError(refused_connection(str(address), exc)) from None
    else:
        cpus = options.get("local_cpus") or local_cpus(os.cpu_count() or 1, options)
        ray.init(num_cpus=int(cpus), include_dashboard=False, log_to_driver=True)
    return time.perf_counter() - began


AUTH_HINT = (
    "the cluster uses token authentication: set RAY_AUTH_MODE=token in this shell too, with the cluster's token "
    "(RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, or the default file ~/.ray/auth_token; `ray get-auth-token` on the "
    "head node prints it)"
)


def refused_connection(address: str, exc: BaseException) -> str:
    """What a user reads when joining the Ray cluster at `address` failed: what happened and what to set."""
    text = f"{type(exc).__name__}: {exc}"
    if "auth" in text.lower() or "token" in text.lower():
        return f"engine=ray: the Ray cluster at {address} refused this driver ({text.splitlines()[0]}); {AUTH_HINT}"
    return (
        f"engine=ray: cannot join the Ray cluster at {address} ({text.splitlines()[0]}); is `ray start --head` "
        "running there, and is ray.address (or $RAY_ADDRESS) host:port of its GCS (6379 by default)?"
    )


def fitting_scorers(cluster_cpus: float, options: Any) -> int:
    """How many of the `ray.concurrency` scoring actors the cluster's CPUs hold at once, beside the pair finders."""
    left = cluster_cpus - int(options.pair_concurrency) * float(options.pair_num_cpus)
    per_actor = float(options.num_cpus)
    fit = int(left // per_actor) if per_actor > 0 else int(options.concurrency)
    return max(0, min(int(options.concurrency), fit))


def warn_if_cramped(options: Any) -> None:
    """Warn when the cluster's CPUs hold fewer scoring actors than `ray.concurrency` beside the pair finders."""
    import ray

    cpus = float(ray.cluster_resources().get("CPU", 0))
    fit = fitting_scorers(cpus, options)
    if fit < int(options.concurrency):
        # Ray does not refuse such a pool: it runs the actors that fit and the job is silently slower.
        log.warning(
            "the cluster has %g CPUs: %d pair finders × %g CPUs and %d scoring actors × %g CPUs do not fit; "
            "%d scoring actor(s) run at once (lower ray.num_cpus / ray.pair_num_cpus, or add nodes)",
            cpus,
            int(options.pair_concurrency),
            float(options.pair_num_cpus),
            int(options.concurrency),
            float(options.num_cpus),
            fit,
        )
