"""Sign-in, tenants, identity binding and client addresses, end to end through nginx and Apache."""

import json
import subprocess

import pytest
import zwlocal
import zwsite
from conftest import BIN_DIR, TRANSCRIPT, CGIMount, HTTPMount
from test_contract import assert_error

POLICY = """
rate_limit.store = off
avatars = public-1
tenant.acme.avatars = acme-1, acme-2
tenant.globex.avatars = globex-1
"""


STACK_ROOTS = []  # set by the autouse fixture below: under pytest's temp folder, so the key scan reads them


@pytest.fixture(scope="module", autouse=True)
def stack_roots(tmp_path_factory):
    STACK_ROOTS.append(tmp_path_factory)
    yield
    STACK_ROOTS.clear()


def start_site(standin, key, access, name):
    stack = zwlocal.Stack(STACK_ROOTS[0].mktemp(name), BIN_DIR)
    site = zwsite.Site(stack, key, standin.base, access=access)
    return stack, site


def finish(stack):
    stack.stop()
    for log in stack.root.glob("*.log"):
        TRANSCRIPT.add(log.read_bytes())


def log_lines(mount, route="bundle"):
    """The handlers' request lines for `route`, in order."""
    lines = [json.loads(line) for line in mount.logs().splitlines() if line.startswith(b'{"time"')]
    return sorted((line for line in lines if line.get("route") == route and "status" in line),
                  key=lambda line: line["time"])


@pytest.fixture(scope="module")
def remote_user_nginx(standin, key):
    """nginx auth_request in front (the stand-in plays the sign-in service), FastCGI handlers."""
    stack, site = start_site(standin, key, "auth = remote-user\nremote_user.tenant_variable = ZW_TENANT\n" + POLICY,
                             "remote-user")
    zwsite.start_spawned(site)
    port = zwsite.start_nginx_example(site, "fastcgi", auth_service=standin.base + "/__auth")
    yield HTTPMount("nginx-remote-user", port, stack, site)
    finish(stack)


def signed_in(user="alice", tenant="acme"):
    return {"Cookie": f"session={user}.{tenant}"}


def test_no_mode_chosen_is_a_500_that_says_how_to_choose(standin, upstream, key):
    stack, site = start_site(standin, key, "avatars = *\n", "no-mode")
    try:
        zwsite.start_spawned(site)
        http = HTTPMount("nginx", zwsite.start_nginx_example(site, "fastcgi"), stack, site)
        assert_error(http.request("GET", "/api/avatars/bundle/abc"), 500, "proxy_misconfigured")
        assert upstream.requests() == []
        assert b"ZEROWEIGHT_PROXY_AUTH: is not set" in http.logs()
        assert b"choose none" in http.logs()
    finally:
        finish(stack)


def test_remote_user_without_sign_in_is_refused_by_nginx_as_json(remote_user_nginx, upstream):
    answer = remote_user_nginx.request("GET", "/api/avatars/bundle/acme-1")
    assert_error(answer, 401, "authentication_required")
    assert upstream.requests() == []


def test_remote_user_reaches_own_and_public_avatars(remote_user_nginx, upstream):
    for avatar in ("acme-1", "acme-2", "public-1"):
        assert remote_user_nginx.request("GET", f"/api/avatars/bundle/{avatar}", headers=signed_in()).status == 200
    assert [r["path"] for r in upstream.requests()] == [
        "/api/v1/avatars/bundle/acme-1", "/api/v1/avatars/bundle/acme-2", "/api/v1/avatars/bundle/public-1"]
    line = log_lines(remote_user_nginx)[-1]
    assert (line["auth"], line["subject"], line["tenant"], line["status"]) == ("ok", "alice", "acme", 200)


@pytest.mark.parametrize("path", ["/api/avatars/bundle/globex-1", "/api/livekit/token?avatar_id=globex-1",
                                  "/api/avatars/bundle/unlisted"])
def test_a_tenant_cannot_cross_into_another_tenants_avatars(remote_user_nginx, upstream, path):
    assert_error(remote_user_nginx.request("GET", path, headers=signed_in()), 403, "avatar_not_allowed")
    assert upstream.requests() == []


def test_token_name_comes_from_the_signed_in_identity(remote_user_nginx, upstream):
    http = remote_user_nginx
    assert http.request("GET", "/api/livekit/token?avatar_id=acme-1", headers=signed_in()).json()["name"] == "alice"
    assert http.request("GET", "/api/livekit/token?avatar_id=acme-1&name=alice", headers=signed_in()).status == 200
    assert [r["raw_query"] for r in upstream.requests()] == ["avatar_id=acme-1&name=alice"] * 2


