"""The production source configuration against real local servers: mutual TLS with a CA,
server and client certificates made at test time; OAuth2 client credentials from a token
endpoint; `ketenbrug sources check` reporting each — and no secret in any message."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ketenbrug.cli import main
from ketenbrug.connectors import CONNECTORS, SourceError
from ketenbrug.connectors.source_config import load_sources
from ketenbrug.simulators import WorldServer, generate_world
from tests.fhir_server import TOKEN, FixtureFhirServer
from tests.pki import make_pki
from tests.token_server import TokenServer

CLIENT_ID, CLIENT_SECRET = "ketenbrug-hub", "s3cr3t-client-secret-for-tests"


@pytest.fixture(scope="module")
def world():
    # Enough detentions for more than one page (200) of the dji connector.
    return generate_world(clients=700, seed=5, today=date(2026, 11, 29))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def mtls_server(world, pki):
    with WorldServer(world, tls=pki.server_context(require_client_cert=True)) as server:
        yield server


def _sources_file(folder: Path, sources: dict) -> Path:
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": sources}))
    return path


def _mtls(pki, **overrides) -> dict:
    return {"client_cert": str(pki.client_cert), "client_key": str(pki.client_key),
            "ca_bundle": str(pki.ca_cert), **overrides}


def _pull(configured, slug="dji", dataset="detentions"):
    connector = CONNECTORS[slug](configured[slug].settings)
    try:
        return connector.pull(dataset)
    finally:
        connector.close()


def test_mutual_tls_with_a_client_certificate_pulls_everything(world, pki, mtls_server,
                                                               tmp_path, monkeypatch):
    monkeypatch.setenv("DJI_TOKEN", mtls_server.credentials["dji"])
    path = _sources_file(tmp_path, {"dji": {
        "base_url": mtls_server.base_urls["dji"], "auth": {"bearer": {"env": "DJI_TOKEN"}},
        "tls": _mtls(pki), "timeouts": {"connect_s": 2, "read_s": 10}, "page_cap": 50}})
    configured = load_sources(path)
    assert configured["dji"].mutual_tls and mtls_server.base_urls["dji"].startswith("https://")
    assert len(_pull(configured).records) == len(world.detentions)


@pytest.mark.parametrize("without", ["client certificate", "the right CA"])
def test_without_the_client_certificate_or_the_ca_the_handshake_fails_by_name(
        pki, mtls_server, tmp_path, monkeypatch, without):
    monkeypatch.setenv("DJI_TOKEN", mtls_server.credentials["dji"])
    entry = {"base_url": mtls_server.base_urls["dji"], "auth": {"bearer": {"env": "DJI_TOKEN"}},
             "retries": 0}
    if without == "the right CA":
        entry["tls"] = _mtls(pki, ca_bundle=str(make_pki(tmp_path / "other", "Other").ca_cert))
    else:  # the server's CA trusted, but no certificate of our own to show
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca_cert))
    with pytest.raises(SourceError) as raised:
        _pull(load_sources(_sources_file(tmp_path, {"dji": entry})))
    assert raised.value.reason in ("tls", "unreachable")
    message = str(raised.value)
    assert message.startswith("dji: GET /api/v1/detentions failed after retries: ")
    if without == "the right CA":
        assert raised.value.reason == "tls" and "CERTIFICATE_VERIFY_FAILED" in message
    assert mtls_server.credentials["dji"] not in message


def test_oauth2_client_credentials_over_mutual_tls(world, pki, mtls_server, tmp_path,
                                                   monkeypatch):
    monkeypatch.setenv("DJI_CLIENT_SECRET", CLIENT_SECRET)
    with TokenServer(CLIENT_ID, CLIENT_SECRET, [mtls_server.credentials["dji"]],
                     tls=pki.server_context(require_client_cert=True)) as tokens:
        path = _sources_file(tmp_path, {"dji": {
            "base_url": mtls_server.base_urls["dji"], "tls": _mtls(pki),
            "auth": {"oauth2_client_credentials": {
                "token_url": tokens.token_url, "client_id": CLIENT_ID, "scope": "detentions.read",
                "client_secret": {"env": "DJI_CLIENT_SECRET"}}}}})
        configured = load_sources(path)
        extract = _pull(configured)
    assert len(extract.records) == len(world.detentions) and extract.pages > 1
    assert len(tokens.issued) == 1 and tokens.scopes == ["detentions.read"]  # one per pull
    assert CLIENT_SECRET not in repr(configured["dji"].settings.auth)


def test_a_refused_client_is_named_without_its_secret(mtls_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DJI_CLIENT_SECRET", "not-the-secret")
    with TokenServer(CLIENT_ID, CLIENT_SECRET, ["never"]) as tokens:
        path = _sources_file(tmp_path, {"dji": {
            "base_url": "http://127.0.0.1:9",
            "auth": {"oauth2_client_credentials": {
                "token_url": tokens.token_url, "client_id": CLIENT_ID,
                "client_secret": {"env": "DJI_CLIENT_SECRET"}}}}})
        with pytest.raises(SourceError) as raised:
            _pull(load_sources(path))
    assert str(raised.value) == ("dji: OAuth2 token endpoint /oauth2/token refused the client "
                                 "(401): invalid_client")
    assert raised.value.reason == "refused"


def test_a_token_the_source_refuses_is_renewed_once(
        tmp_path, monkeypatch):
    monkeypatch.setenv("CARE_CLIENT_SECRET", CLIENT_SECRET)

    def route(path, query):
        if path == "/fhir/EpisodeOfCare":
            return 200, "searchset-page2" if "_page_token" in query else "searchset-page1"
        return 200, "patient-pat-4"

    with FixtureFhirServer(route) as fhir, \
            TokenServer(CLIENT_ID, CLIENT_SECRET, ["revoked", TOKEN]) as tokens:
        auth = {"oauth2_client_credentials": {"token_url": tokens.token_url,
                                              "client_id": CLIENT_ID,
                                              "client_secret": {"env": "CARE_CLIENT_SECRET"}}}
        path = _sources_file(tmp_path, {"care": {"base_url": fhir.base_url, "auth": auth}})
        extract = _pull(load_sources(path), "care", "episodes")
    assert len(extract.records) == 5
    # The first token was refused (401): a new one, and the request once more.
    assert tokens.issued == ["revoked", TOKEN] and len(fhir.requests) == 4


def test_sources_check_reports_each_source_without_landing_or_a_secret(
        world, pki, mtls_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DJI_TOKEN", mtls_server.credentials["dji"])
    monkeypatch.setenv("CARE_TOKEN", "a-token-the-care-system-refuses")
    path = _sources_file(tmp_path, {
        "dji": {"base_url": mtls_server.base_urls["dji"], "auth": {"bearer": {"env": "DJI_TOKEN"}},
                "tls": _mtls(pki)},
        "care": {"base_url": mtls_server.base_urls["care"],
                 "auth": {"bearer": {"env": "CARE_TOKEN"}}, "tls": _mtls(pki)}})
    env = {"KETENBRUG_HOME": str(tmp_path / "home"), "KETENBRUG_SOURCES_FILE": str(path)}
    result = CliRunner().invoke(main, ["sources", "check", "--source", "dji", "--source",
                                       "care"], env=env)
    assert result.exit_code == 1, result.output
    dji, care = result.output.split("\ncare: ", 1)
    assert dji.startswith("dji: ok")
    assert "TLS            verified, with client certificate (mutual TLS)" in dji
    assert "authenticated  yes" in dji
    assert "detentions: every required permitted field offered" in dji
    assert care.startswith("FAILED") and "authenticated  no" in care
    assert "a-token-the-care-system-refuses" not in result.output
    assert mtls_server.credentials["dji"] not in result.output
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()  # nothing landed
    as_json = CliRunner().invoke(main, ["sources", "check", "--source", "dji", "--source",
                                        "care", "--json"], env=env)
    assert as_json.exit_code == 1
    reports = {r["slug"]: r for r in json.loads(as_json.output)}
    assert reports["dji"]["ok"] and not reports["care"]["ok"]
    assert reports["care"]["authenticated"] == "no"
    assert "a-token-the-care-system-refuses" not in as_json.output
