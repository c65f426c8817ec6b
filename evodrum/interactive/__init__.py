"""Interactive evolution: rate loops by ear, breed the next generation in latent space.

Modules, one job each: `session` (the state: loops, ratings, lineage), `store`
(the session file), `models` (the genotype space and its fingerprint),
`breeding` (DEAP operators and rating-weighted selection), `commands` (the
input language), `screen` (what is shown), `controller` (the loop tying them
to a player), `summary` (favourites and the session report at the end).
"""
