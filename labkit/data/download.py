"""Where the real datasets come from and how they are put on disk.

``REMOTES`` is the table of sources (URL, the checksum the source or torchvision publishes,
where the archive is kept and which folder it becomes); tests point its URLs at a local server.
``obtain`` fetches an archive (``labkit.fetch``: resumable, verified) and extracts it.
Where no checksum is published, the size and sha256 of the first download are recorded in
``<root>/checksums.json`` and every later use is checked against them (``recorded``).
``extract`` refuses an archive with a member that could write outside its folder (an absolute
path, a ``..``, a link, a device) before writing anything, and extracts into a temporary sibling
folder that is renamed into place, so a half-extracted folder never sits at the final path.
"""

from __future__ import annotations

import datetime
import os
import shutil
import stat
import tarfile
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..atomic import read_json, write_json
from ..fetch import ChecksumError, digests, fetch, mismatch

RECORDS = "checksums.json"  # in the data root: {archive path: {url, size, sha256, recorded}}


@dataclass(frozen=True)
class Remote:
    """A downloadable archive and the folder it becomes (paths relative to the data root)."""

    url: str
    archive: str  # where the downloaded archive is kept
    folder: str  # the folder it becomes
    inner: str | None = None  # the archive's folder that becomes ``folder`` (None: all of it)
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    checksum_from: str = "recorded at the first download"  # who publishes the checksum


_HF = "https://huggingface.co/datasets/eugenesiow/{name}/resolve/main/data/{name}_HR.tar.gz"
_DIV2K = "https://data.vision.ee.ethz.ch/cvl/DIV2K/{name}.zip"
_TFDS = "TensorFlow Datasets (url_checksums/div2k.txt)"

REMOTES: dict[str, Remote] = {
    "cifar10": Remote(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "cifar-10-python.tar.gz",
        "cifar-10-batches-py", inner="cifar-10-batches-py",
        md5="c58f30108f718f92721af3b95e74349a", checksum_from="torchvision (CIFAR10.tgz_md5)"),
    "emnist": Remote(
        "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip", "EMNIST/gzip.zip",
        "EMNIST/raw", inner="gzip",
        md5="58c8d27c78d21e728a6bc7b3cc06412e", checksum_from="torchvision (EMNIST.md5)"),
    "div2k-train": Remote(
        _DIV2K.format(name="DIV2K_train_HR"), "DIV2K/DIV2K_train_HR.zip",
        "DIV2K/DIV2K_train_HR", inner="DIV2K_train_HR", size=3530603713,
        sha256="9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335",
        checksum_from=_TFDS),
    "div2k-valid": Remote(
        _DIV2K.format(name="DIV2K_valid_HR"), "DIV2K/DIV2K_valid_HR.zip",
        "DIV2K/DIV2K_valid_HR", inner="DIV2K_valid_HR", size=448993893,
        sha256="20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc",
        checksum_from=_TFDS),
    "set5": Remote(_HF.format(name="Set5"), "Set5/Set5_HR.tar.gz", "Set5/HR", inner="Set5_HR"),
    "set14": Remote(_HF.format(name="Set14"), "Set14/Set14_HR.tar.gz", "Set14/HR",
                    inner="Set14_HR"),
}  # fmt: skip


def obtain(name: str, root: str | os.PathLike) -> Path:
    """The folder of ``REMOTES[name]`` under ``root``: its archive downloaded (or the one on
    disk), verified and extracted. Errors: ``DownloadError``/``ChecksumError``/``ArchiveError``."""
    remote, root = REMOTES[name], Path(root)
    archive = root / remote.archive
    if remote.md5 or remote.sha256:
        fetch(remote.url, archive, md5=remote.md5, sha256=remote.sha256, size=remote.size)
    else:
        fetch_recorded(remote.url, archive, root)
    return extract(archive, root / remote.folder, inner=remote.inner)


# --- checksums recorded at the first download ---------------------------------------------------


def _records(root: Path) -> dict:
    path = root / RECORDS
    if not path.is_file():
        return {}
    try:
        return dict(read_json(path))
    except ValueError as error:
        raise ValueError(f"{path} is not readable ({error}); delete it (the checksums are "
                         "recorded again at the next download)") from None


