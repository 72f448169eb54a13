"""`python -m greenr.local_services COMMAND`: what scripts/services.sh asks of Python.

  identities PATH                      make the SeaweedFS identities file unless it exists
  keys PATH                            print its access key and secret key, one per line
  ensure-bucket ENDPOINT BUCKET PATH   wait for S3 (keys from PATH), create BUCKET if missing
                   [--pid PID] [--timeout S]
  http-ok URL [--timeout S]            exit 0 when URL answers 200 within S seconds, 1 otherwise

Errors go to stderr as one line and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from greenr.local_services.probes import NotReady, ensure_bucket, http_status
from greenr.local_services.s3_identities import ensure_identities, read_keys


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m greenr.local_services", description=__doc__.splitlines()[0]
    )
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("identities").add_argument("path", type=Path)
    commands.add_parser("keys").add_argument("path", type=Path)
    bucket = commands.add_parser("ensure-bucket")
    bucket.add_argument("endpoint")
    bucket.add_argument("bucket")
    bucket.add_argument("identities", type=Path)
    bucket.add_argument("--pid", type=int)
    bucket.add_argument("--timeout", type=float, default=60.0)
    http_ok = commands.add_parser("http-ok")
    http_ok.add_argument("url")
    http_ok.add_argument("--timeout", type=float, default=2.0)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "identities":
            if ensure_identities(args.path):
                print(f"services: seaweedfs: generated S3 keys in {args.path}")
        elif args.command == "keys":
            keys = read_keys(args.path)
            print(keys.access_key)
            print(keys.secret_key)
        elif args.command == "ensure-bucket":
            keys = read_keys(args.identities)
            if ensure_bucket(args.endpoint, args.bucket, keys, timeout=args.timeout, pid=args.pid):
                print(f"services: seaweedfs: created bucket {args.bucket}")
        elif args.command == "http-ok":
            return 0 if http_status(args.url, args.timeout) == 200 else 1
    except (NotReady, ValueError) as error:
        print(f"services: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
