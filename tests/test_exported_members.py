"""Each package's public surface is what its `__all__` says, as in httpx's test of the same name.

A name a package imports for others to use must be listed; a name it lists must
exist; nothing else public may sit in its namespace (its submodules are its
internals: other layers may not import them, which import-linter checks).
"""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ["bot.app", "bot.search", "bot.search.library", "bot.storage", "bot.cards", "bot.web"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_public_names_are_exported(name: str) -> None:
    package = importlib.import_module(name)
    public = {
        member
        for member, value in vars(package).items()
        if not member.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(package.__all__) == public
    assert package.__all__ == sorted(
        package.__all__, key=lambda n: (not n.isupper(), n[:1].islower(), n)
    )


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists(name: str) -> None:
    package = importlib.import_module(name)
    missing = [member for member in package.__all__ if not hasattr(package, member)]
    assert missing == []
