"""The other side of tests/encryption_interop.rs: JWE with Python's jwcrypto, an implementation
independent of the SDK's and the sandbox's.

Reads one JSON request on stdin and writes one JSON answer on stdout:

- {"op": "decrypt", "jwk": <private JWK>, "jwe": "...", "field": "email", "object": "ctc_1" | null}
  -> {"value": <the plaintext JSON value>} after checking alg, enc, kid and the fld/obj binding in
  the protected header (the header is what AES-GCM authenticates), or {"error": "..."}.
- {"op": "encrypt", "jwk": <public JWK>, "value": <JSON>, "field": "email", "object": ... | null}
  -> {"jwe": "..."} with alg ECDH-ES+A256KW, enc A256GCM, kid, fld and obj in the protected header.
- {"op": "generate", "kid": "..."} -> {"private": <private JWK>, "public": <public JWK>}.
"""

import json
import sys

from jwcrypto import jwe, jwk
from jwcrypto.common import json_decode, json_encode

ALG = "ECDH-ES+A256KW"
ENC = "A256GCM"


def decrypt(request):
    key = jwk.JWK(**request["jwk"])
    token = jwe.JWE()
    # Only the one algorithm pair is allowed, whatever the header asks for.
    token.allowed_algs = [ALG, ENC]
    token.deserialize(request["jwe"], key=key)
    header = json_decode(token.objects["protected"])
    if header.get("alg") != ALG or header.get("enc") != ENC:
        return {"error": "unexpected algorithms"}
    if header.get("kid") != request["jwk"].get("kid"):
        return {"error": "kid names another key"}
    if header.get("fld") != request["field"] or header.get("obj") != request.get("object"):
        return {"error": "bound to another field or object"}
    return {"value": json.loads(token.payload)}


def encrypt(request):
    key = jwk.JWK(**request["jwk"])
    header = {"alg": ALG, "enc": ENC, "kid": request["jwk"]["kid"], "fld": request["field"]}
    if request.get("object") is not None:
        header["obj"] = request["object"]
    plaintext = json.dumps(request["value"], separators=(",", ":")).encode()
    token = jwe.JWE(plaintext, protected=json_encode(header))
    token.add_recipient(key)
    return {"jwe": token.serialize(compact=True)}


def generate(request):
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid=request["kid"])
    return {
        "private": json.loads(key.export_private()),
        "public": json.loads(key.export_public()),
    }


def main():
    request = json.load(sys.stdin)
    handler = {"decrypt": decrypt, "encrypt": encrypt, "generate": generate}[request["op"]]
    try:
        answer = handler(request)
    except Exception as error:  # noqa: BLE001 - the Rust side asserts on the kind of answer
        answer = {"error": f"{type(error).__name__}: {error}"}
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
