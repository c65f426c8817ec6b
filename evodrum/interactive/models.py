"""The genotype space a session evolves in, and the check that a resumed session
decodes its genotypes into the same loops it showed before (the registry's
fingerprint, the same check every --resume makes)."""
from __future__ import annotations

from evodrum import genotypes
from evodrum.errors import EvodrumError
from evodrum.genotypes import Space, fingerprint
from evodrum.interactive.session import Session, Settings

__all__ = ["open_space", "fingerprint", "check_same_model"]


def open_space(settings: Settings) -> Space:
    """The settings' space, with the model they name (the shipped one by default)."""
    return genotypes.open_space(settings.space, settings.model, prior=settings.prior)


def check_same_model(session: Session, space: Space, where: str) -> None:
    """EvodrumError if `space` decodes differently from the space the session was made in."""
    if session.fingerprint != fingerprint(space):
        raise EvodrumError(
            f"{where}: this session was made with another {session.settings.space} model "
            "(its genotypes would decode to different loops); resume with the model it was "
            "made with (--model), or start a new session from its favourites "
            "(--seed-loops FILE.mid)")
