#!/usr/bin/env python3
"""One HTTP call for the package test: hub_call.py METHOD URL [TOKEN] [BODY] [FIELD].

Prints the answer's body (or, with FIELD, that field of its JSON object) and exits 0 on a 2xx
answer, 1 otherwise (the body is printed to stderr then)."""
import json
import sys
import urllib.error
import urllib.request


def main() -> int:
    method, url = sys.argv[1], sys.argv[2]
    token = sys.argv[3] if len(sys.argv) > 3 else ""
    body = sys.argv[4].encode() if len(sys.argv) > 4 and sys.argv[4] else None
    field = sys.argv[5] if len(sys.argv) > 5 else ""
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read().decode()
    except urllib.error.HTTPError as e:
        sys.stderr.write(f"HTTP {e.code} from {method} {url}: {e.read().decode()}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"{method} {url}: {e}\n")
        return 1
    print(json.loads(text)[field] if field else text, end="" if field == "" else "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
