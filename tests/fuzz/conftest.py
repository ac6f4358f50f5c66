"""Fuzzing profiles: a small one inside `make test`, at least 10,000 examples per handler in
`make fuzz` (HYPOTHESIS_PROFILE=fuzz). Outcome counts are printed at the end."""

import os
from collections import Counter, defaultdict

from hypothesis import HealthCheck, settings

common = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                              HealthCheck.data_too_large, HealthCheck.large_base_example],
    "database": None,
    "derandomize": False,
}  # fmt: skip
settings.register_profile("ci", max_examples=60, **common)
settings.register_profile("fuzz", max_examples=10_000, **common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

OUTCOMES: dict[str, Counter] = defaultdict(Counter)


def pytest_terminal_summary(terminalreporter) -> None:
    if not OUTCOMES:
        return
    terminalreporter.section("fuzz outcomes (per handler: outcome -> count)")
    for handler, counts in sorted(OUTCOMES.items()):
        unhandled = counts.get("UNHANDLED", 0)
        terminalreporter.write_line(
            f"{handler}: {sum(counts.values())} examples, {unhandled} unhandled: "
            + ", ".join(f"{code} {n}" for code, n in counts.most_common())
        )
