"""Artifact references: an artifact named by the server that holds it, in place of its JSON.

A vgkit extension of A2A between vgkit peers over trusted hops; the server side
is :class:`vgkit.serve.artifact_store.ArtifactStore` (its docstring tells the
whole protocol), the client side :class:`vgkit.agents.A2ABackend`.

* A peer that may refer to an answer later asks for it to be kept: ``{"vgkit.keep":
  true}`` in the message's metadata (other clients, which never send references,
  cost the server nothing).
* A server that keeps an artifact for its peer names it in the artifact's
  metadata: ``{"vgkit.ref": "STORE.ID"}``.
* The peer may send ``{"vgkit.ref": "STORE.ID"}`` in place of that artifact's
  JSON, as an input of a later call to an agent of the same store.
* A server that does not hold it answers :data:`ARTIFACT_REF_NOT_FOUND`, and the
  peer sends the call again with the artifact itself.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["ARTIFACT_REF_NOT_FOUND", "KEEP_KEY", "REF_KEY", "ref_json", "reference", "store_of"]

#: The key of a reference, in an artifact's metadata and in place of an input.
REF_KEY = "vgkit.ref"
#: The message metadata flag that asks the server to keep the answer for references.
KEEP_KEY = "vgkit.keep"
#: JSON-RPC error (the server-defined range): a reference the server does not hold.
ARTIFACT_REF_NOT_FOUND = -32050


def reference(value: Any) -> str | None:
    """The reference ``value`` stands for (``{"vgkit.ref": "..."}``), else None."""
    if isinstance(value, dict) and len(value) == 1:
        ref = value.get(REF_KEY)
        if isinstance(ref, str):
            return ref
    return None


def ref_json(ref: str) -> bytes:
    """The JSON sent in place of the artifact ``ref`` names."""
    return orjson.dumps({REF_KEY: ref})


def store_of(ref: str) -> str:
    """The id of the store a reference names (what comes before its dot)."""
    return ref.partition(".")[0]
