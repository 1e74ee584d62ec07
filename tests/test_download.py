"""Downloads, checksums, resume and safe extraction, offline: a local HTTP server (a thread)
serves miniature archives in the real formats, and can cut a response short, corrupt its bytes
or ignore Range requests."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import json
import os
import pickle
import socket
import struct
import sys
import tarfile
import threading
import time
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import labkit.weights as weight_files
from labkit.data import DatasetNotFoundError, celeba, download, load, load_images
from labkit.data.cifar10 import CLASSES as CIFAR_CLASSES
from labkit.data.download import REMOTES, ArchiveError, UnsafeArchiveError, extract
from labkit.fetch import ChecksumError, DownloadError, fetch

RNG = np.random.default_rng(7)


# --- the local server ---------------------------------------------------------------------------


class Server:
    """What the handler serves and how it misbehaves; every request is logged."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}  # path -> send only this many bytes, once
        self.corrupt: set[str] = set()  # paths whose bytes are altered
        self.ignore_range = False
        self.log: list[dict] = []
        self.url = ""

    def add(self, name: str, payload: bytes) -> str:
        """Serve ``payload`` at ``/name``; its URL."""
        self.files[f"/{name}"] = payload
        return f"{self.url}/{name}"


class Handler(http.server.BaseHTTPRequestHandler):
    """GET with Range support (206, or 416 past the end), cut-short and corrupted responses."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        state = self.server.state  # type: ignore[attr-defined]
        body = state.files.get(self.path)
        asked = self.headers.get("Range")
        entry = {"path": self.path, "range": asked, "status": 404, "sent": 0}
        state.log.append(entry)
        if body is None:
            self.send_error(404)
            return
        if self.path in state.corrupt:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        start = int(asked.removeprefix("bytes=").rstrip("-")) if asked else 0
        if asked and not state.ignore_range:
            if start >= len(body):
                entry["status"] = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            entry["status"] = 206
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        else:
            entry["status"] = 200
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in state.cut:  # promise the whole body, send part of it, hang up
            body = body[: state.cut.pop(self.path)]
            self.close_connection = True
        entry["sent"] = len(body)  # before writing: the client may finish before this thread
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    """A local HTTP server on a free port, serving ``Server.files``."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.state = Server()  # type: ignore[attr-defined]
    httpd.state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd.state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data root and cache, and no Kaggle token."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("LABKIT_DATA", str(folder))
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    return folder


def serve_remote(monkeypatch, server: Server, name: str, payload: bytes, **checksums) -> str:
    """Point ``REMOTES[name]`` at the local server, with the given checksums (else none)."""
    remote = REMOTES[name]
    url = server.add(Path(remote.archive).name, payload)
    fields = {"md5": None, "sha256": None, "size": None} | checksums
    monkeypatch.setitem(REMOTES, name, dataclasses.replace(remote, url=url, **fields))
    return url


def md5(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary files and folders a download or an extraction might leave behind."""
    return sorted(p.name for p in folder.rglob("*") if ".part" in p.name or "extracting" in p.name)


# --- miniature archives in the real formats -----------------------------------------------------


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz of regular files (folders implied by the names)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    """A .zip of regular files, with fixed times (the same members give the same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, payload in members.items():
            zipped.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), payload)
    return buffer.getvalue()


