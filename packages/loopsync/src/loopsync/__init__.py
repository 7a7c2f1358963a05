"""loopsync: part of the loopcore stack."""

__all__: list[str] = []