def test_a_name_that_is_not_yours_is_refused(remote_user_nginx, upstream):
    answer = remote_user_nginx.request("GET", "/api/livekit/token?avatar_id=acme-1&name=bob", headers=signed_in())
    assert_error(answer, 403, "name_not_allowed")
    assert upstream.requests() == []


def test_the_vendors_anonymous_name_stays_available(remote_user_nginx, upstream):
    answer = remote_user_nginx.request("GET", "/api/livekit/token?avatar_id=acme-1&name=anonymuous",
                                       headers=signed_in())
    assert answer.status == 200
    [seen] = upstream.requests()
    assert seen["raw_query"] == "avatar_id=acme-1&name=anonymuous"


def test_rooms_are_not_chosen_by_callers_by_default(remote_user_nginx, upstream):
    answer = remote_user_nginx.request("GET", "/api/livekit/token?avatar_id=acme-1&room=other", headers=signed_in())
    assert_error(answer, 403, "room_not_allowed")
    assert upstream.requests() == []


@pytest.fixture(scope="module")
def remote_user_apache(standin, key):
    """Apache basic auth in front of the cgi-bin mounting; the tenant is set per location."""
    stack, site = start_site(standin, key, "auth = remote-user\nremote_user.tenant_variable = ZW_TENANT\n" + POLICY,
                             "apache-basic")
    passwords = site.root / "apache" / "htpasswd"
    passwords.parent.mkdir(mode=0o755, exist_ok=True)
    hashed = subprocess.run(["openssl", "passwd", "-apr1", "s3cret-pass"], capture_output=True, text=True,
                            check=True).stdout.strip()
    passwords.write_text(f"carol:{hashed}\n")
    passwords.chmod(0o644)
    extra = site.root / "apache" / "basic-auth.conf"
    extra.write_text(f"""
LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
<Location "/api/">
    AuthType Basic
    AuthName "zeroweight"
    AuthBasicProvider file
    AuthUserFile {passwords}
    Require valid-user
    SetEnv ZW_TENANT globex
</Location>
""")
    port = zwsite.start_apache(site, "zeroweight-cgi.conf", extra=[extra])
    yield HTTPMount("apache-remote-user", port, stack, site)
    finish(stack)


def test_apache_basic_auth_reaches_the_handler_as_remote_user(remote_user_apache, upstream):
    import base64
    basic = {"Authorization": "Basic " + base64.b64encode(b"carol:s3cret-pass").decode()}
    assert remote_user_apache.request("GET", "/api/avatars/bundle/globex-1").status == 401
    assert remote_user_apache.request("GET", "/api/avatars/bundle/globex-1", headers=basic).status == 200
    assert_error(remote_user_apache.request("GET", "/api/avatars/bundle/acme-1", headers=basic),
                 403, "avatar_not_allowed")
    answer = remote_user_apache.request("GET", "/api/livekit/token?avatar_id=globex-1", headers=basic)
    assert answer.json()["name"] == "carol"
    assert [r["path"] for r in upstream.requests()] == ["/api/v1/avatars/bundle/globex-1", "/api/v1/livekit/getToken"]
    line = log_lines(remote_user_apache, "token")[-1]
    assert (line["subject"], line["tenant"]) == ("carol", "globex")


@pytest.mark.parametrize("trusted,remote,forwarded,expected", [
    ("", "203.0.113.9", "1.1.1.1", "203.0.113.9"),                      # untrusted peer: header ignored
    ("10.0.0.0/8", "203.0.113.9", "1.1.1.1", "203.0.113.9"),            # still not a trusted peer
    ("203.0.113.0/24", "203.0.113.9", "1.1.1.1", "1.1.1.1"),            # one trusted hop
    ("203.0.113.0/24, 10.0.0.0/8", "203.0.113.9", "6.6.6.6, 1.1.1.1, 10.0.0.5", "1.1.1.1"),  # never the leftmost
    ("203.0.113.0/24", "203.0.113.9", "garbage, 1.1.1.1", "1.1.1.1"),
    ("2001:db8::/32", "2001:db8::1", "2001:db9::7", "2001:db9::7"),
])
def test_client_ip_walks_x_forwarded_for_only_from_trusted_proxies(standin, upstream, session_root, trusted, remote,
                                                                   forwarded, expected):
    settings = {"ZEROWEIGHT_API_BASE": standin.base, "ZEROWEIGHT_API_KEY_FILE": str(session_root / "standin" / "standin-key"),
                "ZEROWEIGHT_PROXY_AUTH": "none", "ZEROWEIGHT_PROXY_AVATARS": "*"}
    if trusted:
        settings["ZEROWEIGHT_PROXY_TRUSTED_PROXIES"] = trusted
    mount = CGIMount(settings)
    env_remote = {"REMOTE_ADDR": remote}
    mount.settings = {**settings, **env_remote}
    answer = mount.request("GET", "/api/avatars/bundle/abc", headers={"X-Forwarded-For": forwarded})
    assert answer.status == 200
    assert json.loads(mount.logs().splitlines()[-1])["client_ip"] == expected


