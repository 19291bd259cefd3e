"""Phase-1 prototypes of the static analyses (receptive field, saved bytes, peak memory).

They work on `prototypes.network`, a declared stand-in for the compiler's
typed program, and import neither torch nor cnndsl; tests/test_oracles.py
holds them to PyTorch. docs/memory-model-draft.md describes them.
"""
