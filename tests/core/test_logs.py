"""JSON and plain logs with a request id: taken from X-Request-ID when well formed, else
made; on every record of the request; returned in the response."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest

from casebridge.core import logs

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("abc-123", True),
        ("a" * 128, True),
        ("req.1:2_3", True),
        ("a" * 129, False),
        ("", False),
        (None, False),
        ("bad id", False),
        ("line\nbreak", False),
        ("é", False),
        ('{"x":1}', False),
    ],
)
def test_well_formed_request_ids(value, ok):
    assert logs.well_formed(value) is ok


def _access_records(caplog):
    return [r for r in caplog.records if r.name == "casebridge.request"]


def test_a_well_formed_request_id_is_kept_logged_and_returned(client, db, caplog):
    caplog.set_level(logging.INFO, logger="casebridge.request")
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="abc-123.x")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "abc-123.x"
    [record] = _access_records(caplog)
    assert record.request_id == "abc-123.x"
    assert (record.method, record.path, record.status) == ("GET", "/no-such-page/", 404)
    assert record.getMessage() == "GET /no-such-page/ 404"


@pytest.mark.parametrize("given", [None, "has space", "x" * 129, "a\u202eb"])
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(client, db, caplog, given):
    caplog.set_level(logging.INFO, logger="casebridge.request")
    headers = {} if given is None else {"HTTP_X_REQUEST_ID": given}
    response = client.get("/no-such-page/", **headers)
    assert HEX32.fullmatch(response["X-Request-ID"])
    [record] = _access_records(caplog)
    assert record.request_id == response["X-Request-ID"]


def test_two_requests_get_two_ids(client, db):
    first = client.get("/no-such-page/")["X-Request-ID"]
    second = client.get("/no-such-page/")["X-Request-ID"]
    assert first != second


def test_probes_write_no_access_line(client, db, caplog):
    caplog.set_level(logging.INFO, logger="casebridge.request")
    client.get("/healthz")
    assert _access_records(caplog) == []


def test_a_path_with_a_line_break_is_logged_on_one_line(client, db, caplog):
    caplog.set_level(logging.INFO, logger="casebridge.request")
    client.get("/a%0Ab/")
    [record] = _access_records(caplog)
    assert record.getMessage() == "GET /a\\nb/ 404"


@pytest.mark.parametrize("side", ["books", "cases"])
def test_a_reset_links_token_never_reaches_the_log(client, db, caplog, side):
    """Whoever reads the logs must not be able to reset a password with the link's token."""
    caplog.set_level(logging.INFO, logger="casebridge.request")
    client.get(f"/{side}/password/reset/1.f0099a:ITXfUsecret/")
    [record] = _access_records(caplog)
    assert "ITXfUsecret" not in record.getMessage()
    assert record.getMessage().startswith(f"GET /{side}/password/reset/[token]/ ")
    assert record.path == f"/{side}/password/reset/[token]/"


def _record(message: str = "hello %s", args=("world",), **extra) -> logging.LogRecord:
    record = logging.getLogger("casebridge.test").makeRecord(
        "casebridge.test", logging.WARNING, __file__, 1, message, args, None, extra=extra
    )
    return record


def test_records_made_under_a_request_id_carry_it_and_others_a_dash():
    with logs.request_id_bound("req-1"):
        inside = _record()
    outside = _record()
    assert (inside.request_id, outside.request_id) == ("req-1", "-")


def test_json_formatter_writes_one_object_per_line_with_extras():
    with logs.request_id_bound("req-7"):
        record = _record(outbox_items=[1, 2])
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "outbox_items"}
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "casebridge.test",
        "hello world",
    )
    assert (entry["request_id"], entry["outbox_items"]) == ("req-7", [1, 2])
    assert entry["time"].endswith("+00:00")


def test_json_formatter_keeps_the_traceback_in_the_object():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), __import__("sys").exc_info()
        )
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["message"] == "failed"
    assert entry["exc_info"].startswith("Traceback")
    assert entry["exc_info"].endswith("ValueError: boom")


def test_plain_formatter_shows_the_request_id():
    with logs.request_id_bound("req-9"):
        record = _record()
    line = logs.PlainFormatter().format(record)
    assert line.endswith(" WARNING [req-9] casebridge.test hello world")


def test_a_record_from_outside_the_factory_gets_the_current_id_from_the_filter():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with logs.request_id_bound("req-f"):
        assert logs.RequestIdFilter().filter(record) is True
    assert record.request_id == "req-f"


def test_a_malformed_id_bound_is_replaced():
    with logs.request_id_bound("not ok") as rid:
        assert HEX32.fullmatch(rid)
        assert logs.current_request_id() == rid
    assert logs.current_request_id() == ""


def test_the_configured_handler_writes_json_lines_through_dict_config():
    config = logs.logging_config(log_format="json", level="INFO")
    assert config["handlers"]["console"]["formatter"] == "json"
    assert (
        logs.logging_config(log_format="plain", level="INFO")["handlers"]["console"]["formatter"]
        == "plain"
    )
    with pytest.raises(ValueError, match="must be json or plain"):
        logs.logging_config(log_format="xml", level="INFO")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("casebridge.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logs.request_id_bound("req-2"):
            logger.warning("one %s", "line")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    entry = json.loads(stream.getvalue())
    assert (entry["message"], entry["request_id"]) == ("one line", "req-2")


def _settings_with(log_format: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CASEBRIDGE_LOG_FORMAT"}
    if log_format is not None:
        env["CASEBRIDGE_LOG_FORMAT"] = log_format
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; print(s.LOGGING['handlers']['console']['formatter'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("given", "chosen"), [(None, "plain"), ("json", "json"), ("PLAIN", "plain")]
)
def test_the_setting_picks_the_formatter_plain_by_default(given, chosen):
    result = _settings_with(given)
    assert (result.returncode, result.stdout) == (0, chosen + "\n")


def test_an_unknown_log_format_stops_the_settings():
    result = _settings_with("xml")
    assert result.returncode == 1
    assert "CASEBRIDGE_LOG_FORMAT must be json or plain (it is 'xml')" in result.stderr
