"""`python -m knowledge.store.probe '<json>'`: open one collection and run one real query.

Run by `curator doctor` in a child process, so a store that crashes the process opening it
(a damaged HNSW file can segfault) fails the check instead of taking down the bot. Prints one
JSON object: {"vectors": n, "queried": bool}, or {"error": ...} / {"busy": ...}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from knowledge.errors import StoreBusyError, StoreUnavailableError
from knowledge.settings import ChromaSettings
from knowledge.store.vector_store import VectorStore

#: Exit statuses besides 0 (answered): the store failed, or another process holds it.
FAILED, BUSY = 2, 3


def main(argv: list[str]) -> int:
    """Probe the collection described by argv[1]; returns the exit status."""
    request = json.loads(argv[1])
    store = VectorStore(
        ChromaSettings.model_validate(request["chroma"]),
        Path(request["data_dir"]),
        request["collection"],
        collection=request["collection"],
        create=False,
    )
    try:
        vectors = store.count()
        queried = store.probe_query()
    except StoreBusyError as exc:
        print(json.dumps({"busy": str(exc)}))
        return BUSY
    except StoreUnavailableError as exc:
        missing = "does not exist" in str(exc)
        print(json.dumps({"vectors": 0, "queried": False} if missing else {"error": str(exc)}))
        return 0 if missing else FAILED
    finally:
        store.close()
    print(json.dumps({"vectors": vectors, "queried": queried}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
