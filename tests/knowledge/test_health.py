"""The checks behind `curator doctor`, each against the real thing: folders, a `chroma run`
server, an HTTP server on 127.0.0.1 standing in for the LLM endpoint."""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.discord_token import token_check
from knowledge.health import (
    Check,
    check_chroma,
    check_data_dir,
    check_embedder,
    check_llm,
    check_settings,
    redact,
    run_checks,
    safe_to_start,
)
from knowledge.settings import ChromaSettings, EmbeddingSettings, LLMSettings
from knowledge.store.vector_store import VectorStore
from tests.support.chroma_server import ChromaServer, free_port
from tests.support.settings import make_settings

# Shaped like a bot token (id . timestamp . hmac), made up.
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ" + ".GAbCdE." + "abcdefghijklmnopqrstuvwxyz0123456789AB"
API_KEY = "sk-test-" + "0123456789abcdefghijklmnop"


# -- a scriptable OpenAI-compatible /models endpoint --------------------------------------------


@dataclass
class ModelsEndpoint:
    """GET /v1/models on 127.0.0.1: answers `status` with `models`, after `delay` seconds."""

    status: int = 200
    models: list[str] = field(default_factory=lambda: ["gpt-4o-mini", "llama3"])
    delay: float = 0.0
    authorizations: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> ModelsEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.authorizations.append(self.headers.get("Authorization", ""))
                if endpoint.delay:
                    time.sleep(endpoint.delay)
                if self.path != "/v1/models":
                    self.send_error(404)
                    return
                models = [{"id": m, "object": "model"} for m in endpoint.models]
                payload: dict[str, object] = {"object": "list", "data": models}
                if endpoint.status != 200:
                    payload = {"error": {"message": "nope", "type": "error"}}
                body = json.dumps(payload).encode()
                try:
                    self.send_response(endpoint.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout tests)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def models_endpoint() -> Iterator[ModelsEndpoint]:
    endpoint = ModelsEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def unwritable_folder(tmp_path: Path) -> Path:
    """An existing folder this process cannot create files in (root ignores chmod)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        (folder / "probe").touch()
    except OSError:
        return folder
    (folder / "probe").unlink()
    folder.chmod(0o755)
    # Running as root: sysfs refuses new files even to root.
    try:
        (Path("/sys") / "curator-probe").touch()
    except OSError:
        return Path("/sys")
    pytest.skip("no folder here refuses writes to this user")


# -- redaction --------------------------------------------------------------------------------


def test_redact_shows_at_most_four_characters() -> None:
    assert redact(TOKEN) == "MTIz…"
    assert redact("short-key") == "…"  # a short secret would be half revealed
    assert redact("") == "(empty)"


def test_safe_to_start_means_no_failure() -> None:
    assert safe_to_start([Check("a", "ok", ""), Check("b", "warn", "")])
    assert not safe_to_start([Check("a", "ok", ""), Check("b", "fail", "")])


# -- settings ---------------------------------------------------------------------------------


def test_valid_settings_pass() -> None:
    check, settings = check_settings()
    assert check.status == "ok" and settings is not None


def test_an_invalid_setting_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_RETRIEVAL__K", "0")
    check, settings = check_settings()
    assert check.status == "fail" and settings is None
    assert "CURATOR_RETRIEVAL__K" in check.detail
    assert ".env.example" in check.remedy


def test_the_settings_check_says_only_what_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    check, _ = check_settings()
    assert check.detail == "loaded from the environment (no .env)"
    (tmp_path / ".env").write_text("CURATOR_RETRIEVAL__K=5\n")
    check, settings = check_settings()
    assert check.detail == "loaded from the environment and .env"
    assert settings is not None and settings.retrieval.k == 5


def test_a_deprecated_setting_still_loads_but_warns_with_its_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__CHANNEL_SCOPES", '{"42": {"source": "arXiv"}}')
    check, settings = check_settings()
    assert check.status == "warn" and settings is not None
    assert settings.discord.channel_scopes[42].publisher == "arXiv"
    assert 'CURATOR_DISCORD__CHANNEL_SCOPES: channel 42: "source" is now "publisher"' in (
        check.detail
    )
    assert check.remedy.startswith("Rename")
    monkeypatch.setenv("CURATOR_DISCORD__CHANNEL_SCOPES", '{"42": {"publisher": "arXiv"}}')
    assert check_settings()[0].status == "ok"


def test_the_remedy_counts_the_variables_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CURATOR_RETRIEVAL__K", "0")
    check, _ = check_settings()
    assert check.remedy.startswith("Fix the variable named above in the environment (see")
    monkeypatch.setenv("CURATOR_DISCORD__MAX_CONCURRENT", "zero")
    (tmp_path / ".env").write_text("CURATOR_DISCORD__CHANNEL_SCOPES={bad}\n")
    check, _ = check_settings()
    assert "CURATOR_DISCORD__CHANNEL_SCOPES: not valid JSON" in check.detail
    # The JSON check runs first; the other two are named once it is fixed.
    assert check.remedy.startswith("Fix the variable named above in the environment or .env")
    (tmp_path / ".env").unlink()
    check, _ = check_settings()
    assert (
        "CURATOR_RETRIEVAL__K" in check.detail and "CURATOR_DISCORD__MAX_CONCURRENT" in check.detail
    )
    assert check.remedy.startswith("Fix the 2 variables named above in the environment (see")


def test_with_invalid_settings_only_the_settings_check_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATOR_DIGEST__TIMEZONE", "Mars/Olympus")
    checks = run_checks()
    assert [c.name for c in checks] == ["settings"]
    assert "CURATOR_DIGEST__TIMEZONE" in checks[0].detail


# -- data dir ---------------------------------------------------------------------------------


def test_an_existing_writable_data_dir_passes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    check = check_data_dir(tmp_path)
    assert check.status == "ok"
    assert "writable" in check.detail and "GiB free" in check.detail
    assert list(tmp_path.iterdir()) == []


def test_a_missing_data_dir_under_a_writable_folder_passes_without_being_created(
    tmp_path: Path,
) -> None:
    check = check_data_dir(tmp_path / "a" / "b")
    assert check.status == "ok" and "will be created" in check.detail
    assert not (tmp_path / "a").exists()


def test_a_data_dir_under_a_regular_file_fails(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    check = check_data_dir(tmp_path / "file" / "data")
    assert check.status == "fail"
    assert "is a file" in check.detail and "CURATOR_DATA_DIR" in check.remedy


def test_a_data_dir_that_is_a_file_fails(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x")
    check = check_data_dir(tmp_path / "data")
    assert check.status == "fail" and "not a folder" in check.detail


def test_an_unwritable_data_dir_fails(tmp_path: Path) -> None:
    folder = unwritable_folder(tmp_path)
    check = check_data_dir(folder)
    assert check.status == "fail"
    assert "not writable" in check.detail
    assert "write access" in check.remedy


def test_little_free_disk_warns_and_almost_none_fails(tmp_path: Path) -> None:
    # Thresholds above any real disk's free space stand in for a full disk.
    low = check_data_dir(tmp_path, min_free_bytes=1, low_free_bytes=10**18)
    assert low.status == "warn" and "(low)" in low.detail
    full = check_data_dir(tmp_path, min_free_bytes=10**18, low_free_bytes=10**18)
    assert full.status == "fail" and "MiB free" in full.detail
    assert "disk" in full.remedy


# -- Chroma -----------------------------------------------------------------------------------


@pytest.mark.server
def test_a_running_chroma_server_passes(chroma_server: ChromaServer, tmp_path: Path) -> None:
    chroma = ChromaSettings(host=chroma_server.host, port=chroma_server.port)
    check = check_chroma(chroma, tmp_path)
    assert check.status == "ok"
    assert f"127.0.0.1:{chroma_server.port}" in check.detail and "heartbeat" in check.detail


def test_an_unreachable_chroma_server_fails_quickly_with_the_remedy(tmp_path: Path) -> None:
    chroma = ChromaSettings(host="127.0.0.1", port=free_port())
    started = time.monotonic()
    check = check_chroma(chroma, tmp_path)
    assert time.monotonic() - started < 5
    assert check.status == "fail" and "cannot be reached" in check.detail
    assert "CURATOR_CHROMA__HOST" in check.remedy


def test_a_silent_chroma_server_fails_after_the_short_timeout(
    tmp_path: Path, silent_port: int
) -> None:
    chroma = ChromaSettings(host="127.0.0.1", port=silent_port)
    started = time.monotonic()
    check = check_chroma(chroma, tmp_path, timeout=0.5)
    assert time.monotonic() - started < 3
    assert check.status == "fail" and "did not answer within 0.5 s" in check.detail


def test_an_http_server_that_is_not_chroma_fails(
    tmp_path: Path, models_endpoint: ModelsEndpoint
) -> None:
    assert models_endpoint.server is not None
    chroma = ChromaSettings(host="127.0.0.1", port=models_endpoint.server.server_address[1])
    check = check_chroma(chroma, tmp_path)
    assert check.status == "fail" and "HTTP 404" in check.detail


def test_a_new_in_process_store_passes_without_creating_anything(tmp_path: Path) -> None:
    check = check_chroma(ChromaSettings(), tmp_path / "data")
    assert check.status == "ok" and "created by the first reindex" in check.detail
    assert not (tmp_path / "data").exists()


def test_an_existing_in_process_store_is_left_to_the_store_check(tmp_path: Path) -> None:
    store = VectorStore(ChromaSettings(), tmp_path / "data", "hash-384")
    assert store.count() == 0  # creates the store and its collection
    store.close()
    check = check_chroma(ChromaSettings(), tmp_path / "data")
    assert check.status == "ok" and "opened by the store check" in check.detail


def test_an_in_process_store_that_is_not_a_folder_fails(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "chroma").write_text("not a store")
    check = check_chroma(ChromaSettings(), tmp_path / "data")
    assert check.status == "fail" and "not a folder" in check.detail


# -- embedder ---------------------------------------------------------------------------------


def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "minilm"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"\x08\x01")
    (folder / "tokenizer.json").write_text("{}")
    return folder


@pytest.fixture
def empty_model_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Chroma's model cache, empty."""
    from knowledge.embeddings import factory

    cache = tmp_path / "cache" / "onnx"
    monkeypatch.setattr(factory, "chroma_model_dir", lambda: cache)
    return cache


