"""The other side of tests/encryption_interop.rs: JWE with Python's jwcrypto, an implementation
independent of the SDK's and the sandbox's.

Reads one JSON request on stdin and writes one JSON answer on stdout:

- {"op": "decrypt", "jwk": <private JWK>, "jwe": "...", "field": "email", "object": "ctc_1" | null}
  -> {"value": <the plaintext JSON value>} after checking alg, enc, kid and the fld/obj binding in
  the protected header (the header is what AES-GCM authenticates), or {"error": "..."}.
- {"op": "encrypt", "jwk": <public JWK>, "value": <JSON>, "field": "email", "object": ... | null}
  -> {"jwe": "..."} with alg ECDH-ES+A256KW, enc A256GCM, kid, fld and obj in the protected header.
- {"op": "generate", "kid": "..."} -> {"private": <private JWK>, "public": <public JWK>}.
- {"op": "decrypt_document", "jwk": <private JWK>, "document": <JSON>}
  -> {"document": <the document with every JWE decrypted>} or {"error": "..."}: the binding of each
  JWE is computed here, from where it is found, by the rule the spec's `x-sensitive` states (`obj`
  the `id` of the nearest enclosing object that has one, `fld` the JSON Pointer from it, or from
  the root, without its leading `/`).
- {"op": "encrypt_document", "jwk": <public JWK>, "document": <JSON>, "at": ["/events/0/..."]}
  -> {"document": <the document with the values at those absolute JSON Pointers encrypted>}, each
  bound by the same rule.
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


def looks_like_jwe(value):
    return isinstance(value, str) and value.startswith("eyJ") and value.count(".") == 4


def escape(token):
    return str(token).replace("~", "~0").replace("/", "~1")


def places(node, anchor=None, pointer="", absolute=""):
    """Yields (container, key, anchor, pointer, absolute pointer) for every value under `node`."""
    if isinstance(node, dict):
        if isinstance(node.get("id"), str):
            anchor, pointer = node["id"], ""
        members = list(node.items())
    elif isinstance(node, list):
        members = list(enumerate(node))
    else:
        return
    for key, value in members:
        child = f"{pointer}/{escape(key)}" if pointer else escape(key)
        here = f"{absolute}/{escape(key)}"
        yield node, key, anchor, child, here
        yield from places(value, anchor, child, here)


def decrypt_document(request):
    document = request["document"]
    for container, key, anchor, pointer, _ in list(places(document)):
        if looks_like_jwe(container[key]):
            answer = decrypt({"jwk": request["jwk"], "jwe": container[key], "field": pointer, "object": anchor})
            if "error" in answer:
                return {"error": f"{pointer}: {answer['error']}"}
            container[key] = answer["value"]
    return {"document": document}


def encrypt_document(request):
    document = request["document"]
    targets = set(request["at"])
    for container, key, anchor, pointer, absolute in list(places(document)):
        if absolute in targets:
            sealed = encrypt({"jwk": request["jwk"], "value": container[key], "field": pointer, "object": anchor})
            container[key] = sealed["jwe"]
            targets.discard(absolute)
    if targets:
        return {"error": f"no value at {sorted(targets)}"}
    return {"document": document}


def generate(request):
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid=request["kid"])
    return {
        "private": json.loads(key.export_private()),
        "public": json.loads(key.export_public()),
    }


def main():
    request = json.load(sys.stdin)
    handler = {
        "decrypt": decrypt,
        "encrypt": encrypt,
        "generate": generate,
        "decrypt_document": decrypt_document,
        "encrypt_document": encrypt_document,
    }[request["op"]]
    try:
        answer = handler(request)
    except Exception as error:  # noqa: BLE001 - the Rust side asserts on the kind of answer
        answer = {"error": f"{type(error).__name__}: {error}"}
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
