"""An independent reader/writer of the Amazon S3 Encryption Client object formats V3 and V2 (kms+context).

Written from the public specification (awslabs/aws-encryption-sdk-specification, s3-encryption/:
data-format/content-metadata.md, key-derivation.md, encryption.md, decryption.md, materials/s3-kms-keyring.md),
with `cryptography` and boto3 only, to check cdk-cmek's TypeScript implementation from the outside.

    python s3ec.py put --bucket B --key K --kms-key ARN --format V3|V2 [--context k=v ...] --in FILE
    python s3ec.py get --bucket B --key K [--context k=v ...] --out FILE

Both take --endpoint-url and --region. `get` writes FILE only after every check passed; it exits 2 with one
line on stderr when the object is rejected.
"""
import argparse
import base64
import hmac
import json
import os
import sys

import boto3
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA512
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY
COMMIT_SUITE_ID = 0x0073
COMMIT_SUITE_ID_BYTES = COMMIT_SUITE_ID.to_bytes(2, "big")
MESSAGE_ID_LEN = 28
COMMITMENT_LEN = 28
COMMIT_IV = b"\x01" * 12  # key-derivation.md: an IV containing only ones
# ALG_AES_256_GCM_IV12_TAG16_NO_KDF
GCM_CIPHER = "AES/GCM/NoPadding"
RESERVED = "aws:x-amz-cek-alg"
CEK_CONTEXT_VALUE = {"V3": str(COMMIT_SUITE_ID), "V2": GCM_CIPHER}


class Rejected(Exception):
    """The object is not a valid envelope for this reader."""


def hkdf(data_key: bytes, message_id: bytes, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=SHA512(), length=length, salt=message_id, info=COMMIT_SUITE_ID_BYTES + label).derive(data_key)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def put(s3, kms, bucket, key, kms_key, fmt, user_context, plaintext):
    context = dict(user_context)
    context[RESERVED] = CEK_CONTEXT_VALUE[fmt]
    dk = kms.generate_data_key(KeyId=kms_key, KeySpec="AES_256", EncryptionContext=context)
    data_key = dk["Plaintext"]
    if fmt == "V3":
        message_id = os.urandom(MESSAGE_ID_LEN)
        commitment = hkdf(data_key, message_id, b"COMMITKEY", COMMITMENT_LEN)
        body = AESGCM(hkdf(data_key, message_id, b"DERIVEKEY", 32)).encrypt(COMMIT_IV, plaintext, COMMIT_SUITE_ID_BYTES)
        metadata = {
            "x-amz-c": str(COMMIT_SUITE_ID),
            "x-amz-3": b64(dk["CiphertextBlob"]),
            "x-amz-w": "12",
            "x-amz-t": json.dumps(context),
            "x-amz-d": b64(commitment),
            "x-amz-i": b64(message_id),
        }
    else:
        iv = os.urandom(12)
        body = AESGCM(data_key).encrypt(iv, plaintext, None)
        metadata = {
            "x-amz-key-v2": b64(dk["CiphertextBlob"]),
            "x-amz-iv": b64(iv),
            "x-amz-cek-alg": GCM_CIPHER,
            "x-amz-wrap-alg": "kms+context",
            "x-amz-matdesc": json.dumps(context),
            "x-amz-tag-len": "128",
        }
    s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata)


def get(s3, kms, bucket, key, user_context) -> bytes:
    obj = s3.get_object(Bucket=bucket, Key=key)
    meta = {k.lower(): v for k, v in obj["Metadata"].items()}
    body = obj["Body"].read()
    v3 = any(k in meta for k in ("x-amz-c", "x-amz-3", "x-amz-d", "x-amz-i", "x-amz-t", "x-amz-w", "x-amz-m"))
    v2 = any(k in meta for k in ("x-amz-key-v2", "x-amz-wrap-alg", "x-amz-cek-alg", "x-amz-tag-len"))
    if v3 == v2:
        raise Rejected("metadata is neither purely V3 nor purely V2")
    fmt = "V3" if v3 else "V2"
    try:
        if fmt == "V3":
            if meta.get("x-amz-c") != "115" or meta.get("x-amz-w") != "12":
                raise Rejected("unsupported V3 suite or wrapping algorithm")
            wrapped = base64.b64decode(meta["x-amz-3"], validate=True)
            context = json.loads(meta.get("x-amz-t", "{}"))
            message_id = base64.b64decode(meta["x-amz-i"], validate=True)
            stored_commitment = base64.b64decode(meta["x-amz-d"], validate=True)
        else:
            if meta.get("x-amz-cek-alg") != GCM_CIPHER or meta.get("x-amz-wrap-alg") != "kms+context" or meta.get("x-amz-tag-len") != "128":
                raise Rejected("unsupported V2 cipher, wrapping algorithm or tag length")
            wrapped = base64.b64decode(meta["x-amz-key-v2"], validate=True)
            context = json.loads(meta["x-amz-matdesc"])
            iv = base64.b64decode(meta["x-amz-iv"], validate=True)
    except (KeyError, ValueError) as e:
        raise Rejected(f"malformed metadata: {e}") from None
    if not isinstance(context, dict) or context.get(RESERVED) != CEK_CONTEXT_VALUE[fmt]:
        raise Rejected("reserved encryption context pair does not name this format's suite")
    # s3-kms-keyring.md Kms+Context: stored context minus the reserved keys must equal the caller's.
    stored_user = {k: v for k, v in context.items() if k not in (RESERVED, "kms_cmk_id")}
    if stored_user != user_context:
        raise Rejected("encryption context does not match")
    data_key = kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=context)["Plaintext"]
    try:
        if fmt == "V3":
            if len(message_id) != MESSAGE_ID_LEN or len(stored_commitment) != COMMITMENT_LEN:
                raise Rejected("message id or commitment has the wrong length")
            # decryption.md: verify the commitment (constant time) before deriving the encryption key.
            if not hmac.compare_digest(hkdf(data_key, message_id, b"COMMITKEY", COMMITMENT_LEN), stored_commitment):
                raise Rejected("key commitment mismatch")
            return AESGCM(hkdf(data_key, message_id, b"DERIVEKEY", 32)).decrypt(COMMIT_IV, body, COMMIT_SUITE_ID_BYTES)
        if len(iv) != 12:
            raise Rejected("IV has the wrong length")
        return AESGCM(data_key).decrypt(iv, body, None)
    except Rejected:
        raise
    except Exception as e:  # InvalidTag and friends
        raise Rejected(f"authentication failed: {type(e).__name__}") from None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["put", "get"])
    p.add_argument("--bucket", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--kms-key")
    p.add_argument("--format", choices=["V3", "V2"], default="V3")
    p.add_argument("--context", action="append", default=[])
    p.add_argument("--in", dest="infile")
    p.add_argument("--out")
    p.add_argument("--endpoint-url")
    p.add_argument("--region", default="eu-west-1")
    a = p.parse_args(argv)
    context = dict(c.split("=", 1) for c in a.context)
    session = boto3.session.Session(region_name=a.region)
    s3 = session.client("s3", endpoint_url=a.endpoint_url)
    kms = session.client("kms", endpoint_url=a.endpoint_url)
    if a.command == "put":
        with open(a.infile, "rb") as f:
            put(s3, kms, a.bucket, a.key, a.kms_key, a.format, context, f.read())
        return 0
    try:
        plaintext = get(s3, kms, a.bucket, a.key, context)
    except Rejected as e:
        print(f"rejected: {e}", file=sys.stderr)
        return 2
    with open(a.out, "wb") as f:
        f.write(plaintext)
    return 0


if __name__ == "__main__":
    sys.exit(main())
