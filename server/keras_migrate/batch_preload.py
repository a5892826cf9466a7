"""Imported by the forkserver of ``keras-migrate check``'s process pool (``batch.make_pool``)
before it forks the workers: the rules and their data, loaded once, shared by every worker."""
from .batch import warm

warm()
