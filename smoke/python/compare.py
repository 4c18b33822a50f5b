"""Compares the resources of two synthesized templates, ignoring what differs between CDK runtimes but not in meaning."""
import difflib
import json
import re
import sys

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def resources(path):
    """The template's resources with CDK bookkeeping removed: construct-path metadata, version reporting, asset hashes."""
    with open(path, encoding="utf-8") as f:
        template = json.load(f)
    out = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::CDK::Metadata":
            continue
        resource = dict(resource)
        metadata = {k: v for k, v in resource.pop("Metadata", {}).items() if not k.startswith("aws:cdk:")}
        if metadata:
            resource["Metadata"] = metadata
        out[logical_id] = resource
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(out)))


def main(python_template, typescript_template):
    py, ts = resources(python_template), resources(typescript_template)
    if not py:
        print(f"no resources in {python_template}: the Python app synthesized nothing", file=sys.stderr)
        return 1
    if py == ts:
        print(f"ok: {len(py)} resources identical from Python and TypeScript ({', '.join(sorted({r['Type'] for r in py.values()}))})")
        return 0
    dump = lambda r: json.dumps(r, indent=1, sort_keys=True).splitlines()
    sys.stderr.writelines(line + "\n" for line in difflib.unified_diff(dump(ts), dump(py), "typescript", "python", lineterm=""))
    print("the Python-synthesized template differs from the TypeScript one (diff above)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
