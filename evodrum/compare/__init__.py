"""Batch comparisons of genotype spaces (vae, pca, grid) under the same search budget.

A comparison is a TOML file (`config`); every (space, algorithm, task, seed) is an
independent run (`runner`) whose result is one small JSON (`store`), executed on a
local process pool or, with one worker, in this process (`pool`), or on a Dask cluster
(`cluster`), orchestrated by `execute`.
`summary` and `stats` turn the runs into numbers and tests, `report` and `plots`
into a run folder a reviewer can read. `tasks` draws targets from held-out loops.
"""