def test_the_hash_embedder_passes() -> None:
    check = check_embedder(EmbeddingSettings(provider="hash"), LLMSettings())
    assert check.status == "ok" and "hash" in check.detail


def test_minilm_present_passes_without_loading_it(tmp_path: Path) -> None:
    # The files are not a real model: the check must only look for them.
    folder = model_folder(tmp_path)
    for provider in ("auto", "onnx"):
        check = check_embedder(
            EmbeddingSettings(provider=provider, model_dir=folder), LLMSettings()
        )
        assert check.status == "ok" and str(folder) in check.detail


def test_auto_without_the_model_warns_of_the_hash_fallback(empty_model_cache: Path) -> None:
    check = check_embedder(EmbeddingSettings(provider="auto"), LLMSettings())
    assert check.status == "warn"
    assert "try to download" in check.detail and "hash embedder" in check.detail
    offline = check_embedder(EmbeddingSettings(provider="auto", download_timeout=0), LLMSettings())
    assert offline.status == "warn" and "falls back to the hash embedder" in offline.detail


def test_onnx_without_the_model_warns_when_it_can_download_and_fails_otherwise(
    empty_model_cache: Path, tmp_path: Path
) -> None:
    can = check_embedder(EmbeddingSettings(provider="onnx"), LLMSettings())
    assert can.status == "warn" and "will download" in can.detail
    cannot = check_embedder(EmbeddingSettings(provider="onnx", download_timeout=0), LLMSettings())
    assert cannot.status == "fail" and "cannot be downloaded" in cannot.detail
    custom = check_embedder(
        EmbeddingSettings(provider="onnx", model_dir=tmp_path / "nowhere"), LLMSettings()
    )
    assert custom.status == "fail" and "model.onnx" in custom.detail


