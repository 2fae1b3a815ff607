"""Sandbox uid slots: runners sharing a slots folder never share a uid."""

from pathlib import Path

from worker.sandbox import SandboxRunner


class TestSlots:
    def test_shared_folder_gives_distinct_uids(self, tmp_path: Path) -> None:
        """Two runners claiming through one folder get different uids; a freed slot is reused."""
        a = SandboxRunner(slots_dir=str(tmp_path))
        b = SandboxRunner(slots_dir=str(tmp_path))
        try:
            assert a.uid != b.uid
            first = a.uid
        finally:
            a.close()
            b.close()
        c = SandboxRunner(slots_dir=str(tmp_path))
        try:
            assert c.uid == first
        finally:
            c.close()
        assert {p.name for p in tmp_path.iterdir()} >= {"0.lock", "1.lock"}
