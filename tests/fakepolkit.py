"""A stand-in PolicyKit authority for a private test D-Bus: ModemManager asks PolicyKit before
`mmcli --enable`, and a test bus has no polkitd. It authorizes every request and prints the
action id, so the test can see what was asked. Run: `python tests/fakepolkit.py` with
DBUS_SYSTEM_BUS_ADDRESS pointing at the test bus; it prints "ready" once it owns its name."""

import asyncio
import sys

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method


class Authority(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.PolicyKit1.Authority")

    @method()
    def CheckAuthorization(self, subject: "(sa{sv})", action_id: "s", details: "a{ss}",  # noqa: F821, F722, N802
                           flags: "u", cancellation_id: "s") -> "(bba{ss})":  # noqa: F821, F722
        print(f"authorized {action_id}", flush=True)
        return [True, False, {}]


async def main() -> None:
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    bus.export("/org/freedesktop/PolicyKit1/Authority", Authority())
    await bus.request_name("org.freedesktop.PolicyKit1")
    print("ready", flush=True)
    await bus.wait_for_disconnect()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
