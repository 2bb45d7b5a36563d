"""On-disk cache of compiled wasmtime modules (``Module.serialize()`` bytes).

Entries are a magic header, the SHA-256 of the payload and the payload. The checksum is
verified before the bytes reach ``Module.deserialize`` (which trusts its input: it is
native code). Corrupt, truncated or incompatible entries are ignored and rewritten; a
cache directory that cannot be written only costs speed. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile

import wasmtime

log = logging.getLogger(__name__)

_CACHE_MAGIC = b"TWB-CWASM-1\n"
_DIGEST_LEN = 32


class DiskCache:
    def __init__(self, directory: str | None, key: str) -> None:
        self.directory, self.key = directory, key

    def path(self, sha256: str) -> str | None:
        if not self.directory:
            return None
        return os.path.join(self.directory, f"{sha256}-{self.key}.cwasm")

    def load(self, sha: str, engine, stats: dict):
        path = self.path(sha)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                blob = f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            stats["disk_errors"] += 1
            log.debug("cannot read wasm cache entry %s: %s", path, e)
            return None
        head = len(_CACHE_MAGIC) + _DIGEST_LEN
        payload = blob[head:]
        if (
            len(blob) <= head
            or not blob.startswith(_CACHE_MAGIC)
            or blob[len(_CACHE_MAGIC):head] != hashlib.sha256(payload).digest()
        ):
            # checked before handing bytes to wasmtime: Module.deserialize
            # trusts its input (it is native code)
            stats["disk_errors"] += 1
            log.debug("ignoring corrupt wasm cache entry %s", path)
            return None
        try:
            module = wasmtime.Module.deserialize(engine, payload)
        except Exception as e:  # incompatible (other wasmtime build, CPU features, ...)
            stats["disk_errors"] += 1
            log.debug("ignoring incompatible wasm cache entry %s: %s", path, e)
            return None
        stats["disk_hits"] += 1
        return module

    def store(self, sha: str, module, stats: dict) -> None:
        path = self.path(sha)
        if path is None:
            return
        tmp = None
        try:
            payload = bytes(module.serialize())
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=os.path.basename(path) + ".", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(_CACHE_MAGIC)
                f.write(hashlib.sha256(payload).digest())
                f.write(payload)
            os.replace(tmp, path)
            tmp = None
            stats["disk_writes"] += 1
        except Exception as e:  # a cache we cannot write is not an error
            log.debug("cannot write wasm cache entry %s: %s", path, e)
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
