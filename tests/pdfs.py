"""Reading a PDF's accessibility back: its tags, language and title."""

from __future__ import annotations

import io

import pypdf
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject


def structure(content: bytes) -> dict:
    """What a screen reader gets of a PDF: whether it is tagged, its language,
    its title, whether the viewer shows that title, and the tags used in its
    structure tree (H1, Table, TH…), counted."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    root = reader.trailer["/Root"].get_object()
    tags: dict[str, int] = {}

    def walk(node: object, depth: int = 0) -> None:
        if isinstance(node, IndirectObject):
            node = node.get_object()
        if depth > 200:
            return
        if isinstance(node, ArrayObject):
            for child in node:
                walk(child, depth + 1)
        elif isinstance(node, DictionaryObject):
            if "/S" in node:
                name = str(node["/S"]).lstrip("/")
                tags[name] = tags.get(name, 0) + 1
            if "/K" in node:
                walk(node["/K"], depth + 1)

    tree = root.get("/StructTreeRoot")
    if tree is not None:
        walk(tree.get_object().get("/K"))
    metadata = reader.xmp_metadata
    titles = metadata.dc_title if metadata is not None else {}
    return {
        "marked": bool(root.get("/MarkInfo", {}).get("/Marked", False)),
        "lang": str(root.get("/Lang", "")),
        "title": next(iter(titles.values()), None) if titles else reader.metadata.title,
        "shows_title": bool(root.get("/ViewerPreferences", {}).get("/DisplayDocTitle", False)),
        "tags": tags,
    }
