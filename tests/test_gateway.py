"""The Gateway, the one core object: built from settings, a context manager that owns the
store (opened on first use, closed on exit) and its lock, and the only thing the shells
import to reach the store and the stages."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from taxgate.canonical import new_data_key, public_key_pem
from taxgate.domain import Official
from taxgate.errors import NotFound, StoreBusy
from taxgate.gateway import Gateway
from taxgate.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(store=str(tmp_path / "store"), key_hex=new_data_key())
    with Gateway(s) as gw:
        gw.init()
    return s


def test_the_store_opens_on_first_use_and_closes_with_the_block(settings: Settings):
    with Gateway(settings) as gw:
        assert gw._store is None  # nothing opened by building it
        assert gw.officials() == []
        held = gw._store
        assert held is not None
        gw.add_official(Official("ice-director", "DHS-ICE", "Director",
                                 public_key_pem(Ed25519PrivateKey.generate().public_key()),
                                 dt.date(2026, 1, 1)), "test")
        assert gw._store is held  # one store for every call
    assert gw._store is None
    with Gateway(settings) as again:  # closed: the embedded store's lock was let go
        assert [o.official_id for o in again.officials()] == ["ice-director"]


def test_a_caller_that_must_answer_quickly_gets_store_busy(settings: Settings):
    """One thread uses the store at a time; another waiting with a timeout gets
    StoreBusy (the API's 503) instead of waiting for a long job."""
    with Gateway(settings) as gw:
        holding, release = threading.Event(), threading.Event()

        def job() -> None:
            with gw.lock():
                holding.set()
                release.wait(10)

        worker = threading.Thread(target=job)
        worker.start()
        try:
            assert holding.wait(10)
            with pytest.raises(StoreBusy), gw.lock(timeout=0.05):
                pass
        finally:
            release.set()
            worker.join(10)
        with gw.lock(timeout=1) as store, gw.lock(timeout=0) as same:  # free; re-entrant
            assert same is store


def test_a_missing_follow_up_is_not_found(settings: Settings):
    with Gateway(settings) as gw, pytest.raises(NotFound):
        gw.follow_up("ICE-NONE", 1)


def test_the_shells_start_without_the_matching_engine():
    """`taxgate` starts without importing Splink, pandas or the pipeline: the Gateway
    imports what a method needs when it is called."""
    code = ("import sys, taxgate.cli; "
            "print(sorted(m for m in ('splink', 'pandas', 'taxgate.pipeline', "
            "'taxgate.matching') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]", done.stdout
