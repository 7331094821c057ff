"""Start-up checks behind `curator doctor`: each one a function returning a `Check`.

Checks never raise and never print a secret: a problem becomes a `fail` or `warn` with the
remedy, and any token or key they mention is cut to its first characters.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import httpx

from knowledge.errors import ConfigError
from knowledge.settings import (
    ChromaSettings,
    EmbeddingSettings,
    InvalidSettings,
    LLMSettings,
    Settings,
    load_settings,
)
from knowledge.url_credentials import url_without_credentials

Status = Literal["ok", "warn", "fail"]

#: Below this much free space a reindex may fail half-way (Chroma, SQLite and BM25 all write).
MIN_FREE_BYTES = 100 * 1024**2
#: Below this much free space the admin is warned.
LOW_FREE_BYTES = 1024**3
#: Network checks wait at most this long, so doctor stays usable as a container health check.
NETWORK_TIMEOUT = 5.0
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was found and, unless ok, what to do about it."""

    name: str
    status: Status
    detail: str
    remedy: str = ""

    def as_json(self) -> dict[str, str]:
        """A plain dict for `--json` output."""
        return asdict(self)


def redact(secret: str | None) -> str:
    """At most the first 4 characters of a secret, then an ellipsis; never the whole value."""
    if not secret:
        return "(empty)"
    # A short secret would be half revealed by 4 characters.
    return (secret[:4] if len(secret) >= 12 else "") + "…"


def safe_to_start(checks: list[Check]) -> bool:
    """No check failed."""
    return all(c.status != "fail" for c in checks)


# -- settings ---------------------------------------------------------------------------------


def check_settings(
    load: Callable[[], Settings] = load_settings, env_file: Path | None = None
) -> tuple[Check, Settings | None]:
    """Load the settings; an invalid value fails naming its variable, a deprecated one warns
    with its notice. The detail says what was read: the environment, and the .env file
    (`env_file`) only when there is one."""
    env_file = env_file or Path(str(Settings.model_config.get("env_file") or ".env"))
    has_file = env_file.is_file()
    read = f"the environment and {env_file}" if has_file else f"the environment (no {env_file})"
    try:
        settings = load()
    except ConfigError as exc:
        count = len(exc.problems) if isinstance(exc, InvalidSettings) else 1
        named = "variable named above" if count == 1 else f"{count} variables named above"
        return (
            Check(
                "settings",
                "fail",
                exc.user_message,
                f"Fix the {named} in the environment{f' or {env_file}' if has_file else ''} "
                "(see .env.example for every setting and its allowed values).",
            ),
            None,
        )
    if settings.notices:
        # Deprecated values still load, so this is a warning: the bot starts as it did.
        return (
            Check(
                "settings",
                "warn",
                f"loaded from {read}, with a deprecated value: " + "; ".join(settings.notices),
                "Rename what the message names (the old spelling is still read for now).",
            ),
            settings,
        )
    return Check("settings", "ok", f"loaded from {read}"), settings


# -- data dir ---------------------------------------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return Path("/")


def _writable(folder: Path) -> str | None:
    """None when a file can be created in `folder`, else the OS's reason."""
    # os.access would say yes to root on a read-only mount; creating a file tells the truth.
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".curator-doctor-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def check_data_dir(
    data_dir: Path,
    *,
    min_free_bytes: int = MIN_FREE_BYTES,
    low_free_bytes: int = LOW_FREE_BYTES,
) -> Check:
    """The data dir exists (or can be created), is writable and has free disk space."""
    shown = str(data_dir.expanduser().absolute())
    remedy_owner = (
        "Point CURATOR_DATA_DIR at a writable folder, or give the bot's user write access to it."
    )
    path = data_dir.expanduser()
    if path.exists() and not path.is_dir():
        return Check("data dir", "fail", f"{shown} exists but is not a folder", remedy_owner)
    existing = _nearest_existing(path)
    if not existing.is_dir():
        return Check(
            "data dir",
            "fail",
            f"{shown} cannot be created: {existing} is a file, not a folder",
            remedy_owner,
        )
    problem = _writable(existing)
    if problem is not None:
        what = "is not writable" if existing == path else f"cannot be created in {existing}"
        return Check("data dir", "fail", f"{shown} {what} ({problem})", remedy_owner)
    free = shutil.disk_usage(existing).free
    state = "exists" if existing == path else "will be created on first use"
    detail = f"{shown} {state}, writable, {free / 1024**3:.1f} GiB free"
    if free < min_free_bytes:
        return Check(
            "data dir",
            "fail",
            f"{shown}: only {free / 1024**2:.0f} MiB free; a reindex would fail half-way",
            "Free disk space or move CURATOR_DATA_DIR to a larger disk.",
        )
    if free < low_free_bytes:
        return Check(
            "data dir",
            "warn",
            f"{detail} (low)",
            "Free disk space before the collection grows (about 20 KiB per indexed chunk).",
        )
    return Check("data dir", "ok", detail)


