"""deploy/ and .env.example: complete, valid, and in step with the settings and the CLI.

Docker itself is not run here (no engine on CI machines): the compose file is checked as data,
its Chroma health probe is run against a real `chroma run` server, and the Dockerfile's
health-check command is run through the real CLI.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.settings import Settings, load_settings
from tests.knowledge.test_health import TOKEN
from tests.support.chroma_server import ChromaServer, free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = ROOT / ".env.example"
_ASSIGNMENT = re.compile(r"^#?\s*((?:CURATOR|OPENAI)_[A-Z0-9_]+)=(.*)$")


def setting_variables(model: type[BaseModel] = Settings, prefix: str = "CURATOR_") -> list[str]:
    """Every environment variable Settings reads, walking the nested groups."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += setting_variables(annotation, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def example_assignments() -> dict[str, str]:
    """Variable -> value of every (commented or not) assignment in .env.example."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if match:
            assert match.group(1) not in found, f"{match.group(1)} is listed twice"
            found[match.group(1)] = match.group(2).strip()
    return found


# -- .env.example -----------------------------------------------------------------------------


def test_env_example_documents_every_setting() -> None:
    listed = example_assignments()
    missing = [
        v for v in [*setting_variables(), "OPENAI_API_KEY", "OPENAI_BASE_URL"] if v not in listed
    ]
    assert not missing, f".env.example lacks {missing}"


def test_env_example_names_only_real_settings() -> None:
    real = set(setting_variables()) | {"OPENAI_API_KEY", "OPENAI_BASE_URL"}
    unknown = sorted(set(example_assignments()) - real)
    assert not unknown, f".env.example lists settings that do not exist: {unknown}"


def test_env_example_describes_each_setting_above_it() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        match = _ASSIGNMENT.match(line.strip())
        if match and match.group(1).startswith("CURATOR_"):
            above = lines[i - 1].strip()
            assert above.startswith("#") and len(above) > 10, f"{match.group(1)} has no description"


def test_env_example_values_are_the_defaults_and_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Uncommenting every line that has a value must change nothing: the file shows defaults.
    values = {k: v for k, v in example_assignments().items() if v and k.startswith("CURATOR_")}
    assert len(values) > 30
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    monkeypatch.chdir(tmp_path)
    # load_settings itself, not make_settings: what start-up reads from .env is the point.
    from_example = load_settings()
    (tmp_path / ".env").unlink()
    assert from_example.model_dump() == load_settings().model_dump()


# -- docker compose ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_runs_the_bot_and_a_pinned_chroma_server(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"bot", "chroma"}
    image = services["chroma"]["image"]
    client = importlib.metadata.version("chromadb")
    major_minor = ".".join(client.split(".")[:2])
    assert image.startswith(f"chromadb/chroma:{major_minor}."), (image, client)
    bot = services["bot"]
    assert bot["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve().is_file()
    assert bot["env_file"] == ["../.env"]
    assert bot["environment"]["CURATOR_CHROMA__HOST"] == "chroma"
    assert bot["environment"]["CURATOR_DATA_DIR"] == "/data"
    assert bot["depends_on"] == {"chroma": {"condition": "service_healthy"}}
    for service in services.values():
        assert service["restart"] == "unless-stopped"


def test_compose_keeps_data_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert declared == {"curator-data", "chroma-data", "model-cache"}
    mounts = {
        name: {v.split(":")[0]: v.split(":")[1] for v in s["volumes"]}
        for name, s in compose["services"].items()
    }
    assert mounts["chroma"]["chroma-data"] == "/data"
    assert mounts["bot"]["curator-data"] == "/data"
    assert mounts["bot"]["model-cache"] == "/home/curator/.cache/chroma"


def test_both_services_have_health_checks(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        check = service["healthcheck"]
        assert check["test"][0] == "CMD"
        assert {"interval", "timeout", "retries", "start_period"} <= set(check)
    assert "/api/v2/heartbeat" in " ".join(compose["services"]["chroma"]["healthcheck"]["test"])
    assert compose["services"]["bot"]["healthcheck"]["test"][1:] == dockerfile_healthcheck()


def chroma_probe(compose: dict[str, Any], port: int) -> subprocess.CompletedProcess[bytes]:
    """Run the compose file's Chroma health check against 127.0.0.1:`port`."""
    test = compose["services"]["chroma"]["healthcheck"]["test"]
    command = [part.replace("/8000", f"/{port}") for part in test[1:]]
    return subprocess.run(command, capture_output=True, timeout=10, check=False)


