"""Runs every Python sample in README.md against the installed wheel and synthesizes the app it builds."""
import re
import sys

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def main(readme):
    with open(readme, encoding="utf-8") as f:
        samples = FENCE.findall(f.read())
    if not samples:
        print(f"no ```python samples in {readme}", file=sys.stderr)
        return 1
    for number, sample in enumerate(samples, start=1):
        scope = {"__name__": f"readme_sample_{number}"}
        try:
            exec(compile(sample, f"{readme} python sample {number}", "exec"), scope)
            app = scope.get("app")
            if app is not None:
                app.synth()
        except Exception as e:  # one readable line per broken sample
            print(f"{readme} python sample {number} failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
    print(f"ok: {len(samples)} Python sample(s) in {readme} run and synthesize")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