# -- Chroma -----------------------------------------------------------------------------------


def check_chroma(chroma: ChromaSettings, data_dir: Path, timeout: float = NETWORK_TIMEOUT) -> Check:
    """The vector store answers: the server's heartbeat, or the in-process store opens."""
    if chroma.host:
        return _check_chroma_server(chroma, min(timeout, chroma.timeout))
    return _check_chroma_embedded((data_dir / "chroma").expanduser().absolute())


def _check_chroma_server(chroma: ChromaSettings, timeout: float) -> Check:
    base = url_without_credentials(chroma.server_url or "")
    remedy = (
        f"Start the Chroma server at {base} (e.g. `docker compose up -d chroma`), or check "
        "CURATOR_CHROMA__HOST, CURATOR_CHROMA__PORT and CURATOR_CHROMA__SSL."
    )
    try:
        with httpx.Client(timeout=timeout) as client:
            beat = client.get(str(chroma.heartbeat_url))
            if beat.status_code != 200:
                return Check(
                    "chroma",
                    "fail",
                    f"{base} answered HTTP {beat.status_code} to its heartbeat",
                    remedy,
                )
    except httpx.TimeoutException:
        return Check("chroma", "fail", f"{base} did not answer within {timeout:g} s", remedy)
    except httpx.HTTPError as exc:
        return Check("chroma", "fail", f"{base} cannot be reached ({type(exc).__name__})", remedy)
    client_version = importlib.metadata.version("chromadb")
    return Check("chroma", "ok", f"server {base} answers its heartbeat (client {client_version})")


def _check_chroma_embedded(path: Path) -> Check:
    # Opened by the store check, in a child process: a damaged store can crash its opener.
    if not path.exists():
        return Check("chroma", "ok", f"in-process store {path} is created by the first reindex")
    if not path.is_dir():
        return Check(
            "chroma",
            "fail",
            f"the in-process store {path} is not a folder",
            "Move the file aside; the first reindex creates the store.",
        )
    return Check("chroma", "ok", f"in-process store {path} (opened by the store check)")


# -- index and vector store -------------------------------------------------------------------

#: The store probe may take this long (opening a large embedded store reads its files).
PROBE_TIMEOUT = 120.0


def _configured_embedder_name(embeddings: EmbeddingSettings, built_with: str | None) -> str:
    """The embedder start-up would build, by name, without loading it."""
    from knowledge.embeddings.factory import configured_name
    from knowledge.embeddings.onnx import OnnxMiniLMEmbedder, missing_model_files

    name = configured_name(embeddings, built_with)
    if name is not None:
        return name
    # auto: the model when its files are there (a download is not counted on).
    available = not missing_model_files(_model_dir(embeddings))
    return OnnxMiniLMEmbedder.name if available else f"hash-{embeddings.hash_dim}"


@dataclass(frozen=True)
class ServedIndex:
    """Which collection start-up would serve, and what the catalog beside it holds."""

    collection: str
    built_with: str
    configured: str
    articles: int
    chunks: int
    others: list[tuple[str, int]]
    #: A better local embedder that is available but unused: `auto` keeps the hash embedder
    #: that built the index (so answers never switch to an empty collection), until told.
    unused_better: str | None = None


