"""The sources file is checked whole at start-up: every problem named at once, by where it
is, with no secret in the message; and what it configures reaches the connector."""

from __future__ import annotations

import os

import pytest
import yaml

from ketenbrug.config import ConfigError, Settings
from ketenbrug.connectors import http
from ketenbrug.connectors.source_config import SourcesError, load_sources, schedules
from tests.pki import make_pki

SECRET = "tok-4f1b2c3d-never-printed"


def _write(tmp_path, sources):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": sources}, sort_keys=False))
    return path


def _problems(tmp_path, sources, **kwargs) -> list[str]:
    with pytest.raises(SourcesError) as raised:
        load_sources(_write(tmp_path, sources), environ={"SET": SECRET}, **kwargs)
    assert SECRET not in str(raised.value)
    return raised.value.problems


def test_a_good_file_configures_the_connection(tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    configured = load_sources(_write(tmp_path, {
        "probation": {"base_url": "https://probation.example.nl/api/", "retries": 2,
                      "auth": {"bearer": {"file": str(secret_file)}},
                      "timeouts": {"connect_s": 1.5, "read_s": 60}, "rate_limit_per_s": 4,
                      "page_cap": 500, "schedule": "15 1 * * 1-5"},
        "wijkteam": {"base_url": "https://wijk.example.nl", "auth": {"api_key": {"env": "SET"}}},
    }), environ={"SET": SECRET})
    probation = configured["probation"].settings
    assert (probation.base_url, probation.credential) == ("https://probation.example.nl/api",
                                                          SECRET)
    assert (probation.connect_timeout_s, probation.read_timeout_s, probation.max_retries,
            probation.max_pages, probation.rate_limit_per_s) == (1.5, 60.0, 2, 500, 4)
    assert configured["probation"].schedule == "15 1 * * 1-5"
    assert configured["wijkteam"].auth_kind == "api_key"
    assert SECRET not in repr(configured)


def test_every_problem_is_named_in_one_message(tmp_path):
    loose = tmp_path / "loose-token"
    loose.write_text(SECRET)
    loose.chmod(0o644)
    problems = _problems(tmp_path, {
        "probation": {"base_url": "http://probation.example.nl",
                      "auth": {"bearer": {"env": "UNSET_TOKEN"}}, "schedule": "every night"},
        "dji": {"base_url": "https://dji.example.nl", "auth": {"api_key": {"env": "SET"}}},
        "care": {"base_url": "https://care.example.nl", "auth": {"bearer": {"file": str(loose)}},
                 "tls": {"client_cert": str(tmp_path / "absent.pem"),
                         "client_key": str(tmp_path / "absent.key")}},
    }, required=("probation", "dji", "care", "municipal_orders"))
    assert problems == [
        "sources.probation: base_url: plain http is allowed only to this machine; use https",
        "sources.probation: auth.bearer: environment variable UNSET_TOKEN is not set",
        "sources.probation: schedule: not a cron expression",
        "sources.dji: auth: dji takes bearer or OAuth2, not an api_key",
        f"sources.care: tls.client_cert: {tmp_path / 'absent.pem'} is not a file",
        f"sources.care: tls.client_key: {tmp_path / 'absent.key'} is not a file",
        f"sources.care: auth.bearer: {loose} is readable by others than its owner (chmod 600)",
        "sources.municipal_orders: not configured",
    ]


def test_the_schema_names_what_it_refuses(tmp_path):
    problems = _problems(tmp_path, {
        "probation": {"base_url": "ftp://x", "auth": {"bearer": {"env": "SET"}}, "colour": 1},
        "archive": {"base_url": "https://a.example.nl", "auth": {"bearer": {"env": "SET"}}},
        "dji": {"base_url": "https://dji.example.nl", "auth": {"bearer": {"value": SECRET}}},
    })
    assert any(p.startswith("sources: 'archive' is not one of") for p in problems)
    assert any(p.startswith("sources.probation: Additional properties are not allowed "
                            "('colour'") for p in problems)
    assert any(p.startswith("sources.probation.base_url: 'ftp://x' does not match")
               for p in problems)
    # a secret written into the file is refused without being repeated
    assert sorted(p for p in problems if p.startswith("sources.dji")) == [
        "sources.dji.auth.bearer: Additional properties are not allowed ('value' was unexpected)",
        "sources.dji.auth.bearer: give exactly one of env, file"]
    assert _problems(tmp_path, {"dji": {"base_url": "https://dji.example.nl", "auth": {
        "bearer": {"env": "SET"}, "api_key": {"env": "SET"}}}}) == [
        "sources.dji.auth: give exactly one of bearer, api_key, oauth2_client_credentials"]


def test_a_certificate_and_a_key_that_are_not_a_pair_are_refused(tmp_path):
    ours, theirs = make_pki(tmp_path / "a"), make_pki(tmp_path / "b")
    problems = _problems(tmp_path, {"dji": {
        "base_url": "https://dji.example.nl", "auth": {"bearer": {"env": "SET"}},
        "tls": {"client_cert": str(ours.client_cert), "client_key": str(theirs.client_key),
                "ca_bundle": str(ours.ca_cert)}}})
    assert problems == ["sources.dji: tls: certificate, key or CA bundle not usable "
                        "(SSLError: KEY_VALUES_MISMATCH)"]


def test_settings_require_the_file_whole_and_schedules_come_from_it(tmp_path, monkeypatch):
    path = _write(tmp_path, {"dji": {"base_url": "https://dji.example.nl",
                                     "auth": {"bearer": {"env": "UNSET_DJI"}},
                                     "schedule": "*/20 * * * *"}})
    settings = Settings.for_home(tmp_path, sources_file=str(path))
    with pytest.raises(ConfigError) as raised:
        settings.require_sources()
    text = str(raised.value)
    assert "auth.bearer: environment variable UNSET_DJI is not set" in text
    assert "sources.probation: not configured" in text
    assert schedules(path) == {"dji": "*/20 * * * *"}


def test_the_throttle_spaces_requests_by_the_rate_limit(monkeypatch):
    clock = {"now": 100.0}
    slept: list[float] = []
    monkeypatch.setattr(http.time, "monotonic", lambda: clock["now"])

    def sleep(seconds):
        slept.append(round(seconds, 6))
        clock["now"] += seconds

    monkeypatch.setattr(http.time, "sleep", sleep)
    throttle = http.Throttle(4)  # four a second: one every 0.25 s
    for _ in range(5):
        throttle.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    clock["now"] += 10  # idle: the next request goes at once
    throttle.wait()
    assert len(slept) == 4


def test_a_secret_file_is_read_without_its_newline_and_an_empty_one_refused(tmp_path):
    from ketenbrug.connectors.auth import read_secret

    path = tmp_path / "s"
    path.write_text("")
    os.chmod(path, 0o600)
    with pytest.raises(ValueError, match=r"is empty$"):
        read_secret(None, str(path))
    path.write_text(SECRET + "\r\n")
    assert read_secret(None, str(path)).value == SECRET
    assert SECRET not in repr(read_secret(None, str(path)))
