"""A cache folder: plain `.npy` arrays and a JSON manifest, checked before use.

No pickles: arrays are read with `allow_pickle=False`, everything else is
JSON. Every file is checked against the size the manifest records, small
files also against their SHA-256, and every array for the dtype it must
have; callers then check that the values fit together (offsets in order,
ids in range), which is what keeps a damaged large file from being used.
Large arrays are memory-mapped: a catalogue's index (hundreds of megabytes)
opens in milliseconds, and only the postings a query touches are read.
Folders are written (and synced) in a temporary folder beside their final
place and renamed into it, so a reader sees a whole folder or none. No other
file in a folder is ever read.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import QuotebotError
from bot.search.index.columns import TextColumn

MANIFEST = "index.json"
# Files up to this size are hashed on every read; larger ones are checked by size
# and structure (hashing a catalogue's 400 MB index would double its start time).
HASHED_UP_TO = 8 << 20


class CacheError(QuotebotError, ValueError):
    """A cache folder that is not exactly what this version writes."""


# What reading a damaged cache folder raises: a truncated or tampered array or
# manifest, another format, a folder half gone. Callers rebuild on these; any other
# exception is a bug, and rebuilding on every start would hide it.
DAMAGED: tuple[type[Exception], ...] = (CacheError, OSError, ValueError, KeyError, EOFError)


def check(ok: bool, what: str = "a field") -> None:
    if not ok:
        raise CacheError(f"{what} is malformed")


def strings(value: object, what: str) -> list[str]:
    check(isinstance(value, list) and all(isinstance(v, str) for v in value), what)
    return value  # type: ignore[return-value]


def feed(digest: Any, path: Path) -> None:
    """Add a file's bytes to a running hash, a megabyte at a time."""
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    feed(digest, path)
    return digest.hexdigest()


def text_arrays(name: str, column: TextColumn) -> dict[str, np.ndarray]:
    """The two arrays a text column is saved as."""
    return {f"{name}.data": column.data, f"{name}.offsets": column.offsets}


def text_dtypes(name: str) -> dict[str, type]:
    return {f"{name}.data": np.uint8, f"{name}.offsets": np.int64}


def write_folder(
    folder: Path,
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    extra_files: Iterable[str] = (),
) -> None:
    """Write `arrays` into `folder` (a fresh temporary one), the manifest last.

    `extra_files` are files already written into the folder (a dictionary)
    that the manifest should vouch for too.
    """
    names = []
    for name, array in arrays.items():
        path = folder / f"{name}.npy"
        with path.open("wb") as fh:
            np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        names.append(path.name)
    files = {}
    for name in [*names, *extra_files]:
        size = (folder / name).stat().st_size
        files[name] = {
            "size": size,
            "sha256": sha256(folder / name) if size <= HASHED_UP_TO else None,
        }
    with (folder / MANIFEST).open("w", encoding="utf-8") as fh:
        json.dump({**meta, "files": files}, fh, ensure_ascii=False, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())


def read_folder(
    folder: Path, dtypes: dict[str, type], extra_files: Iterable[str] = ()
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of a folder; CacheError (or OSError) when anything is off."""
    with (folder / MANIFEST).open(encoding="utf-8") as fh:
        manifest = json.load(fh)
    check(isinstance(manifest, dict), MANIFEST)
    files = manifest.get("files")
    expected = {f"{name}.npy" for name in dtypes} | set(extra_files)
    check(isinstance(files, dict) and set(files) == expected, "file list")
    small: dict[str, bytes] = {}  # checked files up to HASHED_UP_TO, read once
    for name, recorded in files.items():
        check(isinstance(recorded, dict), "file list")
        size = (folder / name).stat().st_size
        if size != recorded.get("size"):
            raise CacheError(f"{name} has {size} bytes, not {recorded.get('size')}")
        if size <= HASHED_UP_TO:
            small[name] = (folder / name).read_bytes()
            if hashlib.sha256(small[name]).hexdigest() != recorded.get("sha256"):
                raise CacheError(f"{name} does not match its checksum")
    arrays = {}
    for name, dtype in dtypes.items():
        path = folder / f"{name}.npy"
        if path.name in small:
            value = np.load(io.BytesIO(small[path.name]), allow_pickle=False)
        else:  # still mapped, but indexed as a plain array (np.memmap's indexing is slow)
            value = np.load(path, allow_pickle=False, mmap_mode="r").view(np.ndarray)
        if value.dtype != np.dtype(dtype) or value.ndim != 1:
            raise CacheError(f"{name} has dtype {value.dtype} and {value.ndim} dimensions")
        arrays[name] = value
    return arrays, manifest


def text_column(arrays: dict[str, np.ndarray], name: str) -> TextColumn:
    try:
        column = TextColumn(arrays[f"{name}.data"], arrays[f"{name}.offsets"])
        for probe in (0, len(column) - 1):  # a cut inside a character shows up here
            if 0 <= probe < len(column):
                column[probe]
        return column
    except (ValueError, UnicodeDecodeError) as exc:
        raise CacheError(f"{name}: {exc}") from exc


def write_into_place(
    folder: Path, fill: Callable[[Path], None], valid: Callable[[Path], object]
) -> None:
    """Fill a temporary folder beside `folder`, then rename it to `folder`.

    An unreadable folder already there is moved aside first; when another
    process wrote a good one meanwhile (`valid` does not raise), theirs stays.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    try:
        fill(tmp)
        try:
            tmp.rename(folder)
            return
        except OSError:
            if not folder.exists():
                raise
        try:
            valid(folder)
            return  # another process won the race with a good folder: use theirs
        except DAMAGED:
            pass
        broken = Path(tempfile.mkdtemp(prefix=".broken-", dir=folder.parent))
        folder.rename(broken / "old")
        try:
            tmp.rename(folder)
        finally:
            shutil.rmtree(broken, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when it was renamed