def served_index(settings: Settings) -> ServedIndex:
    """What KnowledgeIndex would serve, read from the data dir without writing to it."""
    from knowledge.store.builds import BuildRegistry, catalog_counts

    prefix = settings.chroma.collection_prefix
    builds = BuildRegistry(settings.data_dir, prefix)
    record = builds.read()
    if record is None:
        from knowledge.embeddings.factory import likely_names

        record = builds.adopt_legacy(likely_names(settings.embeddings))
    configured = _configured_embedder_name(settings.embeddings, record.embedder if record else None)
    collection, built_with = builds.served(record, configured)
    articles, chunks = catalog_counts(builds.folder(collection) / "catalog.sqlite3")
    return ServedIndex(
        collection=collection,
        built_with=built_with,
        configured=configured,
        articles=articles,
        chunks=chunks,
        others=builds.others_with_articles(collection),
        unused_better=_unused_better_embedder(settings.embeddings, built_with),
    )


def _unused_better_embedder(embeddings: EmbeddingSettings, built_with: str) -> str | None:
    """'all-MiniLM-L6-v2' when `auto` serves a hash-built index though the model is here."""
    from knowledge.embeddings.factory import hash_dim_of
    from knowledge.embeddings.onnx import missing_model_files

    if embeddings.provider != "auto" or hash_dim_of(built_with) is None:
        return None
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    return None if missing_model_files(_model_dir(embeddings)) else "all-MiniLM-L6-v2"


def check_index(served: ServedIndex) -> Check:
    """The served collection holds the articles: never empty while another build has them."""
    if served.articles == 0 and served.others:
        other, count = max(served.others, key=lambda item: item[1])
        return Check(
            "index",
            "fail",
            f"the active collection {served.collection} is empty while {other} holds "
            f"{count} articles: every question would be refused",
            "Run `curator reindex` to index the sources with the configured embedder, or set "
            f"CURATOR_EMBEDDINGS__PROVIDER to the embedder that built {other}; do not start the "
            "bot on the empty collection.",
        )
    if served.built_with != served.configured:
        return Check(
            "index",
            "warn",
            f"{served.articles} articles built with {served.built_with}; the configured "
            f"embedder is {served.configured}: {served.built_with} keeps answering until a "
            "reindex re-embeds the stored text",
            "Run `curator reindex` (or /reindex in Discord) to re-embed; no source is re-read.",
        )
    if served.unused_better:
        return Check(
            "index",
            "warn",
            f"{served.articles} articles, {served.chunks} chunks in {served.collection} "
            f"built with the hash embedder ({served.built_with}); {served.unused_better} is "
            "available but `auto` keeps the embedder that built the index, so dense search "
            "stays weaker",
            "Set CURATOR_EMBEDDINGS__PROVIDER=onnx and run `curator reindex`: it re-embeds the "
            "stored text (no source is re-read) while the old index keeps answering.",
        )
    if served.articles == 0:
        return Check(
            "index",
            "warn",
            f"the collection {served.collection} holds no articles yet",
            "Run `curator reindex` (set CURATOR_KNOWLEDGE__SOURCES first).",
        )
    return Check(
        "index",
        "ok",
        f"{served.articles} articles, {served.chunks} chunks in {served.collection} "
        f"({served.built_with})",
    )


def probe_command(settings: Settings, collection: str) -> list[str]:
    """The child process that opens the store and runs one real query."""
    request = {
        "data_dir": str(settings.data_dir.absolute()),
        "chroma": settings.chroma.model_dump(mode="json"),
        "collection": collection,
    }
    return [sys.executable, "-m", "knowledge.store.probe", json.dumps(request)]


