"""trustkit's benchmark suite (issue 7): ``python -m benchmarks [--quick] [--only W1,W4]``.

Each ``bench_*.py`` module measures one or more workloads beside the raw
pyca/cryptography cost (the limit) and the peers a user would otherwise pick,
and prints its rows as JSON on its last line when given ``--json``.
:mod:`benchmarks.__main__` runs them all, prints the table and writes
``docs/performance.md``.
"""
