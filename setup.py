"""zte_uxip: user-experience diagnostics agent for ZTE-style routers, and its server side."""

from setuptools import find_packages, setup

setup(
    name="zte_uxip",
    version="0.1.0",
    description="Router UX diagnostics agent: kernel/modem metrics -> CBOR -> mTLS MQTT 5, opt-in only",
    python_requires=">=3.11",
    packages=find_packages(include=["zte_uxip", "zte_uxip.*"]),
    package_data={"zte_uxip.server.console": ["templates/*/*.html", "templates/*.html", "static/*/*"]},
    install_requires=[
        "paho-mqtt>=2.0,<3",
        "cbor2>=6.1.4",
        "tenacity>=8.2",
        "pyserial>=3.5",
        "PyNaCl>=1.5",  # Ed25519 verification of remote commands; imported on the first command only
    ],
    extras_require={
        "server": [
            "django>=5.1,<6",
            "psycopg[binary]>=3.1",
            "gunicorn>=22",
            "django-axes>=7",
            "django-csp>=4",
            "paho-mqtt>=2.0,<3",
            "cbor2>=6.1.4",
            "PyNaCl>=1.5",
        ],
        "test": [
            "zte_uxip[server]",
            "pytest>=8",
            "pytest-django>=4.8",
            "selenium>=4.20",
            "pycose>=1.1",
            "hypothesis>=6.100",
            "ruff>=0.6",
            "mypy>=1.10",
            "pycddl>=0.6",
            "pyroute2>=0.9",
            "psutil>=5.9",
            "trustme>=1.1",
            "cryptography>=42",
            "dbus-fast>=2.0",
            "pycose>=1.1",  # an independent COSE_Sign1 implementation for the remote-command interop tests  # tests/fakepolkit.py: PolicyKit stand-in for ModemManager on a test bus
        ],
    },
    entry_points={
        "console_scripts": [
            "zte-uxip=zte_uxip.cli:main",
            "zte-uxip-server=zte_uxip.server.cli:main",
        ],
    },
)
