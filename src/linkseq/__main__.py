from __future__ import annotations

from linkseq.cli.app import main

main()
