"""Compares every template of two cloud assemblies (TypeScript's and another language's) after removing CDK bookkeeping.

Usage: compare.py EXPECTED_ASSEMBLY ACTUAL_ASSEMBLY [LABEL]

Removed before comparing: the AWS::CDK::Metadata resource and its condition, and `aws:cdk:*` resource metadata (both
record the CDK runtime that synthesized the template, not what is deployed). An asset hash stays in the comparison
when the asset is one of this project's (its content is a file under assets/ or examples/): the packages must
carry the same bundles byte for byte. Only hashes of aws-cdk-lib's own handlers, which change with its version, and of
nested-stack templates (compared themselves, one by one) are masked.
"""
import difflib
import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
OWN_DIRS = ("assets", "examples")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def own_files():
    """Content digests of the files this project ships or seeds: the bundles and the example's seed objects."""
    out = set()
    for top in OWN_DIRS:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            out.update(digest(os.path.join(d, f)) for f in files)
    return out


def assets_of(assembly):
    """Asset hash → True when the asset is this project's, False otherwise, from the assembly's asset manifests."""
    own, out = own_files(), {}
    for name in os.listdir(assembly):
        if not name.endswith(".assets.json"):
            continue
        with open(os.path.join(assembly, name), encoding="utf-8") as f:
            manifest = json.load(f)
        for h, asset in manifest.get("files", {}).items():
            src = os.path.join(assembly, asset["source"]["path"])
            files = [src] if os.path.isfile(src) else [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs]
            out[h] = bool(files) and all(digest(f) in own for f in files) and not src.endswith(".template.json")
    return out


def normalized(path, own_assets):
    with open(path, encoding="utf-8") as f:
        template = json.load(f)
    resources = template.get("Resources", {})
    for logical_id in [k for k, r in resources.items() if r.get("Type") == "AWS::CDK::Metadata"]:
        del resources[logical_id]
    template.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    if not template.get("Conditions", True):
        del template["Conditions"]
    for resource in resources.values():
        metadata = {k: v for k, v in resource.pop("Metadata", {}).items() if not k.startswith("aws:cdk:")}
        if metadata:
            resource["Metadata"] = metadata
    text = json.dumps(template, indent=1, sort_keys=True)
    return ASSET_HASH.sub(lambda m: m.group(0) if own_assets.get(m.group(0)) else "<aws-cdk-lib asset>", text)


def main(expected_dir, actual_dir, label="the port"):
    expected_own, actual_own = assets_of(expected_dir), assets_of(actual_dir)
    own = {**expected_own, **actual_own}
    # A StackSet's member template is compared inside its parent's TemplateBody; the TypeScript side also writes it as
    # a file of its own, for the template linters.
    list_templates = lambda d: sorted(
        f for f in os.listdir(d) if f.endswith(".template.json") and not f.endswith(".member.template.json")
    )
    expected, actual = list_templates(expected_dir), list_templates(actual_dir)
    if not actual:
        print(f"no templates in {actual_dir}: {label} synthesized nothing", file=sys.stderr)
        return 1
    failed = False
    if expected != actual:
        print(f"templates differ: TypeScript wrote {expected}, {label} wrote {actual}", file=sys.stderr)
        failed = True
    for name in sorted(set(expected) & set(actual)):
        ts, other = normalized(os.path.join(expected_dir, name), own), normalized(os.path.join(actual_dir, name), own)
        if ts != other:
            sys.stderr.writelines(line + "\n" for line in difflib.unified_diff(
                ts.splitlines(), other.splitlines(), f"typescript/{name}", f"{label}/{name}", lineterm=""))
            failed = True
    if failed:
        print(f"{label} synthesizes other templates than TypeScript (diff above)", file=sys.stderr)
        return 1
    kept = sorted(h[:8] for h, mine in expected_own.items() if mine)
    resources = sum(len(json.load(open(os.path.join(actual_dir, n), encoding="utf-8")).get("Resources", {})) for n in actual)
    print(f"ok: {len(actual)} templates ({resources} resources) identical from {label} and TypeScript;"
          f" project asset hashes compared as is: {', '.join(kept) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
