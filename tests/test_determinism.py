"""The suite passes at any pace: nothing in it is limited by wall-clock time it does not
control (a loaded machine makes every step slower, never a test red)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def test_property_tests_count_examples_never_milliseconds():
    # hypothesis's default deadline (200 ms an example) and its "too slow" health check
    # fail a correct test on a busy machine; the suite's profile turns both off
    assert settings.default.deadline is None
    assert HealthCheck.too_slow in settings.default.suppress_health_check