@pytest.mark.server
def test_the_chroma_health_probe_passes_on_a_live_server_and_fails_without_one(
    compose: dict[str, Any], chroma_server: ChromaServer
) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    assert chroma_probe(compose, chroma_server.port).returncode == 0
    assert chroma_probe(compose, free_port()).returncode != 0


# -- Dockerfile -------------------------------------------------------------------------------


def dockerfile_lines() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def dockerfile_healthcheck() -> list[str]:
    line = next(x for x in dockerfile_lines() if x.startswith("HEALTHCHECK"))
    return list(json.loads(line.split(" CMD ", 1)[1]))


def test_dockerfile_is_slim_non_root_with_volumes_and_a_health_check() -> None:
    lines = dockerfile_lines()
    froms = [x for x in lines if x.startswith("FROM ")]
    assert all(x.split()[1] == "python:3.11-slim" for x in froms)
    runtime = lines[lines.index(froms[-1]) :]
    users = [x for x in runtime if x.startswith("USER ")]
    assert users and users[-1] != "USER root"
    assert runtime.index(users[-1]) < runtime.index('CMD ["curator", "run"]')
    volume = next(x for x in runtime if x.startswith("VOLUME "))
    assert json.loads(volume.removeprefix("VOLUME ")) == ["/data", "/home/curator/.cache/chroma"]
    assert any("CURATOR_DATA_DIR=/data" in x for x in runtime if x.startswith("ENV "))
    assert dockerfile_healthcheck()[:2] == ["curator", "doctor"]
    assert (DEPLOY / "Dockerfile.dockerignore").is_file()


def test_the_health_check_command_is_a_real_doctor_invocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    command = dockerfile_healthcheck()
    runner = CliRunner()
    # Healthy without a token? No: the container runs the bot, so a token is required.
    assert runner.invoke(app, command[1:]).exit_code == 1
    monkeypatch.setenv("CURATOR_DISCORD__TOKEN", TOKEN)
    result = runner.invoke(app, command[1:])
    assert result.exit_code == 0, result.output
    assert result.output == ""  # quiet: nothing to log every minute while healthy


# -- systemd ----------------------------------------------------------------------------------


def unit_entries() -> dict[str, list[tuple[str, str]]]:
    """Section -> (key, value) pairs; systemd allows repeated keys, so no configparser."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for raw in (DEPLOY / "curator.service").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
            continue
        key, _, value = line.partition("=")
        sections[current].append((key, value))
    return sections


def test_systemd_unit_runs_the_venv_install_hardened() -> None:
    service = dict(unit_entries()["Service"])
    assert service["ExecStart"].endswith("/bin/curator run")
    assert service["ExecStartPre"].endswith("/bin/curator doctor --quiet --run")
    assert service["Restart"] == "on-failure"
    assert service["User"] == "curator" and service["EnvironmentFile"]
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    environment = [v for k, v in unit_entries()["Service"] if k == "Environment"]
    data_dir = next(v.split("=", 1)[1] for v in environment if v.startswith("CURATOR_DATA_DIR="))
    assert data_dir.startswith(service["ReadWritePaths"] + "/")
    assert unit_entries()["Install"] == [("WantedBy", "multi-user.target")]


def test_systemd_analyze_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    curator = shutil.which("curator") or str(ROOT / ".venv" / "bin" / "curator")
    unit = (DEPLOY / "curator.service").read_text(encoding="utf-8")
    (tmp_path / "curator.service").write_text(unit.replace("/opt/curator/bin/curator", curator))
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "curator.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # verify exits 0 even on unknown keys; its warnings are the signal.
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
