"""The error raised when a dataset is not on disk (or could not be downloaded)."""

from __future__ import annotations

from collections.abc import Callable, Iterable


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are missing; the message lists the paths searched and how to get them."""

    @classmethod
    def build(
        cls,
        dataset: str,
        searched: Iterable[str],
        steps: str,
        download_error: BaseException | str | None = None,
    ) -> DatasetNotFoundError:
        """Make the error: what was searched, the manual steps, and why a download failed."""
        lines = []
        if download_error is not None:
            lines += [
                f"The automatic download of {dataset} failed: {download_error}",
                "Get the files by hand instead (the manual route below).",
                "",
            ]
        lines += [f"{dataset} was not found. Paths searched:"]
        lines += [f"  {path}" for path in searched]
        lines += ["", "To get it by hand:", steps.strip("\n")]
        return cls("\n".join(lines))


def download_or_explain(
    dataset: str, fetch: Callable[[], object], searched: Iterable[str], steps: str
) -> None:
    """Run ``fetch()``; turn any failure into a ``DatasetNotFoundError`` with the manual route."""
    try:
        fetch()
    except Exception as error:  # network, quota, missing gdown, bad checksum: all the same to us
        message = f"{type(error).__name__}: {error}"
        raise DatasetNotFoundError.build(dataset, searched, steps, message) from error
