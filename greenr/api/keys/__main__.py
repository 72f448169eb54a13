"""Manage the prediction API's keys (stored hashed in the catalog database).

python -m greenr.api.keys create --name NAME --role predict|monitor|admin [--rate R --burst B]
                                        # prints the key ONCE: it is not stored, only its hash
python -m greenr.api.keys list          # id, name, role, created, last used, revoked
python -m greenr.api.keys revoke ID     # the key stops working at its next request
python -m greenr.api.keys setup-local   # quickstart: the web app's keys (predict, and monitor for
                                        # its Monitoring page) and an admin key in
                                        # $GREENR_HOME/api-keys/*.key (0600); idempotent

Clients send the key as `Authorization: Bearer <key>`. Exit status: 0, 1 on an error, 3 when
`revoke` finds no such key.
"""

from __future__ import annotations

import argparse
import sys

from greenr.api.access import Role
from greenr.api.keys.key_files import ensure_key_file
from greenr.api.keys.store import KeyRecord, KeyStore
from greenr.api.predictions_store import PredictionsStore
from greenr.catalog.database import CatalogUnavailable, create_catalog_engine
from greenr.settings import Settings, SettingsError, get_settings

LOCAL_KEYS = (("web-app", Role.PREDICT), ("web-app-monitoring", Role.MONITOR), ("admin", Role.ADMIN))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m greenr.api.keys", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a key and print it once")
    create.add_argument("--name", required=True, help="who holds it, e.g. web-app")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument(
        "--rate", type=float, help="requests per second (default: GREENR_API_RATE_PER_SECOND)"
    )
    create.add_argument("--burst", type=int, help="bucket size (default: GREENR_API_RATE_BURST)")
    commands.add_parser("list", help="every key, revoked ones too (never the secrets)")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="ID")
    commands.add_parser("setup-local", help="the quickstart's web-app and admin keys, in key files")
    return parser


def _line(record: KeyRecord) -> str:
    def when(moment: object) -> str:
        return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"

    state = f"revoked {when(record.revoked_at)}" if record.revoked_at else "active"
    limit = (
        "" if record.rate_per_second is None else f"  rate {record.rate_per_second:g}/s burst {record.burst}"
    )
    return (
        f"{record.id}  {record.role.value:<7}  {record.name:<20}  created {when(record.created_at)}  "
        f"last used {when(record.last_used_at)}  {state}{limit}"
    )


def setup_local(store: KeyStore, settings: Settings) -> None:
    """Ensure the local keys and print how to use them."""
    paths = {}
    for name, role in LOCAL_KEYS:
        ensured = ensure_key_file(store, settings.api_keys_path / f"{name}.key", name, role)
        paths[name] = ensured.path
        done = "created" if ensured.created else "kept"
        print(f"{name} key ({role.value}): {ensured.path} ({done}, id {ensured.key_id})")
    admin, web = (f'-H "Authorization: Bearer $(cat {paths[name]})"' for name in ("admin", "web-app"))
    print(f"Call the API with it:  curl {admin} {settings.api}/predictions")
    print(f"                       curl {web} -F files=@photo.jpg {settings.api}/predict")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    catalog = PredictionsStore(create_catalog_engine(settings.catalog_url))
    store = KeyStore(catalog.session)
    try:
        if args.command == "create":
            if (args.rate is None) != (args.burst is None):
                print(
                    "error: give --rate and --burst together (or neither, for the defaults)", file=sys.stderr
                )
                return 1
            if (args.rate is not None and args.rate <= 0) or (args.burst is not None and args.burst < 1):
                print("error: --rate must be > 0 and --burst >= 1", file=sys.stderr)
                return 1
            record, token = store.create(
                args.name, Role(args.role), rate_per_second=args.rate, burst=args.burst
            )
            print(_line(record))
            print(f"key (shown once, keep it secret): {token}")
        elif args.command == "list":
            records = store.list()
            for record in records:
                print(_line(record))
            if not records:
                print("no keys: python -m greenr.api.keys create --name NAME --role predict")
        elif args.command == "revoke":
            revoked = store.revoke(args.key_id)
            if revoked is None:
                print(
                    f"error: no key has the id {args.key_id}: see python -m greenr.api.keys list",
                    file=sys.stderr,
                )
                return 3
            print(_line(revoked))
        else:
            setup_local(store, settings)
    except CatalogUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        catalog.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