# ---- JWT, verified by the handlers themselves -------------------------------------------------

import jwt_tools  # noqa: E402

KEYS = jwt_tools.Keys()


def jwt_access(site_files):
    return f"""auth = jwt
jwt.jwks_file = {site_files}/jwks.json
jwt.hmac_secret_file = {site_files}/jwt-secret
jwt.algorithms = RS256, ES256, EdDSA, HS256
jwt.issuer = https://login.example.test
jwt.audience = zeroweight-proxy
jwt.tenant_claim = tenant
jwt.cookie = zw_session
{POLICY}"""


def start_jwt_site(standin, key, name):
    files = zwsite.shared_folder("zw-jwt-files-")
    (files / "jwks.json").write_text(json.dumps(KEYS.jwks()))
    (files / "jwt-secret").write_bytes(KEYS.hmac)
    for path in files.iterdir():
        path.chmod(0o644)
    stack, site = start_site(standin, key, jwt_access(files), name)
    return stack, site


@pytest.fixture(scope="module")
def jwt_nginx(standin, key):
    stack, site = start_jwt_site(standin, key, "jwt-nginx")
    zwsite.start_spawned(site)
    yield HTTPMount("nginx-jwt", zwsite.start_nginx_example(site, "fastcgi"), stack, site)
    finish(stack)


@pytest.fixture(scope="module")
def jwt_apache(standin, key):
    stack, site = start_jwt_site(standin, key, "jwt-apache")
    yield HTTPMount("apache-jwt", zwsite.start_apache(site, "zeroweight-cgi.conf"), stack, site)
    finish(stack)


@pytest.fixture(params=["nginx", "apache"])
def jwt_mount(request, jwt_nginx, jwt_apache):
    return jwt_nginx if request.param == "nginx" else jwt_apache


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "HS256"])
def test_valid_tokens_of_every_algorithm_sign_in(jwt_mount, upstream, alg):
    token = KEYS.sign(jwt_tools.claims(subject="dana", tenant="acme"), alg=alg)
    answer = jwt_mount.request("GET", "/api/livekit/token?avatar_id=acme-1", headers=bearer(token))
    assert answer.status == 200, answer
    [seen] = upstream.requests()
    assert seen["raw_query"] == "avatar_id=acme-1&name=dana"
    line = log_lines(jwt_mount, "token")[-1]
    assert (line["auth"], line["subject"], line["tenant"]) == ("ok", "dana", "acme")


def test_the_token_may_come_in_the_configured_cookie(jwt_mount, upstream):
    token = KEYS.sign(jwt_tools.claims(subject="erin", tenant="globex"), alg="EdDSA")
    answer = jwt_mount.request("GET", "/api/avatars/bundle/globex-1", headers={"Cookie": f"theme=dark; zw_session={token}"})
    assert answer.status == 200
    assert_error(jwt_mount.request("GET", "/api/avatars/bundle/acme-1", headers={"Cookie": f"zw_session={token}"}),
                 403, "avatar_not_allowed")
    assert [r["path"] for r in upstream.requests()] == ["/api/v1/avatars/bundle/globex-1"]


def test_no_token_is_401_with_a_bearer_challenge(jwt_mount, upstream):
    answer = jwt_mount.request("GET", "/api/avatars/bundle/public-1")
    assert_error(answer, 401, "authentication_required")
    assert answer.headers["www-authenticate"] == 'Bearer realm="zeroweight-proxy"'
    assert upstream.requests() == []


