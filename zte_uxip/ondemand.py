"""Modules a dependency imports but the agent never uses, loaded only if something reads them.

- paho-mqtt's ``client.py`` runs ``import urllib.request`` at import time, but uses it only to
  read a proxy from the environment, and only when PySocks is installed (``_get_proxy``
  returns early without it). ``urllib.request`` brings ``http.client``, ``email``, ``bz2``,
  ``lzma``, ``shutil`` and ``tempfile`` along: ~1.5–3 MiB RSS, for a feature the agent does
  not use. Its ``import uuid`` serves only random client ids; the agent always sends its own.
- tenacity's ``_utils`` (which ``tenacity.wait`` needs) runs ``import inspect`` for helpers
  the backoff never calls; ``inspect`` brings ``ast``, ``dis`` and ``tokenize``: ~1 MiB.

Before importing such a dependency, :func:`defer` registers a stand-in module under the name;
the first read of any of its attributes imports the real module, which then replaces the
stand-in everywhere it can (``sys.modules`` and the parent package), so whatever would have
used it still works — the agent just never pays for it otherwise.

``importlib.util.LazyLoader`` cannot do this on Python 3.11: the ``import urllib.request``
statement itself reads the module's ``__spec__`` (to see whether it is still initialising),
and that read makes a lazy module load at once. ``tests/test_lean_imports.py`` runs the real
``zte-uxip run`` with ``PYTHONPROFILEIMPORTTIME`` and fails if either module gets loaded.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _OnDemand(types.ModuleType):
    """Stands in for a module until one of its attributes is read, then imports it."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)  # also rebinds the parent package's attribute
        return getattr(real, attr)


def defer(*names: str) -> None:
    """Register stand-ins for ``names`` that are not imported yet (no-op for the others)."""
    for name in names:
        if name in sys.modules:
            continue
        stand_in = _OnDemand(name)
        parent_name, _, child = name.rpartition(".")
        if parent_name:
            setattr(importlib.import_module(parent_name), child, stand_in)
        sys.modules[name] = stand_in
