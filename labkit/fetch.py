"""Fetch a URL to a file: resume after an interruption, verify, then rename into place.

labkit's one downloader (datasets and pretrained weights). The bytes go to ``<dest>.part``; a
later call resumes it with an HTTP Range request (206: append; 200: the server ignored the
range, so start again from zero; a ``.part`` longer than the expected size: start again). The
finished file is checked (size, sha256, md5, or a sha256 prefix as in torch.hub's file names)
and only then renamed to ``dest``, so a file at its final path is always complete and verified.
A short timeout makes an offline machine fail in seconds. One process at a time per file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

TIMEOUT_S = 10.0  # connecting, and waiting for the next bytes
RETRIES = 3  # further tries after a connection dropped mid-way (only while bytes keep coming)
CHUNK = 1 << 20
USER_AGENT = "labkit"


class DownloadError(OSError):
    """A download failed (no network, an HTTP error, a connection cut short)."""


class ChecksumError(DownloadError):
    """A file's size or checksum is not the expected one."""


def digests(path: str | os.PathLike, *algorithms: str) -> dict[str, str]:
    """The hex digests of a file, e.g. ``digests(p, "sha256", "md5")``, read once in chunks."""
    hashes = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            for h in hashes.values():
                h.update(chunk)
    return {name: h.hexdigest() for name, h in hashes.items()}


def mismatch(path: str | os.PathLike, *, sha256: str | None = None, md5: str | None = None,
             sha256_prefix: str | None = None, size: int | None = None) -> str | None:
    """How the file differs from what is expected ("sha256 is X, expected Y"), or None."""
    found = Path(path).stat().st_size
    if size is not None and found != size:
        return f"its size is {found:,} bytes, expected {size:,}"
    wanted = [("sha256", sha256, False), ("sha256", sha256_prefix, True), ("md5", md5, False)]
    wanted = [(name, value.lower(), prefix) for name, value, prefix in wanted if value]
    if not wanted:
        return None
    actual = digests(path, *{name for name, _, _ in wanted})
    for name, value, prefix in wanted:
        if not (actual[name].startswith(value) if prefix else actual[name] == value):
            expected = f"one starting {value}" if prefix else value
            return f"its {name} is {actual[name]}, expected {expected}"
    return None


def fetch(url: str, dest: str | os.PathLike, *, sha256: str | None = None,
          md5: str | None = None, sha256_prefix: str | None = None, size: int | None = None,
          timeout: float = TIMEOUT_S, retries: int = RETRIES, progress: bool = True) -> Path:
    """``dest``, downloaded from ``url`` unless it is already there, verified either way.

    A ``dest`` on disk that does not verify is an error (never silently replaced). A download
    that does not verify is deleted and raises ``ChecksumError`` naming the URL, the expected and
    the actual value; one cut short keeps its ``.part``, which the next call resumes.
    """
    dest, expected = Path(dest), dict(sha256=sha256, md5=md5, sha256_prefix=sha256_prefix,
                                      size=size)
    if dest.is_file():
        problem = mismatch(dest, **expected)
        if problem:
            raise ChecksumError(f"{dest} is on disk but is not the file {url} gives: {problem}. "
                                "It changed or is damaged; delete it to download it again.")
        return dest
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        before = _size(part)
        try:
            _download(url, part, size, timeout, progress)
            break
        except (OSError, http.client.HTTPException) as error:
            received = _size(part)
            if attempt == retries or received <= before:  # nothing came: do not insist
                kept = (f"; the {received:,} bytes received are kept in {part} and the next try "
                        "resumes from there") if received else ""
                raise DownloadError(f"could not download {url} ({type(error).__name__}: "
                                    f"{error}){kept}") from error
    problem = mismatch(part, **expected)
    if problem:
        part.unlink()
        raise ChecksumError(f"the download of {url} is not the expected file: {problem}. It was "
                            "deleted; try again, and if it fails again the source has changed.")
    os.replace(part, dest)
    return dest


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _download(url: str, part: Path, size: int | None, timeout: float, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (or write it all when a resume is not possible)."""
    offset = _size(part)
    if size is not None and offset > size:  # cannot be a prefix of the file: start again
        part.unlink()
        offset = 0
    if size is not None and offset == size:
        return  # complete already (the process stopped before the rename)
    headers = {"User-Agent": USER_AGENT} | ({"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                          timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code != 416 or not offset:
            raise
        total = re.fullmatch(r"bytes \*/(\d+)", error.headers.get("Content-Range", ""))
        if total and int(total[1]) == offset:
            return  # the range starts at the end: the .part is the whole file
        part.unlink()  # the range is past the end: the .part is not a prefix of this file
        return _download(url, part, size, timeout, progress)
    with response:
        start = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if response.status != 206:  # the whole file (the server ignored the range)
            offset = 0
        elif not start or int(start[1]) != offset:
            part.unlink()
            raise DownloadError(f"{url} answered a range other than the one asked for")
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else size
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "ab" if offset else "wb") as file, \
                tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                     desc=Path(url).name, disable=not progress, leave=False) as bar:
            while chunk := response.read(CHUNK):
                file.write(chunk)
                bar.update(len(chunk))
    if length is not None and _size(part) != total:
        raise DownloadError(f"the connection closed after {_size(part):,} of {total:,} bytes")