def _key(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def _changed(error: ChecksumError, path: Path, root: Path) -> ChecksumError:
    return ChecksumError(f"{error} (checked against the size and sha256 recorded at its first "
                         f"download in {root / RECORDS}; if the source has changed its file on "
                         f"purpose, also remove the entry {_key(path, root)!r} there)")


def record(path: Path, root: Path, origin: str) -> None:
    """Record the size and sha256 of ``path`` (just downloaded from ``origin``) in the root's
    ``checksums.json``, written atomically."""
    records = _records(root)
    records[_key(path, root)] = {
        "url": origin,
        "size": path.stat().st_size,
        "sha256": digests(path, "sha256")["sha256"],
        "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(root / RECORDS, records)


def recorded(path: Path, root: Path, origin: str) -> None:
    """Check ``path`` against its recorded size and sha256, or record them if this is the first
    time it is seen. A changed file raises ``ChecksumError`` (delete it to download it again)."""
    entry = _records(root).get(_key(path, root))
    if entry is None:
        record(path, root, origin)
        return
    problem = mismatch(path, sha256=entry["sha256"], size=entry["size"])
    if problem:
        error = ChecksumError(f"{path} has changed since it was downloaded from {origin}: "
                              f"{problem}. Delete it to download it again.")
        raise _changed(error, path, root)


def fetch_recorded(url: str, dest: Path, root: Path) -> Path:
    """``fetch`` for a source that publishes no checksum: verified against the size and sha256
    recorded at the first download (recorded now if this is the first)."""
    entry = _records(root).get(_key(dest, root))
    if entry is None:
        fetch(url, dest)
        recorded(dest, root, url)
        return dest
    try:
        return fetch(url, dest, sha256=entry["sha256"], size=entry["size"])
    except ChecksumError as error:
        raise _changed(error, dest, root) from None


# --- safe extraction ----------------------------------------------------------------------------


class ArchiveError(ValueError):
    """An archive is damaged, or is not laid out as expected."""


class UnsafeArchiveError(ArchiveError):
    """An archive has a member that could write outside the folder it is extracted into."""


def _outside(name: str, base: str) -> str | None:
    """Why writing member ``name`` under folder ``base`` could leave it, or None."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if ".." in parts:
        return "has a '..' component"
    target = os.path.realpath(os.path.join(base, name))
    if os.path.commonpath([base, target]) != base:
        return "would be written outside the folder"
    return None


def _tar_kind(member: tarfile.TarInfo) -> str | None:
    if member.isfile() or member.isdir():
        return None
    if member.issym() or member.islnk():
        return f"is a link to {member.linkname!r}"
    return "is a device or other special file"


def _zip_kind(info: zipfile.ZipInfo) -> str | None:
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    return None


def _check(archive: Path, members: list[tuple[str, str | None]], base: str) -> None:
    """Refuse the whole archive if any member (name, kind problem) is unsafe."""
    for name, kind in members:
        why = kind or _outside(name, base)
        if why:
            raise UnsafeArchiveError(f"{archive} was refused: its member {name!r} {why}. Nothing "
                                     "was extracted. The file is damaged or malicious; delete it.")


def _unpack(archive: Path, into: Path) -> None:
    """Check every member of a .zip or tar archive, then (only then) extract it into ``into``."""
    base = os.path.realpath(into)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                infos = zipped.infolist()
                _check(archive, [(i.filename, _zip_kind(i)) for i in infos], base)
                zipped.extractall(into)
        else:
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                _check(archive, [(m.name, _tar_kind(m)) for m in members], base)
                if hasattr(tarfile, "data_filter"):  # Python ≥ 3.10.12 / 3.11.4
                    tar.extractall(into, members=members, filter="data")
                else:  # every member was checked above: plain files and folders inside `into`
                    tar.extractall(into, members=members)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as error:
        raise ArchiveError(f"{archive} is damaged ({type(error).__name__}: {error}); delete it "
                           "to download it again") from None


def _move_into_place(source: Path, dest: Path) -> None:
    """Rename the extracted folder to ``dest``; when ``dest`` already holds files, move in only
    the files it lacks (each one whole)."""
    if dest.is_dir() and not any(dest.iterdir()):
        dest.rmdir()
    if not dest.exists():
        os.replace(source, dest)
        return
    for path in sorted(source.rglob("*")):
        target = dest / path.relative_to(source)
        if path.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)


def extract(archive: str | os.PathLike, dest: str | os.PathLike, *,
            inner: str | None = None) -> Path:
    """Extract ``archive`` (.zip, .tar, .tar.gz, ...) so that its folder ``inner`` (or all of
    it) becomes ``dest``: checked first, extracted into a temporary sibling folder (stale ones
    from an interrupted earlier try are removed), then renamed into place."""
    archive, dest = Path(archive), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}.extracting-*"):
        shutil.rmtree(stale, ignore_errors=True)
    temporary = dest.with_name(f".{dest.name}.extracting-{uuid.uuid4().hex[:8]}")
    try:
        _unpack(archive, temporary)
        source = temporary / inner if inner else temporary
        if not source.is_dir():
            raise ArchiveError(f"{archive} has no folder {inner!r} (it is not the expected "
                               "archive); delete it to download it again")
        _move_into_place(source, dest)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return dest
