"""Issue 5, accounts and authentication, end to end over HTTP against the real binary: the
session lifecycle, validation, forged and expired tokens, refresh rotation and reuse, the
password-reset flow through the outbox, rate limits, admin vs member access, the
`spacehub admin create` command, and how passwords and tokens are stored."""
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

from conftest import BINARY, Hub, admin, error_code, register

JWT_SECRET = "e2e-known-secret-for-forging-tokens-0123456789"
PASSWORD = "password123"


def write_config(values):
    handle, path = tempfile.mkstemp(prefix="spacehub-config-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(values, out)
    return path


# Generous limits: this module signs in far more often than a person would.
ROOMY_LIMITS = {"auth": {"rateLimits": {
    "loginPerMinutePerIp": 10000, "loginPerMinutePerEmail": 1000, "registerPerMinutePerIp": 10000,
    "registerPerMinutePerEmail": 1000, "forgotPerMinutePerIp": 10000, "forgotPerMinutePerEmail": 1000}}}


@pytest.fixture(scope="module")
def hub():
    h = Hub(env={"JWT_SECRET": JWT_SECRET}, config=write_config(ROOMY_LIMITS)).start()
    yield h
    h.kill()


def unique_email(tag="user"):
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def post(hub, path, body, token=None, session=requests):
    headers = {"Authorization": "Bearer " + token} if token else {}
    return session.post(hub.url + path, json=body, headers=headers, timeout=30)


def get(hub, path, token=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    return requests.get(hub.url + path, headers=headers, timeout=30)


def login(hub, email, password=PASSWORD, session=requests):
    return post(hub, "/api/auth/login", {"email": email, "password": password}, session=session)


def db_rows(hub, sql, *args):
    return [tuple(row.values()) for row in hub.rows(sql, args)]


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


# MARK: JWTs made by hand

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_jwt(claims, secret=JWT_SECRET, alg="HS256", header=None):
    header = header or {"alg": alg, "typ": "JWT"}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}.get(alg)
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest() if digest else b""
    return signing_input + "." + b64url(signature)


def claims_of(token):
    return json.loads(b64url_decode(token.split(".")[1]))


# MARK: Session lifecycle

def test_register_login_me_refresh_logout(hub):
    email = unique_email()
    r = post(hub, "/api/auth/register", {"email": email, "password": PASSWORD, "firstName": "Ada",
                                         "lastName": "Obi", "phone": "+2348012345678"})
    assert r.status_code == 201, r.text
    registered = r.json()
    assert registered["user"]["email"] == email and registered["user"]["firstName"] == "Ada"
    assert registered["token"] and registered["refreshToken"]
    assert "passwordHash" not in registered["user"] and "password" not in json.dumps(registered["user"])

    r = login(hub, email)
    assert r.status_code == 200, r.text
    session = r.json()
    assert {"token", "refreshToken", "expiresAt", "user"} <= session.keys()
    assert session["user"]["id"] == registered["user"]["id"]
    claims = claims_of(session["token"])
    assert {"sub", "role", "exp", "iat", "jti"} <= claims.keys()
    assert claims["sub"] == registered["user"]["id"] and claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 15 * 60  # JWT_EXPIRES_IN default
    assert session["expiresAt"] == claims["exp"] * 1000

    r = get(hub, "/api/auth/me", session["token"])
    assert r.status_code == 200 and r.json()["email"] == email

    r = post(hub, "/api/auth/refresh", {"refreshToken": session["refreshToken"]})
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["refreshToken"] != session["refreshToken"] and rotated["token"] != session["token"]
    assert get(hub, "/api/auth/me", rotated["token"]).status_code == 200

    r = post(hub, "/api/auth/logout", {}, token=rotated["token"])
    assert r.status_code == 200, r.text
    r = post(hub, "/api/auth/refresh", {"refreshToken": rotated["refreshToken"]})
    assert r.status_code == 401 and error_code(r) == "invalid_refresh_token"
    for token in (rotated["token"], session["token"]):  # the whole session ended
        r = get(hub, "/api/auth/me", token)
        assert r.status_code == 401 and error_code(r) == "token_revoked"
    # Other sessions of the same account live on: the registration's own tokens.
    assert get(hub, "/api/auth/me", registered["token"]).status_code == 200
    assert login(hub, email).status_code == 200


def test_logout_with_the_refresh_token_works_after_the_access_token_expired(hub):
    member = register(hub)
    session = login(hub, member.user["email"]).json()
    expired = make_jwt(valid_claims(member.user["id"], exp=int(time.time()) - 600, iat=int(time.time()) - 1600))
    # Without a refresh token an expired access token cannot sign out...
    r = post(hub, "/api/auth/logout", {}, token=expired)
    assert r.status_code == 401 and error_code(r) == "token_expired", r.text
    # ...with one it can, and the whole session ends: its refresh token and its access tokens.
    r = post(hub, "/api/auth/logout", {"refreshToken": session["refreshToken"]}, token=expired)
    assert r.status_code == 200, r.text
    r = post(hub, "/api/auth/refresh", {"refreshToken": session["refreshToken"]})
    assert r.status_code == 401 and error_code(r) == "invalid_refresh_token"
    r = get(hub, "/api/auth/me", session["token"])
    assert r.status_code == 401 and error_code(r) == "token_revoked"
    assert get(hub, "/api/auth/me", member.token).status_code == 200  # other sessions live on
    # Neither a valid access token nor a known refresh token: nothing to end.
    r = post(hub, "/api/auth/logout", {"refreshToken": "not-a-token"})
    assert r.status_code == 401 and error_code(r) == "invalid_refresh_token", r.text
    r = post(hub, "/api/auth/logout", {})
    assert r.status_code == 401, r.text


def test_the_seeds_register_example_is_accepted(hub):
    """The body from the seed's api-integration-guide.md, with a fresh address."""
    email = unique_email("john")
    r = post(hub, "/api/auth/register", {"email": email, "password": "password123", "firstName": "John",
                                         "lastName": "Doe", "phone": "+234123456789"})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["phone"] == "+234123456789"
    assert login(hub, email, "password123").json()["user"]["lastName"] == "Doe"


def test_a_stale_token_sent_along_does_not_block_signing_in_again(hub):
    """The seed's ApiClient sends its stored token with every request, login included; an
    expired or ended session must not lock the member out of the endpoints that start a new one."""
    member = register(hub)
    ended = login(hub, member.user["email"]).json()
    assert post(hub, "/api/auth/logout", {}, token=ended["token"]).status_code == 200
    expired = make_jwt(valid_claims(member.user["id"], exp=int(time.time()) - 600, iat=int(time.time()) - 1600))
    for stale in (ended["token"], expired, "garbage"):
        r = post(hub, "/api/auth/login", {"email": member.user["email"], "password": PASSWORD}, token=stale)
        assert r.status_code == 200, r.text
        fresh = r.json()
        r = post(hub, "/api/auth/refresh", {"refreshToken": fresh["refreshToken"]}, token=stale)
        assert r.status_code == 200, r.text
        r = post(hub, "/api/auth/register", {"email": unique_email(), "password": PASSWORD, "firstName": "A",
                                             "lastName": "B"}, token=stale)
        assert r.status_code == 201, r.text
        r = post(hub, "/api/auth/forgot-password", {"email": member.user["email"]}, token=stale)
        assert r.status_code == 202, r.text
        r = post(hub, "/api/admin/auth/login", {"email": hub.admin_email, "password": hub.admin_password}, token=stale)
        assert r.status_code == 200, r.text
    r = post(hub, "/api/auth/reset-password", {"token": reset_token_for(hub, member.user["email"])[-1]["token"],
                                               "password": "after-a-stale-token"}, token=expired)
    assert r.status_code == 200, r.text
    # Where a session is needed, the stale token is still refused.
    r = get(hub, "/api/auth/me", expired)
    assert r.status_code == 401 and error_code(r) == "token_expired"


def test_refresh_tokens_are_stored_hashed(hub):
    member = register(hub)
    rows = db_rows(hub, "SELECT token_hash FROM refresh_tokens WHERE subject_id = ?", member.user["id"])
    assert [row[0] for row in rows] == [sha256_hex(member.refresh)]
    assert not db_rows(hub, "SELECT 1 FROM refresh_tokens WHERE token_hash = ?", member.refresh)


def test_me_without_a_token_is_401(hub):
    r = get(hub, "/api/auth/me")
    assert r.status_code == 401 and error_code(r) == "unauthorized"
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    r = requests.get(hub.url + "/api/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}, timeout=10)
    assert r.status_code == 401 and error_code(r) == "invalid_token"


def test_duplicate_email_is_409_email_taken(hub):
    email = unique_email()
    register(hub, email=email)
    for variant in (email, email.upper(), "  " + email + " "):
        r = post(hub, "/api/auth/register", {"email": variant, "password": PASSWORD, "firstName": "B", "lastName": "C"})
        assert r.status_code == 409, (variant, r.text)
        assert error_code(r) == "email_taken"


@pytest.mark.parametrize("change, field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": "x" * 250 + "@example.com"}, "email"),
    ({"email": None}, "email"),
    ({"password": "short"}, "password"),
    ({"password": "x" * 2000}, "password"),
    ({"firstName": ""}, "firstName"),
    ({"firstName": "   "}, "firstName"),
    ({"lastName": "L" * 101}, "lastName"),
    ({"firstName": 42}, "firstName"),
    ({"phone": "08012345678"}, "phone"),
    ({"phone": "+0123456789"}, "phone"),
    ({"phone": "+234801234567890123"}, "phone"),
])
def test_registration_validation_names_the_field(hub, change, field):
    body = {"email": unique_email(), "password": PASSWORD, "firstName": "Ada", "lastName": "Obi",
            "phone": "+2348012345678"}
    body.update(change)
    if change.get(field, "present") is None:
        del body[field]
    r = post(hub, "/api/auth/register", body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert r.json()["error"]["message"]


def test_names_of_100_characters_and_no_phone_are_accepted(hub):
    r = post(hub, "/api/auth/register", {"email": unique_email(), "password": "12345678", "firstName": "F" * 100,
                                         "lastName": "Ngọ̀zí"})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["phone"] is None


def test_wrong_password_and_unknown_email_are_the_same_401(hub):
    member = register(hub)
    wrong = login(hub, member.user["email"], "password124")
    unknown = login(hub, unique_email("nobody"), PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert error_code(wrong) == error_code(unknown) == "invalid_credentials"
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert login(hub, member.user["email"].upper()).status_code == 200  # emails are case-insensitive


def test_passwords_are_stored_as_salted_scrypt_phc_strings(hub):
    first, second = register(hub), register(hub)  # the same password
    hashes = [db_rows(hub, "SELECT password_hash FROM users WHERE id = ?", c.user["id"])[0][0] for c in (first, second)]
    phc = re.compile(r"^\$scrypt\$ln=(\d+),r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$")
    for stored in hashes:
        assert phc.match(stored), stored
        assert phc.match(stored).group(1) == "10"  # PASSWORD_COST_LOG2 from the harness
        assert PASSWORD not in stored
    assert hashes[0] != hashes[1]
    (admin_hash,), = db_rows(hub, "SELECT password_hash FROM admin_users WHERE email = ?", hub.admin_email)
    assert phc.match(admin_hash)


# MARK: Forged, expired and foreign tokens

def valid_claims(user_id, **changes):
    now = int(time.time())
    claims = {"sub": user_id, "role": "user", "exp": now + 600, "iat": now, "jti": "forged." + uuid.uuid4().hex,
              "typ": "access"}
    claims.update(changes)
    return claims


def test_a_token_signed_with_the_real_secret_is_accepted(hub):
    """Proves the forging helpers below build real HS256 tokens, so their refusals mean something."""
    member = register(hub)
    r = get(hub, "/api/auth/me", make_jwt(valid_claims(member.user["id"])))
    assert r.status_code == 200 and r.json()["id"] == member.user["id"]


def test_forged_and_expired_tokens_are_refused_with_distinct_codes(hub):
    member = register(hub)
    uid = member.user["id"]
    header, payload, signature = member.token.split(".")
    tampered = json.loads(b64url_decode(payload))
    tampered["role"] = "super_admin"
    cases = {
        "alg none": (make_jwt(valid_claims(uid), alg="none"), "unsupported_token_algorithm"),
        "alg none, no dot": (make_jwt(valid_claims(uid), alg="none").rstrip("."), "invalid_token"),
        "HS512": (make_jwt(valid_claims(uid), alg="HS512"), "unsupported_token_algorithm"),
        "RS256 header": (make_jwt(valid_claims(uid), header={"alg": "RS256", "typ": "JWT"}), "unsupported_token_algorithm"),
        "wrong key": (make_jwt(valid_claims(uid), secret="another-secret-of-more-than-32-bytes!!"), "invalid_token_signature"),
        "tampered payload": (header + "." + b64url(json.dumps(tampered).encode()) + "." + signature, "invalid_token_signature"),
        "tampered signature": (header + "." + payload + "." + signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB"),
                               "invalid_token_signature"),
        "expired": (make_jwt(valid_claims(uid, exp=int(time.time()) - 120, iat=int(time.time()) - 1000)), "token_expired"),
        "garbage": ("not.a.jwt", "invalid_token"),
        "refresh token as access token": (member.refresh, "invalid_token"),
        "not an access token": (make_jwt(valid_claims(uid, typ="refresh")), "invalid_token"),
    }
    for name, (token, code) in cases.items():
        r = get(hub, "/api/auth/me", token)
        assert r.status_code == 401, (name, r.text)
        assert error_code(r) == code, (name, r.text)
    # A bad token on an admin route is a 401, not a 403: it never became a principal.
    r = get(hub, "/api/admin/auth/me", cases["tampered payload"][0])
    assert r.status_code == 401 and error_code(r) == "invalid_token_signature"
    assert len({code for _, code in cases.values()}) == 4


# MARK: Refresh rotation

def test_reusing_a_refresh_token_revokes_its_whole_family(hub):
    member = register(hub)
    first = login(hub, member.user["email"]).json()
    other_session = login(hub, member.user["email"]).json()

    r = post(hub, "/api/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refreshToken"] != first["refreshToken"]

    r = post(hub, "/api/auth/refresh", {"refreshToken": first["refreshToken"]})  # replayed
    assert r.status_code == 401 and error_code(r) == "refresh_token_reused"
    r = post(hub, "/api/auth/refresh", {"refreshToken": second["refreshToken"]})
    assert r.status_code == 401 and error_code(r) == "invalid_refresh_token"
    for token in (first["token"], second["token"]):
        r = get(hub, "/api/auth/me", token)
        assert r.status_code == 401 and error_code(r) == "token_revoked"
    # Another session of the same account is not part of that family.
    assert get(hub, "/api/auth/me", other_session["token"]).status_code == 200
    assert post(hub, "/api/auth/refresh", {"refreshToken": other_session["refreshToken"]}).status_code == 200


def test_concurrent_uses_of_one_refresh_token_let_exactly_one_win(hub):
    member = register(hub)
    barrier = threading.Barrier(4)
    results = []

    def use():
        barrier.wait()
        results.append(post(hub, "/api/auth/refresh", {"refreshToken": member.refresh}))
    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401]
    # The first replay is caught as reuse; later ones find the token already revoked.
    codes = [error_code(r) for r in results if r.status_code == 401]
    assert "refresh_token_reused" in codes and set(codes) <= {"refresh_token_reused", "invalid_refresh_token"}
    winner = next(r.json() for r in results if r.status_code == 200)
    # The replays revoked the family, the winner's new tokens included.
    r = post(hub, "/api/auth/refresh", {"refreshToken": winner["refreshToken"]})
    assert r.status_code == 401 and error_code(r) == "invalid_refresh_token"


def test_unknown_refresh_token_is_401(hub):
    for token in ("", "x" * 43, "y" * 300):
        r = post(hub, "/api/auth/refresh", {"refreshToken": token})
        assert r.status_code == 401 and error_code(r) == "invalid_refresh_token"
    r = post(hub, "/api/auth/refresh", {})
    assert r.status_code == 422 and r.json()["error"]["field"] == "refreshToken"


# MARK: Password reset

def reset_token_for(hub, email):
    rows = db_rows(hub, "SELECT payload FROM outbox WHERE template = 'password-reset' AND recipient = ? ORDER BY id",
                   email)
    return [json.loads(row[0]) for row in rows]


def test_password_reset_end_to_end(hub):
    member = register(hub)
    email = member.user["email"]
    old_session = login(hub, email).json()

    r = post(hub, "/api/auth/forgot-password", {"email": email})
    assert r.status_code == 202
    (mail,) = reset_token_for(hub, email)
    token = mail["token"]
    assert token in mail["resetLink"] and mail["resetLink"].startswith("http")
    (stored,), = db_rows(hub, "SELECT token_hash FROM reset_tokens WHERE user_id = ?", member.user["id"])
    assert stored == sha256_hex(token) and stored != token

    r = post(hub, "/api/auth/reset-password", {"token": token, "password": "short"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"
    r = post(hub, "/api/auth/reset-password", {"token": token, "password": "brand-new-password"})
    assert r.status_code == 200, r.text

    # Signing in with the new password works at once, and the new session is usable.
    r = login(hub, email, "brand-new-password")
    assert r.status_code == 200
    fresh = r.json()
    r = get(hub, "/api/auth/me", fresh["token"])
    assert r.status_code == 200, r.text
    assert post(hub, "/api/auth/refresh", {"refreshToken": fresh["refreshToken"]}).status_code == 200
    assert error_code(login(hub, email, PASSWORD)) == "invalid_credentials"

    # Every earlier session is over.
    for token_before in (member.token, old_session["token"]):
        r = get(hub, "/api/auth/me", token_before)
        assert r.status_code == 401 and error_code(r) == "token_revoked"
    for refresh_before in (member.refresh, old_session["refreshToken"]):
        r = post(hub, "/api/auth/refresh", {"refreshToken": refresh_before})
        assert r.status_code == 401 and error_code(r) == "invalid_refresh_token"

    # The token is single-use.
    r = post(hub, "/api/auth/reset-password", {"token": token, "password": "another-password"})
    assert r.status_code == 422 and error_code(r) == "invalid_reset_token"
    assert login(hub, email, "brand-new-password").status_code == 200


def test_reset_with_an_unknown_token_is_refused(hub):
    r = post(hub, "/api/auth/reset-password", {"token": "not-a-token", "password": "brand-new-password"})
    assert r.status_code == 422 and error_code(r) == "invalid_reset_token"
    assert r.json()["error"]["field"] == "token"


def test_forgot_password_answers_the_same_for_unknown_emails(hub):
    member = register(hub)
    unknown = unique_email("ghost")
    known_r = post(hub, "/api/auth/forgot-password", {"email": member.user["email"]})
    unknown_r = post(hub, "/api/auth/forgot-password", {"email": unknown})
    assert known_r.status_code == unknown_r.status_code == 202
    assert known_r.content == unknown_r.content
    assert len(reset_token_for(hub, member.user["email"])) == 1
    assert reset_token_for(hub, unknown) == []
    r = post(hub, "/api/auth/forgot-password", {"email": "not an email"})
    assert r.status_code == 202 and r.content == known_r.content


# MARK: Profile and who may call what

def test_profile_reads_and_changes_only_the_callers_own_data(hub):
    alice, bob = register(hub, first="Alice"), register(hub, first="Bob")
    r = alice.get("/api/users/profile")
    assert r.status_code == 200 and r.json()["id"] == alice.user["id"]

    r = alice.put("/api/users/profile", json={"firstName": "Alicia", "lastName": "Okafor", "phone": "+2348099999999"})
    assert r.status_code == 200, r.text
    assert r.json()["firstName"] == "Alicia" and r.json()["phone"] == "+2348099999999"
    assert alice.get("/api/users/profile").json()["lastName"] == "Okafor"
    assert alice.get("/api/auth/me").json()["firstName"] == "Alicia"
    assert bob.get("/api/users/profile").json()["firstName"] == "Bob"

    for body, field in (({"id": bob.user["id"], "firstName": "X"}, "id"), ({"email": bob.user["email"]}, "email"),
                        ({"phone": "12345"}, "phone"), ({"firstName": ""}, "firstName")):
        r = alice.put("/api/users/profile", json=body)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, (body, r.text)
    assert bob.get("/api/users/profile").json()["email"] == bob.user["email"]
    assert alice.get("/api/users/profile").json()["firstName"] == "Alicia"

    r = requests.put(hub.url + "/api/users/profile", json={"firstName": "Anon"}, timeout=10)
    assert r.status_code == 401


def test_admin_and_member_routes_are_kept_apart(hub):
    member = register(hub)
    boss = admin(hub)  # the demo super admin, password printed at first start
    assert boss.user["role"] == "super_admin" and boss.user["email"] == hub.admin_email
    assert claims_of(boss.token)["role"] == "super_admin"

    r = boss.get("/api/admin/auth/me")
    assert r.status_code == 200 and r.json()["email"] == hub.admin_email
    r = member.get("/api/admin/auth/me")
    assert r.status_code == 403 and error_code(r) == "admin_required"
    r = boss.get("/api/users/profile")
    assert r.status_code == 403 and error_code(r) == "members_only"
    r = boss.put("/api/users/profile", json={"firstName": "Boss"})
    assert r.status_code == 403

    # Separate tables: neither kind of account signs in through the other's door.
    r = post(hub, "/api/auth/login", {"email": hub.admin_email, "password": hub.admin_password})
    assert r.status_code == 401
    r = post(hub, "/api/admin/auth/login", {"email": member.user["email"], "password": PASSWORD})
    assert r.status_code == 401 and error_code(r) == "invalid_credentials"
    r = post(hub, "/api/admin/auth/login", {"email": hub.admin_email, "password": "wrong-password"})
    assert r.status_code == 401

    # An admin session refreshes into an admin session.
    r = post(hub, "/api/auth/refresh", {"refreshToken": boss.refresh})
    assert r.status_code == 200
    assert get(hub, "/api/admin/auth/me", r.json()["token"]).status_code == 200


def test_suspended_members_cannot_sign_in_refresh_or_use_their_tokens(fresh_hub):
    h = fresh_hub()
    member = register(h)
    boss = admin(h)
    r = boss.put(f"/api/admin/users/{member.user['id']}", json={"status": "suspended", "reason": "e2e check"})
    assert r.status_code == 200, r.text
    r = get(h, "/api/auth/me", member.token)
    assert r.status_code == 403 and error_code(r) == "account_suspended"
    r = login(h, member.user["email"])
    assert r.status_code == 403 and error_code(r) == "account_suspended"
    r = post(h, "/api/auth/refresh", {"refreshToken": member.refresh})
    assert r.status_code in (401, 403), r.text  # the suspension also ended the sessions
    h.restart()  # suspensions are reloaded at start
    r = get(h, "/api/auth/me", member.token)
    assert r.status_code == 403 and error_code(r) == "account_suspended"

    boss = admin(h)  # the demo admin's password still works after the restart
    r = boss.put(f"/api/admin/users/{member.user['id']}", json={"status": "active"})
    assert r.status_code == 200, r.text
    r = login(h, member.user["email"])
    assert r.status_code == 200
    assert get(h, "/api/auth/me", r.json()["token"]).status_code == 200, "a sign-in right after reactivation"
    r = get(h, "/api/auth/me", member.token)  # sessions from before the suspension stay ended
    assert r.status_code == 401 and error_code(r) == "token_revoked"


def test_token_lifetimes_come_from_the_environment(fresh_hub):
    h = fresh_hub(env={"JWT_EXPIRES_IN": "60", "REFRESH_TOKEN_EXPIRES_IN": "2h"})
    member = register(h)
    claims = claims_of(member.token)
    assert claims["exp"] - claims["iat"] == 60
    (expires_at, created_at), = db_rows(h, "SELECT expires_at, created_at FROM refresh_tokens WHERE token_hash = ?",
                                        sha256_hex(member.refresh))
    assert expires_at - created_at == 7200


@pytest.mark.parametrize("env, name", [
    ({"JWT_EXPIRES_IN": "30"}, "JWT_EXPIRES_IN"),
    ({"JWT_EXPIRES_IN": "soon"}, "JWT_EXPIRES_IN"),
    ({"REFRESH_TOKEN_EXPIRES_IN": "1m"}, "REFRESH_TOKEN_EXPIRES_IN"),
    ({"PASSWORD_COST_LOG2": "4"}, "PASSWORD_COST_LOG2"),
    ({"SPACEHUB_MODE": "production"}, "JWT_SECRET"),
])
def test_bad_auth_settings_stop_start_up(env, name):
    workdir = tempfile.mkdtemp(prefix="spacehub-auth-config-")
    full_env = dict(os.environ, SPACEHUB_DB=os.path.join(workdir, "hub.sqlite"), PORT="0", PASSWORD_COST_LOG2="10")
    full_env.pop("JWT_SECRET", None)
    full_env.update(env)
    result = subprocess.run([BINARY, "serve"], cwd=workdir, env=full_env, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2, result
    assert name in result.stderr


# MARK: spacehub admin create

def admin_create(hub, *args, env=None, input=None):
    full_env = dict(os.environ, **hub.store_env, PASSWORD_COST_LOG2="10", LOG_LEVEL="warning")
    full_env.pop("SPACEHUB_ADMIN_PASSWORD", None)
    full_env.update(env or {})
    return subprocess.run([BINARY, "admin", "create", *args], cwd=hub.dir, env=full_env, input=input,
                          capture_output=True, text=True, timeout=30)


def test_admin_create_from_the_environment_and_from_stdin(hub):
    email = unique_email("ops")
    result = admin_create(hub, "--email", email, "--name", "Ops Person", "--role", "admin",
                          env={"SPACEHUB_ADMIN_PASSWORD": "ops-password-1"})
    assert result.returncode == 0, result.stderr
    assert "ops-password-1" not in result.stdout + result.stderr
    r = post(hub, "/api/admin/auth/login", {"email": email, "password": "ops-password-1"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["role"] == "admin" and r.json()["user"]["name"] == "Ops Person"
    # An `admin` may use admin routes but not those kept for super admins.
    ops_token = r.json()["token"]
    assert claims_of(ops_token)["role"] == "admin"
    assert get(hub, "/api/admin/auth/me", ops_token).status_code == 200
    member = register(hub)
    assert get(hub, f"/api/admin/users/{member.user['id']}", ops_token).status_code == 200
    r = requests.put(hub.url + f"/api/admin/users/{member.user['id']}", json={"status": "suspended", "reason": "x"},
                     headers={"Authorization": "Bearer " + ops_token}, timeout=30)
    assert r.status_code == 403 and error_code(r) == "super_admin_required"
    assert member.get("/api/auth/me").status_code == 200

    chief = unique_email("chief")
    result = admin_create(hub, "--email", chief, "--name", "Chief", "--role", "super_admin", input="chief-password-1\n")
    assert result.returncode == 0, result.stderr
    r = post(hub, "/api/admin/auth/login", {"email": chief, "password": "chief-password-1"})
    assert r.status_code == 200 and r.json()["user"]["role"] == "super_admin"

    again = admin_create(hub, "--email", chief.upper(), "--name", "Twice", input="chief-password-2\n")
    assert again.returncode == 1 and "already exists" in again.stderr


@pytest.mark.parametrize("args, stdin, message", [
    (["--email", "bad-email", "--name", "N"], "long-enough-1\n", "email"),
    (["--email", "ok@example.com", "--name", ""], "long-enough-1\n", "name"),
    (["--email", "ok@example.com", "--name", "N", "--role", "owner"], "long-enough-1\n", "role"),
    (["--email", "ok@example.com", "--name", "N"], "short\n", "password"),
    (["--email", "ok@example.com", "--name", "N"], "", "password"),
])
def test_admin_create_refuses_bad_input(hub, args, stdin, message):
    result = admin_create(hub, *args, input=stdin)
    assert result.returncode == 1, result
    assert message in result.stderr
    assert not db_rows(hub, "SELECT 1 FROM admin_users WHERE email = 'ok@example.com'")


def test_an_admin_created_before_first_start_means_no_demo_admin(fresh_hub):
    workdir = tempfile.mkdtemp(prefix="spacehub-admin-")
    h = Hub(db_dir=workdir)
    env = dict(os.environ, **h.store_env, PASSWORD_COST_LOG2="10", SPACEHUB_ADMIN_PASSWORD="first-admin-pass")
    result = subprocess.run([BINARY, "admin", "create", "--email", "first@example.com", "--name", "First",
                             "--role", "super_admin"], cwd=workdir, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    h.start()
    try:
        assert h.admin_password is None, "a demo admin was created although an admin exists"
        assert db_rows(h, "SELECT email FROM admin_users") == [("first@example.com",)]
        r = post(h, "/api/admin/auth/login", {"email": "first@example.com", "password": "first-admin-pass"})
        assert r.status_code == 200
    finally:
        h.kill()


# MARK: Rate limits

class SourceAddressAdapter(HTTPAdapter):
    """Connects from a given loopback address, so each test has its own per-IP buckets."""

    def __init__(self, source, **kwargs):
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(address):
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(address))
    return session


@pytest.fixture(scope="module")
def limited_hub():
    """Small buckets over the default one-minute period: nothing refills during a test."""
    h = Hub(config=write_config({"auth": {"rateLimits": {
        "loginPerMinutePerIp": 6, "loginPerMinutePerEmail": 3, "registerPerMinutePerIp": 3,
        "registerPerMinutePerEmail": 2, "forgotPerMinutePerIp": 4, "forgotPerMinutePerEmail": 2}}})).start()
    yield h
    h.kill()


@pytest.fixture(scope="module")
def quick_hub():
    """One attempt per 2 s (auth.rateLimits.periodSeconds), to watch a bucket refill."""
    limits = {key: 1 for key in ROOMY_LIMITS["auth"]["rateLimits"]}
    h = Hub(config=write_config({"auth": {"rateLimits": dict(limits, periodSeconds=2)}})).start()
    yield h
    h.kill()


def assert_limited(r, period=60):
    assert r.status_code == 429, r.text
    assert error_code(r) == "rate_limited"
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= period
    assert r.json()["error"]["retryAfter"] == retry_after
    return retry_after


def test_login_limit_per_email(limited_hub):
    member = register(limited_hub)
    email = member.user["email"]
    session = client_from("127.0.0.2")
    for _ in range(3):
        assert login(limited_hub, email, "wrong-password", session=session).status_code == 401
    retry_after = assert_limited(login(limited_hub, email, PASSWORD, session=session))  # even the right password
    assert retry_after <= 20  # 3 per minute: one token back every 20 s
    # Another account from the same address, and the same account from elsewhere, are limited
    # by their own buckets only.
    assert login(limited_hub, unique_email(), "wrong-password", session=session).status_code == 401
    assert_limited(login(limited_hub, email, PASSWORD, session=client_from("127.0.0.12")))


def test_login_limit_per_ip(limited_hub):
    session = client_from("127.0.0.3")
    for _ in range(6):
        assert login(limited_hub, unique_email(), "wrong-password", session=session).status_code == 401
    assert_limited(login(limited_hub, unique_email(), "wrong-password", session=session))
    assert login(limited_hub, unique_email(), "wrong-password", session=client_from("127.0.0.4")).status_code == 401
    # The admin sign-in shares the per-address bucket.
    assert_limited(post(limited_hub, "/api/admin/auth/login", {"email": unique_email(), "password": "x" * 8},
                        session=session))


def test_register_limits_per_ip_and_per_email(limited_hub):
    session = client_from("127.0.0.5")
    body = lambda email: {"email": email, "password": PASSWORD, "firstName": "R", "lastName": "L"}
    for _ in range(3):
        assert post(limited_hub, "/api/auth/register", body(unique_email()), session=session).status_code == 201
    assert_limited(post(limited_hub, "/api/auth/register", body(unique_email()), session=session))

    # Probing one address again and again, each time from a new IP, is limited per email.
    target = unique_email("probe")
    codes = [post(limited_hub, "/api/auth/register", body(target), session=client_from(f"127.0.1.{i}")).status_code
             for i in range(1, 4)]
    assert codes == [201, 409, 429]


def test_forgot_password_limits_per_email_and_per_ip(limited_hub):
    member = register(limited_hub)
    session = client_from("127.0.0.6")
    for _ in range(2):
        r = post(limited_hub, "/api/auth/forgot-password", {"email": member.user["email"]}, session=session)
        assert r.status_code == 202
    assert_limited(post(limited_hub, "/api/auth/forgot-password", {"email": member.user["email"]}, session=session))
    assert len(reset_token_for(limited_hub, member.user["email"])) == 2
    # Four per address: the refused request above took the address's third token.
    assert post(limited_hub, "/api/auth/forgot-password", {"email": unique_email()}, session=session).status_code == 202
    assert_limited(post(limited_hub, "/api/auth/forgot-password", {"email": unique_email()}, session=session))
    assert post(limited_hub, "/api/auth/forgot-password", {"email": unique_email()},
                session=client_from("127.0.0.7")).status_code == 202


def wait_until_allowed(call, retry_after):
    """Sleeps the advertised Retry-After, then polls for at most one more second."""
    time.sleep(retry_after)
    deadline = time.monotonic() + 1.0
    while True:
        r = call()
        if r.status_code != 429 or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def test_a_limited_login_recovers_after_retry_after(quick_hub):
    member = register(quick_hub)
    attempt = lambda: login(quick_hub, member.user["email"], PASSWORD, session=client_from("127.0.0.8"))
    assert attempt().status_code == 200
    started = time.monotonic()
    retry_after = assert_limited(attempt(), period=2)
    r = wait_until_allowed(attempt, retry_after)
    assert r.status_code == 200, r.text
    assert time.monotonic() - started >= 1.0  # it really was closed for a while


def test_a_limited_forgot_password_recovers_after_retry_after(quick_hub):
    session = client_from("127.0.0.9")
    ask = lambda: post(quick_hub, "/api/auth/forgot-password", {"email": unique_email()}, session=session)
    assert ask().status_code == 202
    retry_after = assert_limited(ask(), period=2)
    assert wait_until_allowed(ask, retry_after).status_code == 202
