"""Management-server side. Imports only ``zte_uxip.wire`` from the package."""
