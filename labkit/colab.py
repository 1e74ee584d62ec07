"""Google Colab: offer Google Drive, so that a disconnect loses neither runs nor downloads.

A Colab runtime's disk is wiped when it disconnects (idle, 12 h limit, a closed tab). With Drive
mounted, runs (`labkit.train.runs_parent`) and datasets (`labkit.data.default_root`) go to
`MyDrive/gan-lab/`, and `resume=True` continues from there in a fresh runtime.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MOUNT_POINT = Path("/content/drive")
MY_DRIVE = MOUNT_POINT / "MyDrive"
COURSE_FOLDER = "gan-lab"
SKIP_ENV = "LABKIT_DRIVE"  # 0 / no / off: never offer the mount


def on_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def drive_folder() -> Path | None:
    """`MyDrive/gan-lab` when Google Drive is mounted (Colab), else None."""
    return MY_DRIVE / COURSE_FOLDER if MY_DRIVE.is_dir() else None


def offer_drive() -> Path | None:
    """On Colab, mount Google Drive (Colab asks you to allow it) and say where runs and data
    go; elsewhere, or with $LABKIT_DRIVE=0, do nothing. Returns the course folder on Drive, or
    None. A refused or failed mount is said in one line: the chapter still runs, on local disk."""
    if not on_colab() or os.environ.get(SKIP_ENV, "").lower() in {"0", "no", "off", "false"}:
        return drive_folder()
    if drive_folder() is None:
        print("Mounting Google Drive, so that runs and downloaded data survive a disconnect "
              "(allow it in the window Colab opens; set LABKIT_DRIVE=0 to skip) ...")
        try:
            from google.colab import drive

            drive.mount(str(MOUNT_POINT))
        except Exception as error:  # refused, timed out, or no Drive for this account
            print(f"Google Drive is not mounted ({type(error).__name__}: {error}): runs and "
                  "data stay on this runtime's disk and are lost if it disconnects.")
            return None
    folder = drive_folder()
    if folder is not None:
        print(f"Runs go to {folder / 'runs'}, datasets to {folder / 'data'}: after a "
              "disconnect, run the notebook again with resume=True.")
    return folder