def attack_tokens():
    good = jwt_tools.claims()
    header, payload, signature = KEYS.sign(good).split(".")
    tampered = jwt_tools.b64url(json.dumps({**good, "sub": "mallory"}).encode())
    return {
        "alg_none": (KEYS.sign(good, alg="none", kid=""), "algorithm_not_allowed"),
        "alg_none_no_signature": (KEYS.sign(good, alg="none", kid="").rstrip("."), "malformed_token"),
        "rs256_to_hs256_confusion": (KEYS.sign(good, alg="HS256", kid="rsa-1", key=KEYS.rsa_public_pem()),
                                     "unknown_key"),
        "hs256_with_public_key_no_kid": (KEYS.sign(good, alg="HS256", key=KEYS.rsa_public_pem()), "bad_signature"),
        "unknown_kid": (KEYS.sign(good, kid="rotated-away"), "unknown_key"),
        "other_signer": (KEYS.sign(good, key=KEYS.other_rsa), "bad_signature"),
        "tampered_payload": (f"{header}.{tampered}.{signature}", "bad_signature"),
        "expired": (KEYS.sign(jwt_tools.claims(lifetime=-120)), "token_expired"),
        "not_yet_valid": (KEYS.sign(jwt_tools.claims(nbf=int(jwt_tools.time.time()) + 600)), "token_not_yet_valid"),
        "wrong_issuer": (KEYS.sign(jwt_tools.claims(iss="https://evil.example")), "wrong_issuer"),
        "wrong_audience": (KEYS.sign(jwt_tools.claims(aud=["other-app"])), "wrong_audience"),
        "no_expiry": (KEYS.sign(jwt_tools.claims(exp=None)), "missing_expiry"),
        "crit_header": (KEYS.sign(good, header={"crit": ["exp"]}), "malformed_token"),
        "bad_base64": (f"{header}=.{payload}.{signature}", "malformed_token"),
        "bad_base64_signature": (f"{header}.{payload}.{signature[:-2]}+/", "malformed_token"),
        "four_parts": (f"{header}.{payload}.{signature}.x", "malformed_token"),
        "json_garbage_header": (f"{jwt_tools.b64url(b'{not json')}.{payload}.{signature}", "malformed_token"),
    }


ATTACKS = attack_tokens()


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_tokens_are_401_invalid_token(jwt_mount, upstream, attack):
    token, reason = ATTACKS[attack]
    answer = jwt_mount.request("GET", "/api/livekit/token?avatar_id=acme-1", headers=bearer(token))
    assert_error(answer, 401, "invalid_token")
    assert answer.headers["www-authenticate"] == 'Bearer realm="zeroweight-proxy", error="invalid_token"'
    assert upstream.requests() == []
    line = log_lines(jwt_mount, "token")[-1]
    assert (line["auth"], line["auth_detail"]) == ("invalid", reason)


def test_a_token_subject_cannot_take_another_name(jwt_nginx, upstream):
    token = KEYS.sign(jwt_tools.claims(subject="dana", tenant="acme"), alg="ES256")
    answer = jwt_nginx.request("GET", "/api/livekit/token?avatar_id=acme-1&name=erin", headers=bearer(token))
    assert_error(answer, 403, "name_not_allowed")
    assert upstream.requests() == []


def test_an_oversize_token_is_refused_before_decoding(standin, upstream, key, jwt_nginx):
    token = KEYS.sign(jwt_tools.claims(padding="x" * 9000))
    # Through nginx the header itself is too large for its buffers: nginx answers, in JSON.
    answer = jwt_nginx.request("GET", "/api/avatars/bundle/public-1", headers=bearer(token))
    assert answer.status == 431 and answer.json()["error"]["code"] == "request_headers_too_large"
    # As a CGI program the handler's own limit (8 KiB) refuses it.
    files = zwsite.shared_folder("zw-jwt-files-")
    (files / "jwks.json").write_text(json.dumps(KEYS.jwks()))
    (files / "jwt-secret").write_bytes(KEYS.hmac)
    config = files / "zeroweight-proxy.conf"
    config.write_text(jwt_access(files))
    mount = CGIMount({"ZEROWEIGHT_API_BASE": standin.base, "ZEROWEIGHT_API_KEY": key,
                      "ZEROWEIGHT_PROXY_CONFIG": str(config)})
    answer = mount.request("GET", "/api/avatars/bundle/public-1", headers=bearer(token))
    assert_error(answer, 401, "invalid_token")
    assert json.loads(mount.logs().splitlines()[-1])["auth_detail"] == "token_too_large"
    assert upstream.requests() == []
