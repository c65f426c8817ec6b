"""evodrum: search for drum loops in a learned latent space instead of programming them."""
from evodrum.grid import DEFAULT_SPEC, PAPER_SPEC, GridSpec
from evodrum.kit import KIT_VERSION, ROWS

__version__ = "0.1.0"
__all__ = ["GridSpec", "DEFAULT_SPEC", "PAPER_SPEC", "ROWS", "KIT_VERSION", "__version__"]
