"""Atomic writes: a failed write (disk full, missing folder) leaves the old file intact and says so."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from livseg_gui.io.atomic import WriteError, atomic_write, atomic_write_text


def test_disk_full_midway_keeps_the_old_file(tmp_path):
    target = tmp_path / "mask.nii.gz"
    target.write_bytes(b"old contents")

    def fill_then_fail(tmp):
        tmp.write_bytes(b"half a new fi")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match="No space left.*unchanged"):
        atomic_write(target, fill_then_fail)
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.nii.gz"]  # no temp file left behind


def test_missing_folder_is_reported(tmp_path):
    with pytest.raises(WriteError, match="does not exist"):
        atomic_write_text(tmp_path / "nope" / "r.json", "{}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_is_reported(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    with pytest.raises(WriteError, match="cannot write"):
        atomic_write_text(ro / "r.json", "{}")


def test_new_files_get_normal_permissions_and_existing_keep_theirs(tmp_path):
    p = atomic_write_text(tmp_path / "a.json", "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask
    p.chmod(0o640)
    atomic_write_text(p, "{1}")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640 and p.read_text() == "{1}"
