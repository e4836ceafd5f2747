"""Raw adapters to the kernel and the modem, one file per source, each behind a small Protocol
so tests can pass a fake or a recorded fixture. Sources raise SourceError, nothing else."""
