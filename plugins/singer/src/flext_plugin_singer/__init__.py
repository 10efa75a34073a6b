"""The Singer protocol engine: taps, mappers and targets as connected subprocesses."""
