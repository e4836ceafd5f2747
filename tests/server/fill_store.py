"""Fill a store named by a server TOML with storefill.scenario(), as ingest would have:
`python fill_store.py CONFIG CBOR_DIR`. Each stored batch is also written to
CBOR_DIR/{device_id}-{seq}.cbor so tests can run the real `zte-uxip decode` on it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for storefill

import storefill  # noqa: E402

from zte_uxip.server import boot, conf  # noqa: E402
from zte_uxip.wire import codec  # noqa: E402


def main() -> int:
    cfg = conf.load(sys.argv[1])
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    boot.setup(cfg)
    from django.db import transaction

    with transaction.atomic():
        for cbor, received_ts in storefill.scenario():
            storefill.store(cbor, received_ts, region=cfg.region)
            b = codec.decode(cbor)
            (out / f"{b['device_id']}-{b['seq']}.cbor").write_bytes(cbor)
        storefill.fill_extras()
    return 0


if __name__ == "__main__":
    sys.exit(main())
