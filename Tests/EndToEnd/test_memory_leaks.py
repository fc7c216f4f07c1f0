"""The executables under valgrind's leak checker, one real upstream request each.

corelibs Foundation leaks the curl URL handle it parses every request's URL into (see
Sources/CLibcurlFixes/LibcurlFixes.c): ~80 bytes a request, which a persistent FastCGI process
piles up without end. The link-time fix frees it; these runs prove it is in the built binaries: no
block that valgrind calls definitely lost was allocated under `curl_url_set` or `curl_url`.
"""

import re
import shutil
import subprocess

import pytest
from conftest import BIN_DIR, TRANSCRIPT, CGIMount, parse_cgi, settings_for

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")


def lost_records(log):
    """valgrind's definitely-lost records: (bytes, blocks, the stack as text)."""
    records = []
    pattern = (r"==\d+== ([\d,]+) bytes in ([\d,]+) blocks are definitely lost[^\n]*\n"
               r"((?:==\d+==\s+(?:at|by) [^\n]*\n)+)")
    for match in re.finditer(pattern, log):
        records.append((int(match[1].replace(",", "")), int(match[2].replace(",", "")), match[3]))
    return records


@pytest.mark.parametrize("program,path", [("bundle", "/api/avatars/bundle/leak-check"),
                                          ("token", "/api/livekit/token?avatar_id=leak-check&name=Ada")])
def test_one_upstream_request_leaks_no_curl_url_handle(upstream, session_root, program, path, tmp_path):
    mount = CGIMount(settings_for(upstream, session_root / "standin" / "standin-key"))
    _, env = mount.environment("GET", path, {})
    log = tmp_path / "valgrind.log"
    done = subprocess.run(
        ["valgrind", "--leak-check=full", "--show-leak-kinds=definite", "--num-callers=40",
         f"--log-file={log}", str(BIN_DIR / f"zw-{program}")],
        env=env, capture_output=True, timeout=180)
    TRANSCRIPT.add(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr[-2000:]
    assert parse_cgi(done.stdout).status == 200
    assert len(upstream.requests()) == 1
    text = log.read_text()
    assert "LEAK SUMMARY" in text or "All heap blocks were freed" in text, text[-2000:]
    curl = [record for record in lost_records(text) if re.search(r"\bcurl_url(_set)?\b", record[2])]
    assert curl == [], curl
