"""How much memory one job (a search's population, a render's audio) may take:
half of this machine's, so the rest of the system and the user's DAW keep theirs."""
from __future__ import annotations

import os


def memory_limit() -> int:
    """Bytes one job may use: half of this machine's memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
