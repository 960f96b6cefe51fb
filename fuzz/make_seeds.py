#!/usr/bin/env python3
"""Writes the seed inputs of each fuzz target into fuzz/seeds/<target>/.

Seeds are well-formed inputs the fuzzer mutates from: real nextjs-auth0 cookies, ID and logout
tokens with every claim (signatures are placeholders: the claim checks run on the payload whatever
the signature says), callback queries, returnTo values and token-endpoint bodies. The sealed
`mfa_token` seed is made by the Rust unit test `fuzzing::tests::mfa_token_seed_is_current`.
"""
import base64, json, os, pathlib

ROOT = pathlib.Path(__file__).resolve().parent
SEEDS = ROOT / "seeds"
FIXTURES = ROOT.parent / "crates/tollgate/tests/fixtures/nextjs-auth0"
ISSUER = "https://tenant.example.com/"
CLIENT = "fuzz-client"
NOW = 1_767_225_600


def b64(obj):
    raw = obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jws(header, claims, sig=b"\x01" * 256):
    return f"{b64(header)}.{b64(claims)}.{b64(sig)}"


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data.encode() if isinstance(data, str) else data)


vectors = json.loads((FIXTURES / "vectors.json").read_text())
for case in vectors["cases"]:
    header = "; ".join(f"{c['name']}={c['value']}" for c in case["cookies"])
    write("session_cookie", case["name"], header)
    write("callback_query", "cookie-" + case["name"], "state=abc&code=xyz\n" + header)
write("session_cookie", "plain", "a=b; __session=; c")

id_claims = {"iss": ISSUER, "sub": "auth0|fuzz", "aud": CLIENT, "exp": NOW + 600, "iat": NOW,
             "nonce": "n-0S6_WzA2Mj", "auth_time": NOW - 10, "acr": "x", "amr": ["pwd", "mfa"]}
write("jws", "rs256", jws({"alg": "RS256", "kid": "rsa-1", "typ": "JWT"}, id_claims))
write("jws", "es256", jws({"alg": "ES256", "kid": "ec-1"}, id_claims, b"\x02" * 64))
write("jws", "hs256", jws({"alg": "HS256"}, dict(id_claims, aud=[CLIENT, "api"], azp=CLIENT), b"\x03" * 32))
write("jws", "none", jws({"alg": "none"}, id_claims, b""))
write("jws", "string-exp", jws({"alg": "RS256"}, dict(id_claims, exp=str(NOW + 600))))

logout = {"iss": ISSUER, "aud": CLIENT, "iat": NOW, "exp": NOW + 120, "jti": "j-1", "sid": "s-1",
          "sub": "auth0|fuzz", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
write("logout_token", "good", jws({"alg": "RS256", "kid": "rsa-1", "typ": "logout+jwt"}, logout))
write("logout_token", "nonce", jws({"alg": "RS256", "kid": "rsa-1"}, dict(logout, nonce="n")))
write("logout_token", "sid-only", jws({"alg": "RS256", "typ": "JWT"}, {k: v for k, v in logout.items() if k != "sub"}))

for i, value in enumerate(["/billing?tab=1", "/%09/evil.com", "/\\evil.com", "//evil.com",
                           "https://app.example.com/x", "https://evil.com/", "/a/../b#frag",
                           "/%2F%2Fevil.com", "/%252F%252Fevil.com", "/caf%C3%A9"]):
    write("return_to", f"value-{i}", value)

write("callback_query", "code", "code=abc&state=def&iss=https%3A%2F%2Ftenant.example.com%2F\n__txn_def=eyJ")
write("callback_query", "error", "error=access_denied&error_description=no&state=def\n")

for i, request in enumerate([
    "GET /me/v1/connected-accounts/accounts?next=abc\nscope: read:me:connected_accounts\naccept: application/json",
    "DELETE /me/v1/connected-accounts/accounts/cac_1\norigin: https://app.example.com\ncookie: __session=x",
    "PATCH /my-org/details\norigin: https://evil.example.com\ncontent-type: application/json",
    "OPTIONS /me/v1/authentication-methods\naccess-control-request-method: DELETE\norigin: https://spa.example.com",
    "GET /me/v1/%2e%2e/oauth/token\nauthorization: Bearer x",
    "GET /my-org/../userinfo\nscope: a b",
]):
    write("proxy_request", f"request-{i}", request)

bodies = [
    (0, None, "grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fauth%2Fcallback&code_verifier=v&client_id=app&client_secret=s"),
    (0, None, "grant_type=refresh_token&refresh_token=r&client_id=app&client_secret=s"),
    (0, b"Basic " + base64.b64encode(b"app:secret"), "grant_type=http%3A%2F%2Fauth0.com%2Foauth%2Fgrant-type%2Fmfa-otp&mfa_token=m&otp=123456"),
    (1, None, json.dumps({"grant_type": "http://auth0.com/oauth/grant-type/mfa-oob", "mfa_token": "m", "oob_code": "o", "client_id": "app", "client_secret": "s"})),
    (2, None, "grant_type=client_credentials&audience=https%3A%2F%2Fapi&client_id=app&client_secret=s"),
]
for i, (kind, auth, body) in enumerate(bodies):
    data = bytes([kind]) + ((b"A" + auth + b"\n") if auth else b"-") + body.encode()
    write("tenant_token_form", f"body-{i}", data)
