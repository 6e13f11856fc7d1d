"""What each agent costs: readers for the files every CLI writes its usage to, a price table,
and the sums ``harnex usage``, ``harnex status`` and the sidecar's ``GET /usage`` show."""