def test_openai_embeddings_need_an_endpoint() -> None:
    missing = check_embedder(EmbeddingSettings(provider="openai"), LLMSettings())
    assert missing.status == "fail" and "CURATOR_LLM__BASE_URL" in missing.remedy
    present = check_embedder(
        EmbeddingSettings(provider="openai"), LLMSettings(base_url="http://127.0.0.1:1/v1")
    )
    assert present.status == "ok"


# -- LLM --------------------------------------------------------------------------------------


def test_no_llm_is_a_warning_about_extractive_answers() -> None:
    check = check_llm(LLMSettings())
    assert check.status == "warn" and "extractive answers only" in check.detail


def test_an_answering_endpoint_with_the_model_passes_and_gets_the_key(
    models_endpoint: ModelsEndpoint,
) -> None:
    llm = LLMSettings(base_url=models_endpoint.base_url, api_key=SecretStr(API_KEY))
    check = check_llm(llm)
    assert check.status == "ok" and "gpt-4o-mini" in check.detail
    assert models_endpoint.authorizations == [f"Bearer {API_KEY}"]
    assert API_KEY not in str(check)


def test_a_keyless_local_endpoint_passes(models_endpoint: ModelsEndpoint) -> None:
    check = check_llm(LLMSettings(base_url=models_endpoint.base_url + "/", model="llama3"))
    assert check.status == "ok"
    assert models_endpoint.authorizations == [""]


