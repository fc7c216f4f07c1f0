"""Runs last: the API key must not appear in any answer, log line or error the whole suite produced."""

import zwsite
from conftest import LOGS, NOT_IN_LOGS, TRANSCRIPT


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


def test_no_credential_or_livekit_token_reaches_a_log(tmp_path_factory):
    """Bearer tokens, cookies and the LiveKit tokens the suite saw must not be in any log line."""
    assert len(NOT_IN_LOGS) > 10, "the suite should have sent credentials and received LiveKit tokens"
    logs = [chunk for chunk in LOGS.chunks]
    roots = [tmp_path_factory.getbasetemp()] + [site.root for site in zwsite.SITES]
    logs += [path.read_bytes() for root in roots for path in root.rglob("*.log") if path.is_file()]
    assert sum(len(chunk) for chunk in logs) > 10000
    found = sorted({secret[:12] + "…" for secret in NOT_IN_LOGS for chunk in logs if secret.encode() in chunk})
    assert found == []
