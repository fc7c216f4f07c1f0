"""Runs last: the API key must not appear in any answer, log line or error the whole suite produced."""

import zwsite
from conftest import TRANSCRIPT


def test_the_key_is_in_no_response_and_no_log(key, tmp_path_factory):
    needle = key.encode()
    assert len(TRANSCRIPT.chunks) > 100, "the suite should have recorded its answers"
    leaks = [chunk[:200] for chunk in TRANSCRIPT.chunks if needle in chunk]
    assert leaks == []
    scanned = 0
    holders = []
    roots = [tmp_path_factory.getbasetemp()] + [site.root for site in zwsite.SITES]
    for path in (p for root in roots for p in root.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.suffix == ".sock":
            continue
        content = path.read_bytes()
        scanned += 1
        if needle in content:
            holders.append(path.name)
    # Only the key files themselves may hold it: the stand-in's, the installs' and the credential copies.
    assert set(holders) <= {"standin-key", "api-key", "zeroweight-api-key"}, holders
    assert "standin-key" in holders
    assert scanned > 10
