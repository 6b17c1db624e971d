"""Many short strings kept as one UTF-8 buffer plus offsets.

A catalogue holds hundreds of thousands of passages and millions of index
terms. As Python lists they cost tens of bytes of overhead each and seconds
to rebuild from JSON at every start; as one buffer they load from two `.npy`
files in milliseconds, and a string is decoded only when it is looked at
(the few passages an answer shows or a query aligns with).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np


class TextColumn(Sequence[str]):
    """An immutable sequence of strings: `data[offsets[i]:offsets[i + 1]]` is string i."""

    __slots__ = ("_data", "offsets")

    def __init__(self, data: bytes | np.ndarray, offsets: np.ndarray) -> None:
        """`data` is UTF-8: bytes, or a uint8 array (perhaps memory-mapped: read only when used)."""
        view = memoryview(data).cast("B")
        if offsets.ndim != 1 or offsets.size == 0 or offsets[0] != 0:
            raise ValueError("offsets must start at 0")
        if int(offsets[-1]) != view.nbytes or bool(np.any(np.diff(offsets) < 0)):
            raise ValueError("offsets do not fit the data")
        self._data = view
        self.offsets = offsets.astype(np.int64, copy=False)

    @classmethod
    def from_strings(cls, strings: Iterable[str]) -> TextColumn:
        encoded = [s.encode("utf-8") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    @classmethod
    def concat(cls, columns: Sequence[TextColumn]) -> TextColumn:
        """One column holding every string of `columns`, in order."""
        if not columns:
            return cls.from_strings([])
        parts, base = [np.zeros(1, dtype=np.int64)], 0
        for column in columns:
            parts.append(column.offsets[1:] + base)
            base += column._data.nbytes
        return cls(b"".join(c._data for c in columns), np.concatenate(parts))

    def take(self, indices: np.ndarray) -> TextColumn:
        """The strings at `indices`, in that order, as a new column (no Python strings made)."""
        indices = np.asarray(indices, dtype=np.int64)
        starts = self.offsets[indices]
        lengths = self.offsets[indices + 1] - starts
        offsets = np.zeros(indices.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        source = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return TextColumn(self.data[source].tobytes(), offsets)

    @property
    def data(self) -> np.ndarray:
        """The buffer as uint8 (how it is saved with `np.save`)."""
        return np.frombuffer(self._data, dtype=np.uint8)

    def __len__(self) -> int:
        return self.offsets.size - 1

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("TextColumn index out of range")
        return str(self._data[self.offsets[i] : self.offsets[i + 1]], "utf-8")

    def __iter__(self) -> Iterator[str]:
        data, bounds = self._data, self.offsets.tolist()
        for lo, hi in itertools.pairwise(bounds):
            yield str(data[lo:hi], "utf-8")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TextColumn):
            return np.array_equal(self.offsets, other.offsets) and self._data == other._data
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[TextColumn], tuple[bytes, np.ndarray]]:
        # Memory views do not pickle; worker processes hand parts back this way.
        return (TextColumn, (bytes(self._data), np.asarray(self.offsets)))
