"""labkit.atomic: a file is replaced whole or not at all."""

import pytest

from labkit.atomic import atomic_write


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "sub" / "record.json"
    atomic_write(path, lambda tmp: tmp.write_text("old"))
    assert path.read_text() == "old"

    def half_written(tmp):
        tmp.write_text("ne")
        raise KeyboardInterrupt  # an interrupt in the middle of writing

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_written)
    assert path.read_text() == "old"
    assert sorted(p.name for p in path.parent.iterdir()) == ["record.json"]
    assert atomic_write(path, lambda tmp: tmp.write_text("new")) == path
    assert path.read_text() == "new" and len(list(path.parent.iterdir())) == 1