def check_store(
    settings: Settings,
    served: ServedIndex,
    command: Sequence[str] | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Check:
    """Open the vector store in a child process, run one query, compare vectors with chunks.

    A store that crashes whoever opens it fails here, not in the bot."""
    from knowledge.store.embedded_lock import current_holder

    server = settings.chroma.server_url
    where = url_without_credentials(server) if server else str(settings.data_dir / "chroma")
    if not settings.chroma.host:
        if not (settings.data_dir / "chroma").exists():
            return Check("store", "ok", f"{where} is created by the first reindex")
        holder = current_holder(settings.data_dir / "chroma.lock")
        if holder is not None:
            return Check("store", "ok", f"{where} is open in {holder}; not opened a second time")
    argv = list(command) if command is not None else probe_command(settings, served.collection)
    rebuild = (
        "Move the store aside (it is rebuilt from the catalog) and run "
        "`curator reindex --rebuild`, or restore it from a backup and run `curator reindex`."
    )
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Check("store", "fail", f"opening {where} took over {timeout:g} s", rebuild)
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return Check(
            "store",
            "fail",
            f"the process that opened {where} died ({name}): the bot would crash the same way",
            rebuild,
        )
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Check("store", "fail", f"the store probe failed ({tail})", rebuild)
    if "busy" in found:
        return Check("store", "ok", str(found["busy"]).split(":")[0] + "; not opened twice")
    if "error" in found:
        return Check("store", "fail", str(found["error"]), rebuild)
    vectors = int(found["vectors"])
    if vectors != served.chunks:
        return Check(
            "store",
            "fail",
            f"{served.collection}: vectors ({vectors}) ≠ chunks ({served.chunks}); dense "
            "search would miss or misplace articles",
            "Run `curator reindex`: it repairs the vector store from the catalog's stored text.",
        )
    queried = "one query answered" if found.get("queried") else "empty"
    return Check("store", "ok", f"{where} opens: {vectors} vectors = chunks, {queried}")


# -- embedder ---------------------------------------------------------------------------------


def _model_dir(embeddings: EmbeddingSettings) -> Path:
    if embeddings.model_dir is not None:
        return embeddings.model_dir.expanduser()
    from knowledge.embeddings.factory import chroma_model_dir

    return chroma_model_dir()


def check_embedder(
    embeddings: EmbeddingSettings, llm: LLMSettings, served: ServedIndex | None = None
) -> Check:
    """Which embedder start-up would build, without building it (no download, no model load);
    with `served`, a model found but unused beside a hash-built index is said to be unused."""
    from knowledge.embeddings.onnx import missing_model_files

    provider = embeddings.provider
    if provider == "hash":
        return Check(
            "embedder",
            "ok",
            "hash embedder (deterministic, no model; dense search is weaker than with MiniLM)",
        )
    if provider == "openai":
        if not llm.configured:
            return Check(
                "embedder",
                "fail",
                "the openai embeddings provider has no endpoint",
                "Set CURATOR_LLM__API_KEY (or OPENAI_API_KEY), or CURATOR_LLM__BASE_URL.",
            )
        return Check(
            "embedder", "ok", f"{embeddings.model} from the LLM endpoint (see the llm check)"
        )
    if importlib.util.find_spec("onnxruntime") is None:
        status: Status = "fail" if provider == "onnx" else "warn"
        fallback = "" if provider == "onnx" else "; the hash embedder would be used"
        return Check(
            "embedder",
            status,
            f"onnxruntime is not installed{fallback}",
            "Reinstall Curator with its dependencies (pip install curator).",
        )
    model_dir = _model_dir(embeddings)
    missing = missing_model_files(model_dir)
    if not missing:
        unused = (
            f", not used: the index was built with {served.built_with} (see the index check)"
            if served is not None and served.unused_better
            else ""
        )
        return Check("embedder", "ok", f"all-MiniLM-L6-v2 (ONNX) found in {model_dir}{unused}")
    custom = embeddings.model_dir is not None
    can_download = embeddings.download_timeout > 0 and not custom
    lacking = f"all-MiniLM-L6-v2 is not in {model_dir} (missing {', '.join(missing)})"
    remedy = (
        "Copy model.onnx and tokenizer.json into that folder"
        + ("" if custom else ", or allow the download (network access)")
        + ", or set CURATOR_EMBEDDINGS__PROVIDER=hash deliberately."
    )
    if provider == "onnx" and not can_download:
        return Check("embedder", "fail", lacking + " and cannot be downloaded", remedy)
    if provider == "onnx":
        return Check(
            "embedder",
            "warn",
            f"{lacking}; start-up will download it (up to {embeddings.download_timeout:g} s)",
            remedy,
        )
    then = (
        f"start-up will try to download it (up to {embeddings.download_timeout:g} s), "
        "else fall back to"
        if can_download
        else "start-up falls back to"
    )
    return Check(
        "embedder",
        "warn",
        f"{lacking}; {then} the hash embedder (weaker dense search)",
        remedy,
    )


# -- LLM --------------------------------------------------------------------------------------


def check_llm(llm: LLMSettings, timeout: float = NETWORK_TIMEOUT) -> Check:
    """The OpenAI-compatible endpoint answers GET /models and offers the configured model."""
    if not llm.configured:
        return Check(
            "llm",
            "warn",
            "no LLM configured: extractive answers only (quoted passages, no generated text)",
            "Set CURATOR_LLM__API_KEY (or OPENAI_API_KEY), or CURATOR_LLM__BASE_URL for a "
            "local OpenAI-compatible server such as Ollama or vLLM.",
        )
    base = (llm.base_url or OPENAI_DEFAULT_BASE_URL).rstrip("/")
    shown = url_without_credentials(base)
    headers = {}
    if llm.api_key is not None:
        headers["Authorization"] = f"Bearer {llm.api_key.get_secret_value()}"
    unreachable_remedy = (
        "Check CURATOR_LLM__BASE_URL and that the server is running; meanwhile answers fall "
        "back to quoted passages."
    )
    limit = min(timeout, llm.timeout)
    try:
        with httpx.Client(timeout=limit) as client:
            response = client.get(f"{base}/models", headers=headers)
    except httpx.TimeoutException:
        return Check(
            "llm", "warn", f"{shown} did not answer within {limit:g} s", unreachable_remedy
        )
    except httpx.HTTPError as exc:
        return Check(
            "llm", "warn", f"{shown} cannot be reached ({type(exc).__name__})", unreachable_remedy
        )
    code = response.status_code
    if code in (401, 403):
        return Check(
            "llm",
            "fail",
            f"{shown} rejected the API key (HTTP {code})",
            "Set a valid CURATOR_LLM__API_KEY (or OPENAI_API_KEY).",
        )
    if code == 404:
        return Check(
            "llm",
            "warn",
            f"{shown}/models is not found (HTTP 404): the model cannot be verified",
            "Check that CURATOR_LLM__BASE_URL ends with the API prefix, usually /v1.",
        )
    if code != 200:
        return Check(
            "llm",
            "warn",
            f"{shown}/models answered HTTP {code}: answers may fall back to quoted passages",
            unreachable_remedy,
        )
    offered = _model_ids(response)
    if offered and llm.model not in offered:
        listed = ", ".join(sorted(offered)[:5]) + (" …" if len(offered) > 5 else "")
        return Check(
            "llm",
            "warn",
            f"{shown} does not list the model {llm.model!r} (it offers {listed})",
            "Set CURATOR_LLM__MODEL to one of the models the endpoint offers.",
        )
    return Check("llm", "ok", f"{shown} answers; model {llm.model}")


def _model_ids(response: httpx.Response) -> set[str]:
    try:
        data = response.json().get("data", [])
        return {str(item["id"]) for item in data if isinstance(item, dict) and "id" in item}
    except (ValueError, AttributeError, TypeError):  # not JSON, or not the usual shape
        return set()


# -- all together -----------------------------------------------------------------------------


def run_checks(
    *,
    load: Callable[[], Settings] = load_settings,
    timeout: float = NETWORK_TIMEOUT,
    front_end_checks: Iterable[Callable[[Settings], Check]] = (),
) -> list[Check]:
    """Every check, in start-up order, then `front_end_checks` (such as the bot's token);
    with invalid settings only the settings check runs."""
    first, settings = check_settings(load)
    if settings is None:
        return [first]
    chroma = check_chroma(settings.chroma, settings.data_dir, timeout)
    served = served_index(settings)
    store = (
        check_store(settings, served)
        if chroma.status == "ok"
        else Check("store", "warn", "not probed: the vector store is unreachable", chroma.remedy)
    )
    return [
        first,
        check_data_dir(settings.data_dir),
        chroma,
        check_index(served),
        store,
        check_embedder(settings.embeddings, settings.llm, served),
        check_llm(settings.llm, timeout),
        *(check(settings) for check in front_end_checks),
    ]