def test_a_model_the_endpoint_does_not_offer_warns(models_endpoint: ModelsEndpoint) -> None:
    check = check_llm(LLMSettings(base_url=models_endpoint.base_url, model="gpt-9"))
    assert check.status == "warn"
    assert "'gpt-9'" in check.detail and "llama3" in check.detail
    assert "CURATOR_LLM__MODEL" in check.remedy


def test_a_rejected_key_fails_without_showing_it(models_endpoint: ModelsEndpoint) -> None:
    models_endpoint.status = 401
    llm = LLMSettings(base_url=models_endpoint.base_url, api_key=SecretStr(API_KEY))
    check = check_llm(llm)
    assert check.status == "fail" and "rejected the API key" in check.detail
    assert API_KEY not in json.dumps(check.as_json())


@pytest.mark.parametrize(("status", "expected"), [(404, "HTTP 404"), (500, "HTTP 500")])
def test_an_endpoint_in_trouble_warns(
    models_endpoint: ModelsEndpoint, status: int, expected: str
) -> None:
    models_endpoint.status = status
    check = check_llm(LLMSettings(base_url=models_endpoint.base_url))
    assert check.status == "warn" and expected in check.detail


def test_a_wrong_base_url_warns_about_the_v1_prefix(models_endpoint: ModelsEndpoint) -> None:
    base = models_endpoint.base_url.removesuffix("/v1")
    check = check_llm(LLMSettings(base_url=base))
    assert check.status == "warn" and "/v1" in check.remedy


def test_an_unreachable_or_slow_endpoint_warns_within_the_timeout(
    models_endpoint: ModelsEndpoint,
) -> None:
    down = check_llm(LLMSettings(base_url=f"http://127.0.0.1:{free_port()}/v1"))
    assert down.status == "warn" and "cannot be reached" in down.detail
    models_endpoint.delay = 3
    started = time.monotonic()
    slow = check_llm(LLMSettings(base_url=models_endpoint.base_url), timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert slow.status == "warn" and "did not answer within 0.5 s" in slow.detail


def test_credentials_in_the_base_url_are_not_shown() -> None:
    url = f"http://user:hunter2-secret@127.0.0.1:{free_port()}/v1"
    check = check_llm(LLMSettings(base_url=url))
    assert "hunter2-secret" not in str(check) and "127.0.0.1" in check.detail


# -- all checks together ----------------------------------------------------------------------


def test_run_checks_reports_every_check_in_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models_endpoint: ModelsEndpoint
) -> None:
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    monkeypatch.setenv("CURATOR_LLM__BASE_URL", models_endpoint.base_url)
    monkeypatch.setenv("CURATOR_DISCORD__TOKEN", TOKEN)
    checks = run_checks(front_end_checks=[token_check(required=True)])
    assert [c.name for c in checks] == [
        "settings",
        "data dir",
        "chroma",
        "index",
        "store",
        "embedder",
        "llm",
        "discord token",
    ]
    # Nothing indexed yet: a warning, not a failure.
    assert [c.status for c in checks] == ["ok"] * 3 + ["warn"] + ["ok"] * 4
    assert safe_to_start(checks)
    assert TOKEN not in json.dumps([c.as_json() for c in checks])


def test_run_checks_reads_the_settings_it_is_given(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "file" / "data")
    (tmp_path / "file").write_text("x")
    checks = run_checks(load=lambda: settings)
    assert [c.status for c in checks if c.name == "data dir"] == ["fail"]
    assert not safe_to_start(checks)