def png(height: int = 48, width: int = 40, seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (218, 178, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def cifar_archive(per_batch: int = 3) -> tuple[bytes, np.ndarray]:
    """cifar-10-python.tar.gz in miniature: pickled batches; the training labels."""
    members, labels = {}, []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = RNG.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8)
        batch_labels = RNG.integers(0, 10, per_batch).tolist()
        labels += batch_labels if name != "test_batch" else []
        entry = {"batch_label": name, "data": pixels, "labels": batch_labels}
        members[f"cifar-10-batches-py/{name}"] = pickle.dumps(entry, protocol=2)
    meta = {"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch}
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(meta, protocol=2)
    return tar_gz(members), np.array(labels)


def idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def emnist_archive() -> bytes:
    """NIST's gzip.zip in miniature: gzip/emnist-balanced-{train,test}-*-ubyte.gz."""
    members = {}
    for part in ("train", "test"):
        glyphs = RNG.integers(0, 256, (4, 28, 28), dtype=np.uint8)
        members[f"gzip/emnist-balanced-{part}-images-idx3-ubyte.gz"] = gzip.compress(idx(glyphs))
        members[f"gzip/emnist-balanced-{part}-labels-idx1-ubyte.gz"] = gzip.compress(
            idx(np.array([0, 10, 46, 3])))
    members["gzip/emnist-balanced-mapping.txt"] = b"0 48\n"
    return zip_of(members)


def div2k_archive() -> bytes:
    """DIV2K_valid_HR.zip in miniature: three PNGs in DIV2K_valid_HR/."""
    return zip_of({f"DIV2K_valid_HR/{801 + i:04d}.png": png(seed=i) for i in range(3)})


def set5_archive() -> bytes:
    """Set5_HR.tar.gz (the HuggingFace mirror's layout) in miniature."""
    return tar_gz({f"Set5_HR/{name}.png": png(seed=i)
                   for i, name in enumerate(["baby", "bird", "butterfly"])})


# --- whole downloads through load(..., download=True) -------------------------------------------


def test_cifar10_download_verifies_extracts_and_loads(root, server, monkeypatch) -> None:
    payload, labels = cifar_archive()
    serve_remote(monkeypatch, server, "cifar10", payload, md5=md5(payload))
    train = load("cifar10", download=True)
    assert train.images.shape == (15, 3, 32, 32)
    assert torch.equal(train.labels, torch.from_numpy(labels))
    assert (root / "cifar-10-python.tar.gz").read_bytes() == payload
    assert leftovers(root) == []
    assert len(load("cifar10", split="test", download=True)) == 3
    assert len(server.log) == 1  # on disk from now on: no second request


def test_emnist_download_puts_the_gz_files_where_the_loader_reads(root, server, monkeypatch):
    payload = emnist_archive()
    serve_remote(monkeypatch, server, "emnist", payload, md5=md5(payload))
    train = load("emnist", split="balanced", download=True)
    assert train.images.shape == (4, 1, 28, 28) and train.labels.tolist() == [0, 10, 46, 3]
    assert len(load("emnist", split="balanced-test", download=True)) == 4
    raw = root / "EMNIST" / "raw"
    assert (raw / "emnist-balanced-train-images-idx3-ubyte.gz").is_file()
    assert not (raw / "gzip").exists() and leftovers(root) == [] and len(server.log) == 1


def test_div2k_checks_the_published_sha256_and_size(root, server, monkeypatch) -> None:
    payload = div2k_archive()
    serve_remote(monkeypatch, server, "div2k-valid", payload, sha256=sha256(payload),
                 size=len(payload))
    crops = load("div2k", split="valid", image_size=16, subset=6, download=True)
    assert crops.images.shape == (6, 3, 16, 16)
    assert sorted(p.name for p in (root / "DIV2K" / "DIV2K_valid_HR").iterdir()) == [
        "0801.png", "0802.png", "0803.png"]
    assert not (root / download.RECORDS).exists()  # published: nothing to record


def test_set5_through_load_images_records_its_checksum_at_the_first_download(
    root, server, monkeypatch
) -> None:
    payload = set5_archive()
    url = serve_remote(monkeypatch, server, "set5", payload)  # no published checksum
    images = load_images("set5", root=root, download=True)
    assert list(images) == ["baby", "bird", "butterfly"] and images["baby"].shape == (3, 48, 40)
    records = json.loads((root / download.RECORDS).read_text())
    assert records["Set5/Set5_HR.tar.gz"]["sha256"] == sha256(payload)
    assert records["Set5/Set5_HR.tar.gz"]["size"] == len(payload)
    assert records["Set5/Set5_HR.tar.gz"]["url"] == url
    with pytest.raises(DatasetNotFoundError, match="use download=True"):
        load_images("set14", root=root)  # not asked: nothing fetched
    assert len(server.log) == 1


def test_a_recorded_archive_that_changed_is_detected(root, server, monkeypatch) -> None:
    payload = div2k_archive()
    serve_remote(monkeypatch, server, "div2k-valid", payload)  # as if nothing were published
    load("div2k", split="valid", image_size=16, download=True)
    folder = root / "DIV2K" / "DIV2K_valid_HR"
    archive = root / "DIV2K" / "DIV2K_valid_HR.zip"
    for png_file in folder.iterdir():  # the images are gone; the archive has changed
        png_file.unlink()
    folder.rmdir()
    archive.write_bytes(payload[:-1] + b"!")
    with pytest.raises(DatasetNotFoundError) as caught:
        load("div2k", split="valid", image_size=16, download=True)
    message = str(caught.value)
    first = message.splitlines()[0]
    assert first.startswith("The automatic download of DIV2K failed: ChecksumError")
    assert sha256(payload) in first and "delete it" in first and download.RECORDS in first
    assert not folder.exists() and leftovers(root) == []
    archive.unlink()  # as the message says: delete it, and it is downloaded again
    assert len(load("div2k", split="valid", image_size=16, download=True)) == 48


def test_a_corrupted_download_is_deleted_and_nothing_is_extracted(root, server, monkeypatch):
    payload, _ = cifar_archive()
    url = serve_remote(monkeypatch, server, "cifar10", payload, md5=md5(payload))
    server.corrupt.add(url.removeprefix(server.url))
    with pytest.raises(DatasetNotFoundError) as caught:
        load("cifar10", download=True)
    first = str(caught.value).splitlines()[0]
    assert first.startswith("The automatic download of CIFAR-10 failed: ChecksumError")
    assert url in first and md5(payload) in first
    assert md5(bytes([payload[0] ^ 0xFF]) + payload[1:]) in first
    assert list(root.iterdir()) == []  # no archive, no .part, no folder


def test_a_refused_download_names_the_reason_first(root, monkeypatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on: refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote = dataclasses.replace(REMOTES["emnist"], url=f"http://127.0.0.1:{port}/gzip.zip")
    monkeypatch.setitem(REMOTES, "emnist", remote)
    started = time.monotonic()
    with pytest.raises(DatasetNotFoundError) as caught:
        load("emnist", download=True)
    assert time.monotonic() - started < 5
    first = str(caught.value).splitlines()[0]
    assert first.startswith("The automatic download of EMNIST failed: DownloadError")
    assert "Paths searched" in str(caught.value) and list(root.iterdir()) == []


# --- resume -------------------------------------------------------------------------------------


def test_an_interrupted_download_resumes_with_a_range_request(tmp_path, server) -> None:
    payload = RNG.integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    url = server.add("blob.bin", payload)
    server.cut["/blob.bin"] = 20_000
    dest = tmp_path / "blob.bin"
    with pytest.raises(DownloadError, match="next try resumes"):
        fetch(url, dest, sha256=sha256(payload), retries=0, progress=False)
    part = tmp_path / "blob.bin.part"
    assert not dest.exists() and part.read_bytes() == payload[:20_000]
    fetch(url, dest, sha256=sha256(payload), progress=False)
    assert dest.read_bytes() == payload and not part.exists()
    assert server.log[-1] == {"path": "/blob.bin", "range": "bytes=20000-", "status": 206,
                              "sent": 30_000}


def test_a_connection_cut_mid_way_is_resumed_within_one_call(tmp_path, server) -> None:
    payload = RNG.integers(0, 256, 30_000, dtype=np.uint8).tobytes()
    url = server.add("blob.bin", payload)
    server.cut["/blob.bin"] = 12_345
    fetch(url, tmp_path / "blob.bin", md5=md5(payload), size=len(payload), progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == payload
    assert [(e["range"], e["status"]) for e in server.log] == [(None, 200),
                                                               ("bytes=12345-", 206)]


def test_a_server_that_ignores_range_restarts_from_zero(tmp_path, server) -> None:
    payload = RNG.integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    url = server.add("blob.bin", payload)
    server.ignore_range = True
    (tmp_path / "blob.bin.part").write_bytes(b"stale bytes of another try")
    fetch(url, tmp_path / "blob.bin", sha256=sha256(payload), progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == payload  # not appended to the stale bytes
    assert server.log[0]["range"] == "bytes=26-" and server.log[0]["status"] == 200


def test_a_part_longer_than_the_expected_size_restarts(tmp_path, server) -> None:
    payload = b"0123456789" * 100
    url = server.add("blob.bin", payload)
    (tmp_path / "blob.bin.part").write_bytes(payload + b"extra")
    fetch(url, tmp_path / "blob.bin", size=len(payload), md5=md5(payload), progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == payload
    assert server.log[0]["range"] is None and server.log[0]["status"] == 200


def test_a_part_that_is_not_a_prefix_is_deleted_after_the_check(tmp_path, server) -> None:
    payload = b"abcdefghij" * 100
    url = server.add("blob.bin", payload)
    (tmp_path / "blob.bin.part").write_bytes(b"X" * 10)  # resumed, but its start is wrong
    with pytest.raises(ChecksumError, match="deleted"):
        fetch(url, tmp_path / "blob.bin", md5=md5(payload), progress=False)
    assert list(tmp_path.iterdir()) == []
    fetch(url, tmp_path / "blob.bin", md5=md5(payload), progress=False)  # starts afresh
    assert (tmp_path / "blob.bin").read_bytes() == payload


def test_a_file_on_disk_that_changed_is_an_error_not_replaced(tmp_path, server) -> None:
    url = server.add("blob.bin", b"the real bytes")
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"other bytes")
    with pytest.raises(ChecksumError, match="delete it to download it again"):
        fetch(url, dest, md5=md5(b"the real bytes"), progress=False)
    assert dest.read_bytes() == b"other bytes" and server.log == []


# --- safe extraction ----------------------------------------------------------------------------


def evil_tar(kind: str, outside: Path) -> bytes:
    """A tar.gz with one good file and one member that escapes its folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        good = tarfile.TarInfo("Set5_HR/baby.png")
        good.size = 3
        tar.addfile(good, io.BytesIO(b"png"))
        if kind == "symlink":
            link = tarfile.TarInfo("Set5_HR/link")
            link.type, link.linkname = tarfile.SYMTYPE, str(outside)
            tar.addfile(link)
            bad = tarfile.TarInfo("Set5_HR/link/evil.txt")
        else:
            bad = tarfile.TarInfo("../../evil.txt" if kind == "dotdot" else str(outside))
        bad.size = 4
        tar.addfile(bad, io.BytesIO(b"evil"))
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_a_malicious_tar_is_refused_before_anything_is_written(tmp_path, kind) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "evil.txt"
    root = tmp_path / "data" / "nested"
    archive = root / "Set5_HR.tar.gz"
    root.mkdir(parents=True)
    archive.write_bytes(evil_tar(kind, outside if kind == "symlink" else target))
    assert kind != "absolute" or str(target) in tarfile.open(archive).getnames()
    with pytest.raises(UnsafeArchiveError, match="was refused") as caught:
        extract(archive, root / "Set5" / "HR", inner="Set5_HR")
    assert {"dotdot": "'..'", "absolute": "absolute", "symlink": "link"}[kind] in str(caught.value)
    assert not list(tmp_path.rglob("evil.txt")) and list(outside.iterdir()) == []
    assert sorted(p.name for p in root.rglob("*")) == ["Set5", "Set5_HR.tar.gz"]  # no HR, no tmp


def test_a_malicious_zip_is_refused_through_load(root, server, monkeypatch) -> None:
    payload = zip_of({"DIV2K_valid_HR/0801.png": png(), "DIV2K_valid_HR/../../../evil.png": png()})
    serve_remote(monkeypatch, server, "div2k-valid", payload, sha256=sha256(payload))
    with pytest.raises(DatasetNotFoundError) as caught:
        load("div2k", split="valid", download=True)
    first = str(caught.value).splitlines()[0]
    assert "UnsafeArchiveError" in first and "'..'" in first and "evil.png" in first
    assert not list(root.parent.rglob("evil.png"))
    assert not (root / "DIV2K" / "DIV2K_valid_HR").exists() and leftovers(root) == []


def test_a_zip_symlink_is_refused(tmp_path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        link = zipfile.ZipInfo("gzip/link")
        link.external_attr = (0o120777 << 16)  # a symbolic link, as Info-ZIP stores one
        zipped.writestr(link, "/etc")
    archive = tmp_path / "gzip.zip"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        extract(archive, tmp_path / "raw", inner="gzip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gzip.zip"]


def test_a_half_extracted_folder_is_never_the_dataset(root, server, monkeypatch) -> None:
    stale = root / "DIV2K" / ".DIV2K_valid_HR.extracting-0badc0de"  # a killed earlier try
    stale.mkdir(parents=True)
    (stale / "0801.png").write_bytes(png())
    with pytest.raises(DatasetNotFoundError):
        load("div2k", split="valid")  # not mistaken for the dataset
    payload = div2k_archive()
    serve_remote(monkeypatch, server, "div2k-valid", payload, sha256=sha256(payload))

    def interrupted(source: Path, dest: Path) -> None:
        raise KeyboardInterrupt  # stopped after the extraction, before the rename

    with monkeypatch.context() as patch:
        patch.setattr(download, "_move_into_place", interrupted)
        with pytest.raises(KeyboardInterrupt):
            load("div2k", split="valid", download=True)
    assert sorted(p.name for p in (root / "DIV2K").iterdir()) == ["DIV2K_valid_HR.zip"]
    stale.mkdir()
    assert len(load("div2k", split="valid", image_size=16, download=True)) == 48
    assert leftovers(root) == []  # the stale folder was cleaned up


def test_the_extracted_folder_arrives_in_one_rename(tmp_path, monkeypatch) -> None:
    archive = tmp_path / "DIV2K_valid_HR.zip"
    archive.write_bytes(div2k_archive())
    renamed, replace = [], os.replace

    def recording_replace(source: Path, dest: Path) -> None:
        renamed.append(Path(dest).name)
        replace(source, dest)

    monkeypatch.setattr(os, "replace", recording_replace)
    extract(archive, tmp_path / "DIV2K" / "DIV2K_valid_HR", inner="DIV2K_valid_HR")
    assert renamed == ["DIV2K_valid_HR"]  # the folder at once, never file by file
    assert len(list((tmp_path / "DIV2K" / "DIV2K_valid_HR").iterdir())) == 3


def test_a_damaged_archive_is_an_archive_error(tmp_path) -> None:
    archive = tmp_path / "Set5_HR.tar.gz"
    archive.write_bytes(set5_archive()[:200])
    with pytest.raises(ArchiveError, match="damaged"):
        extract(archive, tmp_path / "Set5" / "HR", inner="Set5_HR")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["Set5", "Set5_HR.tar.gz"]


def test_extract_into_a_partly_filled_folder_adds_only_what_is_missing(tmp_path) -> None:
    archive = tmp_path / "gzip.zip"
    archive.write_bytes(zip_of({"gzip/a.gz": b"new a", "gzip/b.gz": b"new b"}))
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "a.gz").write_bytes(b"user's a")
    extract(archive, raw, inner="gzip")
    assert (raw / "a.gz").read_bytes() == b"user's a" and (raw / "b.gz").read_bytes() == b"new b"


# --- CelebA's routes ----------------------------------------------------------------------------


def kaggle_zip() -> bytes:
    """The Kaggle copy in miniature: img_align_celeba/img_align_celeba/*.jpg and the csv."""
    members = {f"img_align_celeba/img_align_celeba/{i:06d}.jpg": jpeg(i) for i in range(1, 5)}
    rows = "".join(f"{i:06d}.jpg,{part}\n" for i, part in zip(range(1, 5), [0, 0, 1, 2]))
    members["list_eval_partition.csv"] = b"image_id,partition\n" + rows.encode()
    return zip_of(members)


def fake_kaggle(monkeypatch, payload: bytes, calls: list[str]) -> None:
    """A stand-in ``kaggle`` package whose download writes ``payload`` as <slug>.zip."""

    class KaggleApi:
        def authenticate(self) -> None:
            calls.append("authenticate")

        def dataset_download_files(self, dataset: str, path: str, quiet: bool = True) -> None:
            calls.append(dataset)
            Path(path).mkdir(parents=True, exist_ok=True)
            (Path(path) / f"{dataset.split('/')[1]}.zip").write_bytes(payload)

    modules = {name: types.ModuleType(name)
               for name in ("kaggle", "kaggle.api", "kaggle.api.kaggle_api_extended")}
    modules["kaggle.api.kaggle_api_extended"].KaggleApi = KaggleApi
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


def test_celeba_from_kaggle_when_a_token_is_set_up(root, monkeypatch) -> None:
    calls: list[str] = []
    payload = kaggle_zip()
    fake_kaggle(monkeypatch, payload, calls)
    monkeypatch.setenv("KAGGLE_USERNAME", "student")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    faces = load("celeba", split="train", image_size=32, download=True)
    assert faces.images.shape == (2, 3, 32, 32) and len(load("celeba", split="test")) == 1
    assert calls == ["authenticate", "jessicali9530/celeba-dataset"]
    records = json.loads((root / download.RECORDS).read_text())
    assert records["celeba-dataset.zip"]["sha256"] == sha256(payload)
    assert not (root / ".celeba-dataset.kaggle").exists() and leftovers(root) == []


def test_celeba_google_drive_route_checks_torchvision_md5s(root, monkeypatch) -> None:
    official = zip_of({f"img_align_celeba/{i:06d}.jpg": jpeg(i) for i in range(1, 4)})
    partition = b"000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n"
    served = {"img_align_celeba.zip": official, "list_eval_partition.txt": partition}
    monkeypatch.setattr(celeba, "GOOGLE_DRIVE_FILES", [
        ("zip-id", md5(official), "img_align_celeba.zip"),
        ("txt-id", md5(partition), "list_eval_partition.txt")])

    def gdown(file_id: str, folder: Path, name: str, md5_sum: str) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(served[name])

    monkeypatch.setattr(celeba, "download_file_from_google_drive", gdown)
    served["img_align_celeba.zip"] = official[:-3] + b"xyz"  # a damaged download first
    with pytest.raises(DatasetNotFoundError) as caught:
        load("celeba", download=True)
    first = str(caught.value).splitlines()[0]
    assert first.startswith("The automatic download of CelebA failed: Kaggle: no Kaggle API")
    assert "Google Drive: ChecksumError" in first and md5(official) in first
    assert not (root / "celeba" / "img_align_celeba.zip").exists()
    assert not (root / "celeba" / "img_align_celeba").exists()
    served["img_align_celeba.zip"] = official
    assert len(load("celeba", download=True)) == 2  # the train split of the partition file
    assert (root / "celeba" / "img_align_celeba" / "000003.jpg").is_file()


def test_celeba_every_route_failing_keeps_the_manual_steps(root, monkeypatch) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "student")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    monkeypatch.setitem(sys.modules, "kaggle", None)  # not installed

    def quota(*args: object) -> None:
        raise RuntimeError("Too many users have viewed or downloaded this file recently")

    monkeypatch.setattr(celeba, "download_file_from_google_drive", quota)
    with pytest.raises(DatasetNotFoundError) as caught:
        load("celeba", download=True)
    message = str(caught.value)
    first = message.splitlines()[0]
    assert first.startswith("The automatic download of CelebA failed: Kaggle: ModuleNotFound")
    assert "Google Drive: RuntimeError: Too many users" in first
    assert "jessicali9530/celeba-dataset" in message and "list_eval_partition.txt" in message


# --- pretrained weights -------------------------------------------------------------------------


class WeightsUnavailable(FileNotFoundError):
    pass


def locate_weights(url: str, timeout: float = 10.0) -> Path:
    return weight_files.locate(url, None, "LABKIT_TEST_WEIGHTS", WeightsUnavailable,
                               "The test weights", "Supply them by hand.", timeout)


def test_weights_must_match_the_sha256_prefix_in_their_name(tmp_path, server, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv("LABKIT_TEST_WEIGHTS", raising=False)
    payload = b"pretend these are weights"
    good = server.add(f"vgg19-{sha256(payload)[:8]}.pth", payload)
    bad = server.add("vgg19-dcbb9e9d.pth", payload)
    with pytest.raises(WeightsUnavailable) as caught:
        locate_weights(bad)
    assert "dcbb9e9d" in str(caught.value) and sha256(payload) in str(caught.value)
    assert list((tmp_path / "hub" / "checkpoints").iterdir()) == []  # no file, no .part
    path = locate_weights(good)
    assert path.read_bytes() == payload and path.parent == tmp_path / "hub" / "checkpoints"
    assert locate_weights(good) == path and len(server.log) == 2  # cached from now on
    path.write_bytes(b"damaged on disk")  # a cached file is checked too
    with pytest.raises(WeightsUnavailable, match="failed their check"):
        locate_weights(good)
    assert path.read_bytes() == b"damaged on disk" and len(server.log) == 2


def test_weights_offline_fail_fast(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(WeightsUnavailable, match="could not be downloaded"):
        locate_weights(f"http://127.0.0.1:{port}/vgg19-dcbb9e9d.pth", timeout=2)
    assert time.monotonic() - started < 5


def test_the_inception_and_vgg_urls_carry_a_sha256_prefix() -> None:
    from torchvision.models import VGG19_Weights

    from labkit.metrics.features import INCEPTION_URL

    assert weight_files.sha256_prefix(INCEPTION_URL) == "6726825d"
    assert weight_files.sha256_prefix(VGG19_Weights.IMAGENET1K_V1.url) == "dcbb9e9d"
