"""Create (or reset) a back-office user in the store the functions use.

    python -m scripts.create_admin --email olga@shop.example --roles marketer,accountant
    python -m scripts.create_admin --email olga@shop.example --roles admin --replace   # new password, two-factor off, old tokens void

The password is asked for on the terminal (twice), or read from the first line
of stdin with ``--password-stdin``; it is never an argument (shell history,
process lists). The store is Firestore of ``GOOGLE_CLOUD_PROJECT``, or the
emulator when ``FIRESTORE_EMULATOR_HOST`` is set.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime

from shared.domain.admins import ROLES
from shared.domain.errors import DomainError
from shared.platform import bootstrap
from shared.services import admins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--email", required=True)
    parser.add_argument("--roles", required=True, help=f"comma-separated subset of {','.join(ROLES)}")
    parser.add_argument("--replace", action="store_true", help="reset an existing admin's password and roles, turn two-factor login off (voids their tokens)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin instead of the terminal")
    args = parser.parse_args(argv)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 2
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    try:
        profile = admins.create_admin(bootstrap.firestore_store(), email=args.email, password=password, roles=roles, now=datetime.now(UTC), replace=args.replace)
    except DomainError as exc:
        print(f"refused: {exc.message}", file=sys.stderr)
        return 1
    print(f"admin {profile.email} ({', '.join(profile.roles)}) {'reset' if args.replace else 'created'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
