"""Run a Python snippet in a fresh interpreter whose internet sockets are refused."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REFUSE_INTERNET = """
import socket
def refuse(self, address, *args, **kwargs):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError("network disabled in this test: " + repr(address))
    return real_connect(self, address, *args, **kwargs)
real_connect = socket.socket.connect
socket.socket.connect = refuse
socket.create_connection = lambda *a, **k: (_ for _ in ()).throw(OSError("network disabled"))
"""


def run_offline(script: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``script`` after the socket refusal, with a bare environment (no proxies, an empty home and HF cache)."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(home), "HF_HOME": str(home / "hf"), **env}
    return subprocess.run([sys.executable, "-c", REFUSE_INTERNET + textwrap.dedent(script)], capture_output=True,
                          text=True, env=environment, timeout=300)
