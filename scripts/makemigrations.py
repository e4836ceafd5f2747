"""`make migrations`: Django's makemigrations for the server's apps, on a throwaway SQLite."""

import sys
import tempfile

from zte_uxip.server import boot, conf

tmp = tempfile.mkdtemp(prefix="uxmig-")
boot.configure(conf.from_dict({"store": {"url": f"sqlite:///{tmp}/db.sqlite3"},
                               "console": {"secret_key_file": f"{tmp}/secret"}}))

from django.core.management import call_command  # noqa: E402  (after settings exist)

call_command("makemigrations", "store", "commands", "console", *sys.argv[1:])
